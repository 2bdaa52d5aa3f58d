"""True-positive rate at a low false-positive rate, with a family-clustered bootstrap interval.

Membership evidence matters at low FPR (Carlini et al. 2022, "Membership inference attacks from first
principles"): an AUC can be high while no member is found at 1 % or 0.1 % false positives. With n
non-members the FPR moves in steps of 1/n, so TPR at an FPR below 1/n is not defined: it is reported
as None with a note that says how many non-members it needs, beside the TPR at zero false positives
(members scored above every non-member), which is always defined.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FPR_LEVELS = {"1pct": 0.01, "0_1pct": 0.001}


def tpr_at_fpr(members: np.ndarray, nonmembers: np.ndarray, fpr: float) -> float:
    """Largest TPR whose FPR is at most `fpr`: members above the threshold that lets floor(fpr * n) non-members pass.

    Ties at the threshold count as non-passing for both classes (the ROC vertex below the tie).
    Equal to max(tpr[fpr_curve <= fpr]) of sklearn.metrics.roc_curve.
    """
    members = np.asarray(members, dtype=np.float64)
    nonmembers = np.sort(np.asarray(nonmembers, dtype=np.float64))[::-1]
    allowed = int(math.floor(fpr * nonmembers.size + 1e-9))
    if allowed >= nonmembers.size:
        return 1.0
    return float(np.mean(members > nonmembers[allowed]))


def needed_nonmembers(fpr: float) -> int:
    """The fewest non-members for which an FPR of `fpr` is one step of the ROC (1/n <= fpr)."""
    return int(math.ceil(1.0 / fpr - 1e-9))


def tpr_with_ci(member_scores: Sequence[float], nonmember_scores: Sequence[float], member_clusters: Sequence[str],
                nonmember_clusters: Sequence[str], *, fpr: float, n_resamples: int = 1000,
                confidence_level: float = 0.95, seed: int = 0) -> dict:
    """TPR at `fpr` with a percentile interval that resamples families within each class.

    Parameters: scores (n_members,), (n_nonmembers,), higher means member; clusters: each score's
    family; fpr in (0, 1); n_resamples: bootstrap draws; seed: numpy's seed.
    Returns {value, ci_low, ci_high, fpr, resolution, note}: value None and a note when n_nonmembers
    < 1/fpr (the FPR's resolution 1/n is coarser than fpr); bounds None with fewer than 2 families in a class.
    Method: cluster (family) bootstrap, as `memgap.probes.membership.auc_with_ci`.
    """
    members = np.asarray(member_scores, dtype=np.float64)
    nonmembers = np.asarray(nonmember_scores, dtype=np.float64)
    resolution = 1.0 / nonmembers.size if nonmembers.size else None
    result = {"value": None, "ci_low": None, "ci_high": None, "fpr": fpr, "resolution": resolution, "note": None}
    if not members.size or not nonmembers.size:
        result["note"] = "no members or no non-members"
        return result
    if nonmembers.size < needed_nonmembers(fpr):
        result["note"] = (f"undefined: with {nonmembers.size} non-members the FPR resolution is 1/{nonmembers.size} = "
                          f"{100 * resolution:.2g} %; TPR at {100 * fpr:g} % FPR needs at least {needed_nonmembers(fpr)}")
        return result
    result["value"] = tpr_at_fpr(members, nonmembers, fpr)
    member_groups = _groups(member_clusters)
    nonmember_groups = _groups(nonmember_clusters)
    if len(member_groups) < 2 or len(nonmember_groups) < 2 or n_resamples <= 0:
        return result
    rng = np.random.default_rng(seed)
    draws = np.empty(n_resamples)
    for index in range(n_resamples):
        picked_m = np.concatenate([member_groups[i] for i in rng.integers(0, len(member_groups), len(member_groups))])
        picked_n = np.concatenate([nonmember_groups[i] for i in rng.integers(0, len(nonmember_groups), len(nonmember_groups))])
        draws[index] = tpr_at_fpr(members[picked_m], nonmembers[picked_n], fpr)
    tail = (1 - confidence_level) / 2
    result["ci_low"], result["ci_high"] = (float(x) for x in np.quantile(draws, [tail, 1 - tail]))
    return result


def tpr_at_zero_fpr(members: Sequence[float], nonmembers: Sequence[float]) -> float | None:
    """Share of members scored above every non-member (None without both)."""
    if not len(members) or not len(nonmembers):
        return None
    return float(np.mean(np.asarray(members, dtype=np.float64) > np.max(nonmembers)))


def _groups(clusters: Sequence[str]) -> list[np.ndarray]:
    _, index = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    return [np.flatnonzero(index == value) for value in range(index.max() + 1)] if len(index) else []
