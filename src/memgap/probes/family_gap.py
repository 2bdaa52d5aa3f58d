"""Are large families memorized more? Per-family NLL gap against family size, with a Spearman CI.

For each family with scored rows on both sides, the gap is the adapter's mean NLL on the family's
held-out members minus its mean NLL on the family's training rows: near zero when the adapter
learned something the siblings share, large when it fits the rows it saw. Family size is the
number of the family's rows in training, the copies the adapter could learn from.
"""
from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats

MIN_FAMILIES = 3


def _row_spearman(sizes: np.ndarray, gaps: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman correlation along the last axis, for a batch of resamples at once (average ranks for ties)."""
    ranked_x = scipy_stats.rankdata(sizes, axis=-1)
    ranked_y = scipy_stats.rankdata(gaps, axis=-1)
    ranked_x -= ranked_x.mean(axis=-1, keepdims=True)
    ranked_y -= ranked_y.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((ranked_x**2).sum(axis=-1) * (ranked_y**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranked_x * ranked_y).sum(axis=-1) / denominator


def spearman_with_ci(sizes: Sequence[float], gaps: Sequence[float], *, n_resamples: int = 2000,
                     confidence_level: float = 0.95, seed: int = 0) -> dict:
    """Spearman's rho of family size against per-family gap, with a percentile CI from resampling families.

    Parameters: sizes, gaps: shape (n_families,), one pair per family; n_resamples: bootstrap draws
    (0: no interval); confidence_level: the CI's coverage; seed: numpy's seed for the draws.
    Returns {spearman, ci_low, ci_high}: rho in [-1, 1] or None without a ranking to correlate; NaN
    bounds with fewer than MIN_FAMILIES families.
    Resamples where every drawn family has the same size have no rank correlation; they are left out
    of the percentiles rather than voiding the interval.
    Method: scipy.stats.spearmanr and scipy.stats.bootstrap (paired, percentile).
    """
    x, y = np.asarray(sizes, dtype=np.float64), np.asarray(gaps, dtype=np.float64)
    low = high = float("nan")
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:  # no ranking to correlate
        return {"spearman": None, "ci_low": low, "ci_high": high}
    rho = float(scipy_stats.spearmanr(x, y).statistic)
    if x.size >= MIN_FAMILIES and n_resamples > 0 and math.isfinite(rho):
        with warnings.catch_warnings():  # the tie-only resamples scipy warns about are dropped below
            warnings.simplefilter("ignore", scipy_stats.DegenerateDataWarning)
            result = scipy_stats.bootstrap(
                (x, y), _row_spearman, paired=True, vectorized=True, n_resamples=n_resamples,
                method="percentile", confidence_level=confidence_level, rng=np.random.default_rng(seed),
            )
        distribution = result.bootstrap_distribution
        tail = (1 - confidence_level) / 2 * 100
        low, high = (float(v) for v in np.nanpercentile(distribution, [tail, 100 - tail]))
    return {"spearman": rho if math.isfinite(rho) else None, "ci_low": low, "ci_high": high}


def family_gap_points(train_records: Sequence[Record], held_out: Sequence[Record],
                      adapter_stats: Mapping[str, TokenStats]) -> list[dict]:
    """Per family: training size and the adapter's held-out minus training mean NLL (both sides scored)."""
    sizes = Counter(record.family for record in train_records if record.family is not None)
    train_nll: dict[str, list[float]] = {}
    held_out_nll: dict[str, list[float]] = {}
    for records, bucket in ((train_records, train_nll), (held_out, held_out_nll)):
        for record in records:
            stats = adapter_stats.get(record.id)
            if record.family is None or stats is None or stats.n_tokens == 0:
                continue
            bucket.setdefault(record.family, []).append(stats.nll)
    points = []
    for family in sorted(set(train_nll) & set(held_out_nll)):
        points.append({
            "family": family,
            "size": sizes[family],
            "nll_gap": float(np.mean(held_out_nll[family]) - np.mean(train_nll[family])),
            "n_train_scored": len(train_nll[family]),
            "n_held_out_scored": len(held_out_nll[family]),
        })
    return points


def family_size_memorization(train_records: Sequence[Record], held_out: Sequence[Record],
                             adapter_stats: Mapping[str, TokenStats], *, n_resamples: int = 2000, seed: int = 0) -> dict:
    """Whether bigger families are memorized more: Spearman of per-family NLL gap on family size.

    Parameters:
        train_records: the training rows (their families' sizes are counted there).
        held_out: seen-holdout items (their families are in training).
        adapter_stats: record id -> the adapter's TokenStats, for training rows and held-out items.
        n_resamples, seed: the bootstrap of `spearman_with_ci`.
    Returns {spearman, ci_low, ci_high, n_families, points} (points: one per family, size and held-out
    minus training NLL in nats per token), with a `note` when fewer than MIN_FAMILIES families have both
    scored training and held-out rows.
    """
    points = family_gap_points(train_records, held_out, adapter_stats)
    summary = {"spearman": None, "ci_low": None, "ci_high": None, "n_families": len(points), "points": points}
    if len(points) < MIN_FAMILIES:
        summary["note"] = (f"needs at least {MIN_FAMILIES} families with scored training and held-out rows; "
                           f"found {len(points)}")
        return summary
    summary.update(spearman_with_ci([p["size"] for p in points], [p["nll_gap"] for p in points],
                                    n_resamples=n_resamples, seed=seed))
    return summary
