"""The family sign-flip permutation test of a paired mean, and its confidence interval by inversion.

Why sign flips: if the adapter and the base model are exchangeable within every family (the null of
no lift), swapping their outputs for a whole family only flips the sign of that family's summed
difference. The distribution of the total under all 2^F flips is then the exact null distribution,
whatever the family sizes, the intra-family correlation or the shape of the scores. Resampling
items instead treats siblings as independent and is badly liberal (see benchmarks/results/
stats_calibration.md); a percentile cluster bootstrap is closer but still liberal with 10-40
families, and a cluster-robust t with F-1 degrees of freedom runs about one point high at 30
families with unequal sizes. The sign-flip test stays at alpha by construction.

The interval is the set of shifts d0 the test does not reject: subtracting d0 from every item turns
the statistic under sign vector s into A_s - d0 * B_s, with A_s = sum_f s_f S_f and B_s = sum_f s_f n_f,
so one pass over the sign matrix serves every d0 and the bisection costs O(resamples) per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Enumerate every sign vector when there are at most this many families and 2^F <= resamples.
_MAX_EXACT_FAMILIES = 20
# Sign-matrix cells per chunk (about 32 MB as float64): bounds memory for 10k resamples x 100k items.
_CHUNK_CELLS = 1 << 22
_BISECTION_STEPS = 60
_MAX_DOUBLINGS = 200


@dataclass(frozen=True)
class SignFlipDistribution:
    """A_s and B_s for every sign vector drawn; `exact` when all 2^F vectors were enumerated."""

    flipped_sums: np.ndarray  # A_s
    flipped_sizes: np.ndarray  # B_s
    total: float  # sum of all differences (A for the identity)
    n: float  # number of items (B for the identity)
    exact: bool
    magnitude: float  # sum of |S_f|: the scale of rounding error in A_s


def sign_flip_distribution(sums: np.ndarray, sizes: np.ndarray, n_resamples: int,
                           rng: np.random.Generator) -> SignFlipDistribution:
    """Apply all 2^F sign vectors (few families) or `n_resamples` random ones, chunked, to the family sums."""
    n_families = sums.size
    columns = np.column_stack([sums, sizes])  # (F, 2): one matrix product gives A_s and B_s together
    if n_families <= _MAX_EXACT_FAMILIES and 2 ** n_families <= n_resamples:
        bits = (np.arange(2 ** n_families)[:, None] >> np.arange(n_families)) & 1
        products = bits @ columns
        exact = True
    else:
        products = np.empty((n_resamples, 2))
        rows_per_chunk = max(1, _CHUNK_CELLS // n_families)
        n_bytes = (n_families + 7) // 8
        for start in range(0, n_resamples, rows_per_chunk):
            rows = min(rows_per_chunk, n_resamples - start)
            # Random bytes unpacked to bits are the cheapest source of fair signs.
            packed = rng.integers(0, 256, size=(rows, n_bytes), dtype=np.uint8)
            bits = np.unpackbits(packed, axis=1, count=n_families)
            # Cast before the product: a uint8 @ float64 matmul skips BLAS and runs ~10x slower.
            products[start:start + rows] = bits.astype(np.float64) @ columns
        exact = False
    total, n = float(sums.sum()), float(sizes.sum())
    # s = 2 * bit - 1, so sum_f s_f x_f = 2 * (bits @ x) - sum_f x_f.
    return SignFlipDistribution(2.0 * products[:, 0] - total, 2.0 * products[:, 1] - n, total, n, exact,
                                float(np.abs(sums).sum()))


def p_value_at(distribution: SignFlipDistribution, shift: float) -> float:
    """Two-sided p-value of the null 'mean difference = shift' (Phipson-Smyth +1 when sampled)."""
    observed = abs(distribution.total - shift * distribution.n)
    flipped = np.abs(distribution.flipped_sums - shift * distribution.flipped_sizes)
    # Ties are common with discrete scores; a relative tolerance keeps rounding from breaking them.
    tolerance = 1e-10 * (distribution.magnitude + abs(shift) * distribution.n)
    count = np.count_nonzero(flipped >= observed - tolerance)
    if distribution.exact:
        return count / distribution.flipped_sums.size
    return (1 + count) / (1 + distribution.flipped_sums.size)


def _p_value_at_infinity(distribution: SignFlipDistribution) -> float:
    """The p-value's floor far from the estimate: only sign vectors with |B_s| = n keep up there."""
    count = np.count_nonzero(np.abs(distribution.flipped_sizes) >= distribution.n * (1 - 1e-12))
    if distribution.exact:
        return count / distribution.flipped_sizes.size
    return (1 + count) / (1 + distribution.flipped_sizes.size)


def confidence_interval(distribution: SignFlipDistribution, estimate: float, scale: float,
                        alpha: float) -> tuple[float, float]:
    """The shifts the test does not reject at `alpha`; infinite where too few families allow no rejection.

    `scale` is a rough standard error that sets the first step of the bracket search.
    """
    if _p_value_at_infinity(distribution) > alpha:
        return -np.inf, np.inf
    if scale <= 0:
        return estimate, estimate  # every item has the same difference: nothing is uncertain
    return (_endpoint(distribution, estimate, -scale, alpha), _endpoint(distribution, estimate, scale, alpha))


def min_families_for_interval(alpha: float) -> int:
    """The fewest families with which the exact sign-flip test can reject at `alpha` (6 for alpha 0.05).

    The two-sided test's smallest attainable p-value with F families is 2 / 2^F (the identity and
    its mirror image are always as extreme as the data), so it can reject, and its inverted interval
    is bounded, only when 2 / 2^F <= alpha, that is F >= 1 + log2(1 / alpha).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    needed = 1 + math.log2(1 / alpha)
    # Round first so that an alpha of exactly 2 / 2^F is not lost to floating point.
    return max(1, math.ceil(round(needed, 9)))


def undefined_interval_note(n_families: int, alpha: float, *, unit: str = "families") -> str:
    """Why a sign-flip interval came out unbounded: too few families for `alpha` (then the p-value is
    undefined too), or too few sign vectors drawn."""
    needed = min_families_for_interval(alpha)
    level = f"{(1 - alpha) * 100:g} %"
    if n_families < needed:
        return (f"with {needed - 1} or fewer {unit} no {level} sign-flip interval exists: this hold-out has "
                f"{n_families}, and the smallest attainable p-value, 2 / 2^{n_families} = {2 / 2 ** n_families:.3g}, "
                f"is above alpha {alpha:g}, so neither an interval nor a p-value is reported")
    return (f"the sign-flip test rejected no shift at alpha {alpha:g} with the sign vectors drawn; "
            "raise stats.n_resamples")


def _endpoint(distribution: SignFlipDistribution, estimate: float, step: float, alpha: float) -> float:
    inside, outside = estimate, estimate + step
    for _ in range(_MAX_DOUBLINGS):
        if p_value_at(distribution, outside) <= alpha:
            break
        inside, outside = outside, estimate + 2 * (outside - estimate)
    else:
        return float(np.copysign(np.inf, step))
    # Stop at a millionth of the first step: far below any reported digit, ~20 steps instead of 60.
    tolerance = abs(step) * 1e-6
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (inside + outside)
        if abs(outside - inside) <= tolerance or middle in (inside, outside):
            break
        if p_value_at(distribution, middle) > alpha:
            inside = middle
        else:
            outside = middle
    return 0.5 * (inside + outside)
