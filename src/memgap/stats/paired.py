"""Paired lifts with family-clustered inference: the `S` block of audit.json.

`paired_delta` answers "is the treatment better than the control, item for item?" when items come
in families of near-duplicates. The clustered answer uses the family sign-flip test (signflip.py);
the same fields computed as if every item were its own family sit beside it as `item_level`, so a
report can show how much the naive analysis overstates certainty.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memgap.stats.families import FamilySums, family_sums, paired_differences
from memgap.stats.signflip import (
    confidence_interval,
    min_families_for_interval,
    p_value_at,
    sign_flip_distribution,
    undefined_interval_note,
)

FAMILY_SIGN_FLIP = "family sign-flip permutation; CI by test inversion"
ITEM_SIGN_FLIP = "item sign-flip permutation; CI by test inversion (ignores families)"


def _json_number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: an undefined or unbounded figure becomes null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Estimate:
    """A difference with its CI and p-value; `item_level` holds the unclustered figures for comparison.

    `note` says, in words a report can print, why the interval or p-value is undefined (None when both are defined).
    """

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_families: int
    method: str
    item_level: Estimate | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The audit.json `S` shape; non-finite bounds (too few families to bound) become null."""
        block: dict[str, Any] = {
            "delta": _json_number(self.delta),
            "ci_low": _json_number(self.ci_low),
            "ci_high": _json_number(self.ci_high),
            "p_value": _json_number(self.p_value),
            "n": self.n,
            "n_families": self.n_families,
            "method": self.method,
        }
        if self.note:
            block["note"] = self.note
        if self.item_level is not None:
            item = self.item_level
            block["item_level"] = {"delta": _json_number(item.delta), "ci_low": _json_number(item.ci_low),
                                   "ci_high": _json_number(item.ci_high), "p_value": _json_number(item.p_value),
                                   "method": item.method}
        return block


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def _check_settings(n_resamples: int, alpha: float) -> None:
    _check_alpha(alpha)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")


def consistent_with_test(ci_low: float, ci_high: float, *, p_value: float, alpha: float,
                         tolerance: float = 1e-9) -> tuple[float, float]:
    """The inverted interval made to agree with the test at zero.

    The bracket search stops within floating-point noise of an endpoint; where many family
    differences are exactly 0 the true endpoint is 0 and the search returns, say, -1.3e-9, an
    interval that seems to exclude 0 next to p > alpha. Bounds within `tolerance` of 0 are 0, and
    where the test does not reject 0 (p > alpha) the interval contains 0, as the inversion requires.
    """
    ci_low, ci_high = (0.0 if abs(bound) < tolerance else bound for bound in (ci_low, ci_high))
    if p_value > alpha and math.isfinite(ci_low) and math.isfinite(ci_high):
        ci_low, ci_high = min(ci_low, 0.0), max(ci_high, 0.0)
    return ci_low, ci_high


def sign_flip_estimate(grouped: FamilySums, *, n_resamples: int, alpha: float,
                       rng: np.random.Generator, method: str) -> Estimate:
    """Mean difference, sign-flip p-value and inverted CI for differences already summed per family.

    With fewer families than `min_families_for_interval(alpha)` the exact test's smallest attainable
    p-value, 2 / 2^F, is above `alpha`: it can reject nothing, so the p-value is undefined (NaN,
    null in audit.json) as well as the interval, and `note` says why. A p-value of 1.0 there would
    read as evidence of no effect where there is no evidence either way.
    """
    estimate = float(grouped.sums.sum() / grouped.n)
    residuals = grouped.sums - grouped.sizes * estimate
    # A cluster-robust standard error, used only to size the first step of the CI search.
    scale = float(np.sqrt(np.sum(residuals ** 2)) / grouped.n)
    distribution = sign_flip_distribution(grouped.sums, grouped.sizes, n_resamples, rng)
    testable = grouped.n_families >= min_families_for_interval(alpha)
    p_value = p_value_at(distribution, 0.0) if testable else float("nan")
    ci_low, ci_high = confidence_interval(distribution, estimate, scale, alpha)
    ci_low, ci_high = consistent_with_test(ci_low, ci_high, p_value=float(p_value), alpha=alpha)
    note = None
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        unit = "families" if method == FAMILY_SIGN_FLIP else "items"
        note = undefined_interval_note(grouped.n_families, alpha, unit=unit)
    return Estimate(estimate, ci_low, ci_high, float(p_value), grouped.n, grouped.n_families, method, note=note)


def paired_delta(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                 clusters: Sequence[Any] | np.ndarray | None = None, *, n_resamples: int = 10_000,
                 alpha: float = 0.05, seed: int = 0) -> Estimate:
    """Mean of treatment - control over items, with a CI and p-value that respect families when given.

    Parameters:
        treatment, control: shape (n_items,), the paired values (e.g. adapter and base score of each
            item), oriented so that treatment - control > 0 is better.
        clusters: shape (n_items,), each item's family label; None treats every item as its own family.
        n_resamples: sign vectors drawn when the 2^F flips are too many to enumerate (F <= 20 and
            2^F <= n_resamples are enumerated exactly).
        alpha: 1 - the CI's coverage, and the test's level.
        seed: seeds the sign draws (family and item level from independent child streams).
    Returns an `Estimate` (delta in the values' units; `n` items, `n_families`). With `clusters` the
    inference is the family sign-flip test with its CI by test inversion, and `item_level` carries the
    same figures with every item its own family. With 5 or fewer families no interval exists at the
    usual alpha: the bounds are NaN and `note` says why.
    Raises ValueError for arrays of different lengths, a NaN or infinite value, alpha outside (0, 1)
    or n_resamples < 1.
    Method: Fisher's randomization test with cluster-level sign flips (Canay, Romano and Shaikh 2017,
    "Randomization tests under an approximate symmetry assumption"); see memgap.stats.signflip.
    """
    _check_settings(n_resamples, alpha)
    paired_differences(treatment, control, "paired_delta", clusters=clusters)  # a NaN is named with its family
    family_rng, item_rng = (np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2))
    items = family_sums(treatment, control, None, "paired_delta")
    item_level = sign_flip_estimate(items, n_resamples=n_resamples, alpha=alpha, rng=item_rng, method=ITEM_SIGN_FLIP)
    if clusters is None:
        return item_level
    grouped = family_sums(treatment, control, clusters, "paired_delta")
    clustered = sign_flip_estimate(grouped, n_resamples=n_resamples, alpha=alpha, rng=family_rng,
                                   method=FAMILY_SIGN_FLIP)
    return Estimate(clustered.delta, clustered.ci_low, clustered.ci_high, clustered.p_value, clustered.n,
                    clustered.n_families, clustered.method, item_level=item_level, note=clustered.note)
