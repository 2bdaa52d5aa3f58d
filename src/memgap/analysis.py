"""From per-item evaluation rows to the audit's figures: means, lifts, the gap, ratios, power.

Every lift is positive when the adapter is better: score lift = adapter - base, NLL lift =
base - adapter. All inference is clustered by family (`memgap.stats`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memgap import stats
from memgap.evaluation.rows import HOLDOUTS, METRICS, EvaluationRow

def _values(rows: Sequence[EvaluationRow], model: str, holdout: str, metric: str) -> dict[str, EvaluationRow]:
    """The rows of one model and hold-out that have `metric`, by item id."""
    return {row.id: row for row in rows
            if row.model == model and row.holdout == holdout and row.metric(metric) is not None}


def paired_arrays(rows: Sequence[EvaluationRow], holdout: str, metric: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Aligned (treatment, control, families) for one hold-out, oriented so that positive is better.

    Each array has shape (n_items,), the items both models have `metric` for, sorted by id.
    """
    base = _values(rows, "base", holdout, metric)
    adapter = _values(rows, "adapter", holdout, metric)
    ids = sorted(set(base) & set(adapter))
    base_values = np.array([base[i].metric(metric) for i in ids], dtype=float)
    adapter_values = np.array([adapter[i].metric(metric) for i in ids], dtype=float)
    families = [str(base[i].family) for i in ids]
    if metric == "nll":
        return base_values, adapter_values, families
    return adapter_values, base_values, families


def metrics_present(rows: Sequence[EvaluationRow]) -> list[str]:
    """The metrics (score, nll) that at least one row has."""
    return [metric for metric in METRICS if any(row.metric(metric) is not None for row in rows)]


def analyse(rows: Sequence[EvaluationRow], *, n_resamples: int, alpha: float, seed: int) -> dict[str, Any]:
    """Means, lifts, gap, generalization ratio, per-family lifts and power for every metric."""
    result: dict[str, Any] = {"metrics": {}, "lifts": {}, "gap": {}, "generalization_ratio": {}, "per_family": {}, "power": {}}
    for metric in metrics_present(rows):
        arrays = {holdout: paired_arrays(rows, holdout, metric) for holdout in HOLDOUTS}
        result["metrics"][metric] = {
            holdout: _means(rows, holdout, metric) for holdout in HOLDOUTS
        }
        result["lifts"][metric] = {
            holdout: stats.paired_delta(t, c, f, n_resamples=n_resamples, alpha=alpha, seed=seed).to_dict()
            for holdout, (t, c, f) in arrays.items()
        }
        (st, sc, sf), (ut, uc, uf) = arrays["seen"], arrays["unseen"]
        result["gap"][metric] = stats.memorization_gap(
            st, sc, sf, ut, uc, uf, alpha=alpha
        ).to_dict()
        result["generalization_ratio"][metric] = stats.generalization_ratio(
            st, sc, sf, ut, uc, uf, n_resamples=n_resamples, alpha=alpha, seed=seed
        ).to_dict()
        result["per_family"][metric] = [
            {**entry, "holdout": holdout}
            for holdout, (t, c, f) in arrays.items()
            for entry in stats.per_family_lifts(t, c, f)
        ]
        observed_gap = result["gap"][metric]["delta"]
        result["power"][metric] = stats.power_from_observed(st, sc, sf, effect=abs(observed_gap) or None)
    return result


def _means(rows: Sequence[EvaluationRow], holdout: str, metric: str) -> dict[str, float | None]:
    means: dict[str, float | None] = {}
    for model in ("base", "adapter"):
        values = [row.metric(metric) for row in _values(rows, model, holdout, metric).values()]
        means[model] = float(np.mean(values)) if values else None
    return means
