"""The memorization gap (seen-family lift minus unseen-family lift) and the generalization ratio.

The two hold-outs share no family, so their lifts are independent samples of families, possibly
with different spreads and family counts. The gap uses a Welch-type test on cluster-robust (CR2)
variances with Welch-Satterthwaite degrees of freedom from each hold-out's family count. Measured
with 10 to 80 families of 1 to 8 items per hold-out, ICC 0 and 0.5, it rejects a true null of equal
lifts at 4.7-5.5 % for alpha 5 % (benchmarks/results/stats_calibration.md); CR1 variances ran
0.3-0.8 points higher in the same kind of simulation, and a pooled-family permutation would assume
equal spreads in the two hold-outs. It is analytic, so the gap needs no resampling and its CI and p-value always agree.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from memgap.stats.families import FamilySums, family_sums
from memgap.stats.paired import Estimate, _check_alpha, _check_settings, _json_number, paired_delta

CLUSTER_WELCH = "Welch t on family-clustered (CR2) variances, Welch-Satterthwaite df"
ITEM_WELCH = "Welch t on items (ignores families)"
FIELLER = "Fieller interval on family-clustered (CR2) variances"

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class _MeanWithVariance:
    mean: float
    variance: float  # CR2 variance of the item mean
    n_families: int


def clustered_mean(grouped: FamilySums) -> _MeanWithVariance:
    """Item mean of the differences and its CR2 (bias-reduced cluster-robust) variance.

    For a mean, CR2 scales each family's squared residual sum by 1 / (1 - n_f / n), which removes
    the downward bias of the plain sandwich with few families; with one item per family it is the
    usual s^2 / n, so the item-level figures come from the same code.
    """
    mean = float(grouped.sums.sum() / grouped.n)
    if grouped.n_families < 2:
        return _MeanWithVariance(mean, float("nan"), grouped.n_families)
    residuals = grouped.sums - grouped.sizes * mean
    variance = float(np.sum(residuals ** 2 / (1.0 - grouped.sizes / grouped.n)) / grouped.n ** 2)
    return _MeanWithVariance(mean, variance, grouped.n_families)


def _welch_degrees_of_freedom(first: _MeanWithVariance, second: _MeanWithVariance) -> float:
    denominator = first.variance ** 2 / (first.n_families - 1) + second.variance ** 2 / (second.n_families - 1)
    if denominator == 0:
        return float(first.n_families + second.n_families - 2)
    return (first.variance + second.variance) ** 2 / denominator


def welch_difference(first: _MeanWithVariance, second: _MeanWithVariance, alpha: float,
                     n: int, method: str) -> Estimate:
    """first.mean - second.mean with a Welch t interval and p-value; NaN/infinite where not estimable."""
    delta = first.mean - second.mean
    n_families = first.n_families + second.n_families
    if not (np.isfinite(first.variance) and np.isfinite(second.variance)):
        fewest = min(first.n_families, second.n_families)
        note = (f"a hold-out has {fewest} famil{'y' if fewest == 1 else 'ies'}; the gap's variance needs at least 2 "
                "families in each hold-out, so it has no interval or p-value")
        return Estimate(delta, -np.inf, np.inf, float("nan"), n, n_families, method, note=note)
    variance = first.variance + second.variance
    if variance == 0:
        return Estimate(delta, delta, delta, 1.0 if delta == 0 else 0.0, n, n_families, method)
    df = _welch_degrees_of_freedom(first, second)
    standard_error = np.sqrt(variance)
    critical = stats.t.ppf(1 - alpha / 2, df)
    p_value = float(2 * stats.t.sf(abs(delta) / standard_error, df))
    return Estimate(delta, delta - critical * standard_error, delta + critical * standard_error, p_value,
                    n, n_families, method)


def memorization_gap(seen_treatment: ArrayLike, seen_control: ArrayLike, seen_clusters: Sequence[Any] | np.ndarray,
                     unseen_treatment: ArrayLike, unseen_control: ArrayLike,
                     unseen_clusters: Sequence[Any] | np.ndarray, *, alpha: float = 0.05) -> Estimate:
    """Seen-family lift minus unseen-family lift, with a Welch-type family-clustered CI and p-value.

    Parameters:
        seen_treatment, seen_control, seen_clusters: shape (n_seen,) each: the seen hold-out's paired
            values (oriented so that treatment - control > 0 is better) and family labels.
        unseen_treatment, unseen_control, unseen_clusters: shape (n_unseen,) each, likewise.
        alpha: 1 - the CI's coverage.
    Returns an `Estimate` in the values' units; `n` and `n_families` count both hold-outs together,
    `item_level` the same test on items. The test is analytic (no resampling, so no seed).
    Raises ValueError when a family is in both hold-outs, for arrays of different lengths, a NaN, or
    alpha outside (0, 1).
    Method: Welch's t on CR2 cluster-robust variances (Bell and McCaffrey 2002) with Welch-Satterthwaite
    degrees of freedom; calibration in benchmarks/results/stats_calibration.md.
    """
    _check_alpha(alpha)
    seen = family_sums(seen_treatment, seen_control, seen_clusters, "memorization_gap (seen hold-out)")
    unseen = family_sums(unseen_treatment, unseen_control, unseen_clusters, "memorization_gap (unseen hold-out)")
    shared = set(seen.labels) & set(unseen.labels)
    if shared:
        example = sorted(map(str, shared))[:3]
        raise ValueError(f"memorization_gap: {len(shared)} families appear in both hold-outs (e.g. {example}); "
                         "the gap needs hold-outs that share no family")
    n = seen.n + unseen.n
    item_level = welch_difference(
        clustered_mean(family_sums(seen.differences, np.zeros(seen.n), None)),
        clustered_mean(family_sums(unseen.differences, np.zeros(unseen.n), None)), alpha, n, ITEM_WELCH)
    clustered = welch_difference(clustered_mean(seen), clustered_mean(unseen), alpha, n, CLUSTER_WELCH)
    return Estimate(clustered.delta, clustered.ci_low, clustered.ci_high, clustered.p_value, n,
                    clustered.n_families, clustered.method, item_level=item_level, note=clustered.note)


def clustered_mean_difference(first: ArrayLike, first_clusters: Sequence[Any] | np.ndarray,
                              second: ArrayLike, second_clusters: Sequence[Any] | np.ndarray, *,
                              alpha: float = 0.05) -> Estimate:
    """Mean of `first` minus mean of `second` (two samples that share no family), with the gap's
    Welch test on CR2 family-clustered variances; the item-level test sits beside it.

    Used to compare two parts of an evaluation set before training (the base model's score or NLL
    on rows with and without a training sibling). Raises ValueError when a family is in both.
    """
    first_values, second_values = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    return memorization_gap(first_values, np.zeros_like(first_values), first_clusters,
                            second_values, np.zeros_like(second_values), second_clusters, alpha=alpha)


def fieller_interval(numerator: _MeanWithVariance, denominator: _MeanWithVariance,
                     alpha: float) -> tuple[float, float] | None:
    """Fieller's CI for numerator.mean / denominator.mean (independent); None when it is unbounded."""
    df = _welch_degrees_of_freedom(numerator, denominator)
    q2 = stats.t.ppf(1 - alpha / 2, df) ** 2
    a, b = numerator.mean, denominator.mean
    # (a - r b)^2 <= q2 (Va + r^2 Vb)  <=>  r^2 (b^2 - q2 Vb) - 2 a b r + (a^2 - q2 Va) <= 0
    quadratic = b * b - q2 * denominator.variance
    if quadratic <= 0:
        return None
    half_width = np.sqrt((a * b) ** 2 - quadratic * (a * a - q2 * numerator.variance))
    return float((a * b - half_width) / quadratic), float((a * b + half_width) / quadratic)


@dataclass(frozen=True)
class Ratio:
    """Unseen lift / seen lift with its CI; the figures are None where undefined and `note` says why."""

    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    method: str = FIELLER
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ratio": _json_number(self.ratio), "ci_low": _json_number(self.ci_low),
                "ci_high": _json_number(self.ci_high), "method": self.method, "note": self.note}


def generalization_ratio(seen_treatment: ArrayLike, seen_control: ArrayLike, seen_clusters: Sequence[Any] | np.ndarray,
                         unseen_treatment: ArrayLike, unseen_control: ArrayLike,
                         unseen_clusters: Sequence[Any] | np.ndarray, *, n_resamples: int = 10_000,
                         alpha: float = 0.05, seed: int = 0) -> Ratio:
    """Unseen lift / seen lift (1 = generalizes fully, 0 = only seen families improved), with a Fieller CI.

    Parameters: as `memorization_gap`'s arrays (shape (n_seen,) and (n_unseen,)); `n_resamples`, `alpha`
    and `seed` go to the seen lift's sign-flip test (`paired_delta`), which decides whether a ratio
    is meaningful.
    Returns a `Ratio` (dimensionless). A ratio is only meaningful when the seen lift is distinguishable
    from zero (its family sign-flip CI excludes 0); otherwise the figures are None and `note` says why,
    as it does when a hold-out has fewer than 2 families or the Fieller interval is unbounded.
    Raises ValueError for arrays of different lengths, a NaN, alpha outside (0, 1) or n_resamples < 1.
    Method: Fieller's theorem for a ratio of independent means (Fieller 1954) on CR2 family-clustered
    variances, Welch-Satterthwaite degrees of freedom.
    """
    _check_settings(n_resamples, alpha)
    seen_lift = paired_delta(seen_treatment, seen_control, seen_clusters, n_resamples=n_resamples, alpha=alpha,
                             seed=seed)
    seen = clustered_mean(family_sums(seen_treatment, seen_control, seen_clusters, "generalization_ratio (seen)"))
    unseen = clustered_mean(family_sums(unseen_treatment, unseen_control, unseen_clusters,
                                        "generalization_ratio (unseen)"))
    if not seen_lift.ci_low > 0 and not seen_lift.ci_high < 0:
        return Ratio(None, None, None, note=f"the seen-family lift's {1 - alpha:.0%} CI includes 0, so the ratio "
                                            "has no stable denominator")
    if not (np.isfinite(seen.variance) and np.isfinite(unseen.variance)):
        return Ratio(None, None, None, note="a hold-out has fewer than 2 families; the ratio's CI cannot be estimated")
    ratio = unseen.mean / seen.mean
    interval = fieller_interval(unseen, seen, alpha)
    if interval is None:
        return Ratio(ratio, None, None, note="the seen lift is too uncertain for a bounded Fieller interval")
    return Ratio(ratio, interval[0], interval[1])
