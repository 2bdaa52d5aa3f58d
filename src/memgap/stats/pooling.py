"""Pooling one figure (a lift or the gap) over training seeds: `memgap run --seeds 0,1,2`.

The seeds usually share the same hold-outs, so their sampling errors are strongly correlated and
averaging them does not shrink the family-sampling uncertainty. The pooled interval is therefore
conservative on purpose:

    se_within  = mean over seeds of the CI half-width / z_(1-alpha/2)   (not divided by k)
    se_between = sd of the seed deltas / sqrt(k)                        (training noise)
    se         = sqrt(se_within^2 + se_between^2)
    df         = Welch-Satterthwaite, with k - 1 for the between part and infinity for the within part
    CI         = mean delta +- t_(df, 1-alpha/2) * se,  p = 2 * t_df.sf(|mean| / se)

A seed whose CI is unbounded makes the pooled CI unbounded too.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

POOLING_RULE = ("mean of seed deltas; se^2 = (mean within-seed CI half-width / z)^2 + sd_between^2 / k; "
                "t with Welch-Satterthwaite df (k - 1 for the between part)")


def _as_float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def pool_seeds(results: Sequence[Mapping[str, Any]], *, alpha: float = 0.05) -> dict[str, Any]:
    """Pool one figure's `S` dicts (one per seed) into a pooled estimate, the seed spread and a conservative CI.

    Parameters:
        results: the audit's `S` dicts (delta, ci_low, ci_high, n, n_families, note), one per seed,
            all of the same figure (one lift or the gap).
        alpha: 1 - the pooled CI's coverage.
    Returns a dict: delta (mean of the seed deltas), ci_low, ci_high, p_value (None where a seed has
    no interval, with `note` saying so), n_seeds, seed_deltas, between_seed_sd, min, max, n,
    n_families, method.
    Raises ValueError for no results, a result without a delta, or alpha outside (0, 1).
    Method: the module docstring's rule: within-seed se from the mean CI half-width (not divided by k,
    since seeds share hold-outs), between-seed se from their spread, Welch-Satterthwaite df.
    """
    if not results:
        raise ValueError("pool_seeds: no results to pool")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    deltas = np.array([_as_float(result.get("delta")) for result in results])
    if not np.all(np.isfinite(deltas)):
        raise ValueError(f"pool_seeds: {int(np.count_nonzero(~np.isfinite(deltas)))} of {deltas.size} results "
                         "have no delta")
    lows = np.array([_as_float(result.get("ci_low")) for result in results])
    highs = np.array([_as_float(result.get("ci_high")) for result in results])
    k = deltas.size
    pooled = float(deltas.mean())
    between_sd = float(deltas.std(ddof=1)) if k > 1 else 0.0
    summary: dict[str, Any] = {
        "delta": pooled, "ci_low": None, "ci_high": None, "p_value": None,
        "n_seeds": k, "seed_deltas": deltas.tolist(),
        "between_seed_sd": between_sd if k > 1 else None,
        "min": float(deltas.min()), "max": float(deltas.max()),
        "n": results[0].get("n"), "n_families": results[0].get("n_families"),
        "method": POOLING_RULE,
    }
    if not (np.all(np.isfinite(lows)) and np.all(np.isfinite(highs))):
        unbounded = [i for i in range(k) if not (np.isfinite(lows[i]) and np.isfinite(highs[i]))]
        why = next((results[i].get("note") for i in unbounded if results[i].get("note")), None)
        summary["note"] = (f"{len(unbounded)} of {k} seeds have no interval"
                           + (f" ({why})" if why else "") + ", so the pooled interval is undefined too")
        return summary
    z = stats.norm.ppf(1 - alpha / 2)
    se_within = float(np.mean((highs - lows) / 2) / z)
    se_between = between_sd / math.sqrt(k)
    se = math.hypot(se_within, se_between)
    if se == 0:
        summary.update(ci_low=pooled, ci_high=pooled, p_value=1.0 if pooled == 0 else 0.0)
        return summary
    df = se ** 4 / (se_between ** 4 / (k - 1)) if se_between > 0 else math.inf
    critical = stats.t.ppf(1 - alpha / 2, df)
    summary.update(ci_low=float(pooled - critical * se), ci_high=float(pooled + critical * se),
                   p_value=float(2 * stats.t.sf(abs(pooled) / se, df)))
    return summary
