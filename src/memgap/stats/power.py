"""How many families a lift or a gap of a given size needs: shown when a result is inconclusive.

Power depends on families, not items: the variance of the item mean over F families of mean size m
is (sigma_b^2 (1 + cv^2) + sigma_w^2 / m) / F, where sigma_b is the between-family sd of the lift,
sigma_w the within-family sd and cv the coefficient of variation of family sizes (unequal sizes
weigh big families more). Power is that of a two-sided t test with the families' degrees of freedom
(noncentral t), so small family counts are not flattered by a normal approximation.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from memgap.stats.families import family_sums

Design = Literal["lift", "gap"]
_MAX_FAMILIES = 10_000_000


def _family_variance(between_family_sd: float, within_family_sd: float, mean_family_size: float,
                     family_size_cv: float) -> float:
    return between_family_sd ** 2 * (1 + family_size_cv ** 2) + within_family_sd ** 2 / mean_family_size


def power_at(effect: float, n_families: int, *, family_variance: float, alpha: float = 0.05,
             design: Design = "lift") -> float:
    """Power of the two-sided t test with `n_families` families (per hold-out for the gap).

    Parameters:
        effect: the lift or gap to detect, in the metric's units.
        n_families: families (per hold-out with design='gap').
        family_variance: variance of one family's mean difference (sigma_b^2 (1 + cv^2) + sigma_w^2 / m).
        alpha: the test's level. design: 'lift' (one hold-out) or 'gap' (two independent hold-outs).
    Returns the power in [0, 1].
    Method: the noncentral t distribution with the families' degrees of freedom (n - 1, or 2n - 2).
    """
    if design == "lift":
        variance, df = family_variance / n_families, n_families - 1
    else:  # two independent hold-outs of n_families each
        variance, df = 2 * family_variance / n_families, 2 * n_families - 2
    if variance == 0:
        return 1.0
    noncentrality = abs(effect) / math.sqrt(variance)
    critical = stats.t.ppf(1 - alpha / 2, df)
    result = float(stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality))
    if not math.isfinite(result):
        # scipy's noncentral t returns NaN far in its tail (a near-zero variance): the power is then 0 or 1.
        return 1.0 if noncentrality > critical else 0.0
    return result


def families_needed(effect: float, *, between_family_sd: float, within_family_sd: float, mean_family_size: float,
                    alpha: float = 0.05, power: float = 0.8, design: Design = "lift",
                    family_size_cv: float = 0.0) -> int:
    """Smallest family count (per hold-out for design='gap') whose test reaches `power` for `effect`.

    Parameters:
        effect: the lift or gap to detect, in the metric's units (finite, non-zero).
        between_family_sd, within_family_sd: sds of the paired difference between family means and
            within a family (the metric's units); mean_family_size: items per family (>= 1);
            family_size_cv: coefficient of variation of family sizes.
        alpha, power: the test's level and the target power, each in (0, 1).
        design: 'lift' (one hold-out) or 'gap' (two independent hold-outs of equal size).
    Returns the family count (an int >= 2).
    Raises ValueError for an effect of 0 or not finite, a negative sd, a mean size below 1, alpha or
    power outside (0, 1), or an unknown design.
    Method: `power_at` (noncentral t), walked from the normal approximation's count to the smallest
    count that reaches `power` (capped at 10 million).
    """
    if effect == 0 or not math.isfinite(effect):
        raise ValueError(f"effect must be a finite non-zero number, got {effect}")
    if between_family_sd < 0 or within_family_sd < 0 or mean_family_size < 1:
        raise ValueError("the sds must be >= 0 and mean_family_size >= 1")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha} and {power}")
    if design not in ("lift", "gap"):
        raise ValueError(f"design must be 'lift' or 'gap', got {design!r}")
    variance = _family_variance(between_family_sd, within_family_sd, mean_family_size, family_size_cv)
    groups = 1 if design == "lift" else 2
    # Start from the normal approximation, then walk to the exact noncentral-t answer.
    guess = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) ** 2 * groups * variance / effect ** 2
    n_families = min(max(2, math.ceil(guess)), _MAX_FAMILIES)
    while n_families > 2 and power_at(effect, n_families - 1, family_variance=variance, alpha=alpha,
                                      design=design) >= power:
        n_families -= 1
    while power_at(effect, n_families, family_variance=variance, alpha=alpha, design=design) < power:
        if n_families >= _MAX_FAMILIES:
            break
        n_families += 1
    return n_families


def variance_components(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                        clusters: Sequence[Any] | np.ndarray) -> dict[str, float]:
    """One-way ANOVA estimates of the between- and within-family sd of the paired differences."""
    grouped = family_sums(treatment, control, clusters, "variance components")
    n, n_families = grouped.n, grouped.n_families
    family_means = grouped.sums / grouped.sizes
    grand_mean = grouped.sums.sum() / n
    within_ss = float(np.sum((grouped.differences - family_means[grouped.codes]) ** 2))
    between_ss = float(np.sum(grouped.sizes * (family_means - grand_mean) ** 2))
    within_ms = within_ss / (n - n_families) if n > n_families else 0.0
    if n_families > 1:
        between_ms = between_ss / (n_families - 1)
        # n0: the effective family size of the unbalanced one-way ANOVA.
        n0 = (n - np.sum(grouped.sizes ** 2) / n) / (n_families - 1)
        between_var = max(0.0, (between_ms - within_ms) / n0)
    else:
        between_var = 0.0
    if n <= n_families:  # every family a single item: the two parts cannot be told apart
        between_var = float(np.var(grouped.differences, ddof=1)) if n > 1 else 0.0
    total = between_var + within_ms
    return {
        "between_family_sd": math.sqrt(between_var), "within_family_sd": math.sqrt(within_ms),
        "icc": float(between_var / total) if total > 0 else 0.0,
        "mean_family_size": float(n / n_families),
        "family_size_cv": float(np.std(grouped.sizes) / np.mean(grouped.sizes)),
        "n": n, "n_families": n_families,
    }


def power_from_observed(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                        clusters: Sequence[Any] | np.ndarray, effect: float | None, *, alpha: float = 0.05,
                        power: float = 0.8) -> dict[str, Any]:
    """Families needed to detect a gap between two hold-outs like this one (or a lift) of size `effect`.

    Parameters:
        treatment, control, clusters: shape (n_items,) each: one hold-out's paired values and families.
        effect: the gap (or lift) to plan for, in the metric's units; None or 0 returns only the
            variance components.
        alpha, power: the test's level and the target power.
    Returns a dict: the variance components (`variance_components`), effect, alpha, target_power,
    families_needed (per hold-out, for the gap), families_needed_lift, power_now_gap, power_now_lift
    and a note where a figure cannot be computed.
    Method: variance components by one-way ANOVA on the families' paired differences, then
    `families_needed` and `power_at`.
    """
    components = variance_components(treatment, control, clusters)
    summary: dict[str, Any] = {**components, "effect": effect, "alpha": alpha, "target_power": power,
                               "families_needed": None, "families_needed_lift": None,
                               "power_now_gap": None, "power_now_lift": None, "note": None}
    if effect is None or effect == 0 or not math.isfinite(effect):
        summary["note"] = "no non-zero effect size to plan for"
        return summary
    settings = dict(between_family_sd=components["between_family_sd"],
                    within_family_sd=components["within_family_sd"],
                    mean_family_size=components["mean_family_size"], family_size_cv=components["family_size_cv"],
                    alpha=alpha, power=power)
    variance = _family_variance(components["between_family_sd"], components["within_family_sd"],
                                components["mean_family_size"], components["family_size_cv"])
    observed_families = max(2, components["n_families"])
    summary.update(
        families_needed=families_needed(effect, design="gap", **settings),
        families_needed_lift=families_needed(effect, design="lift", **settings),
        power_now_gap=power_at(effect, observed_families, family_variance=variance, alpha=alpha, design="gap"),
        power_now_lift=power_at(effect, observed_families, family_variance=variance, alpha=alpha),
    )
    return summary
