"""Membership inference: can the adapter's token log-probs tell training rows from unseen families?

Three per-item scores, each oriented so that higher means "looks like a training row":
the negative loss, Min-K% (mean of the lowest k% token log-probs, Shi et al. 2024) and Min-K%++
(the same over log-probs standardised by the mean and std of log p over the vocabulary at each
position, Zhang et al. 2024). Calibrated scores subtract the base model's score for the same item,
so that text the base model already finds easy does not pass for memorized. AUC comes from
scikit-learn, with a percentile CI from a bootstrap that resamples families within each class.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats
from sklearn.metrics import roc_auc_score, roc_curve

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes.low_fpr import FPR_LEVELS, tpr_at_zero_fpr, tpr_with_ci
from memgap.probes.reference import ez_score

SCORE_NAMES = ("loss", "min_k", "min_k_pp")
REFERENCE_SCORE = "ez"  # EZ-MIA's Error Zone score: calibrated by the base model by construction (memgap.probes.reference)
LOW_FPR_RESAMPLES = 1000
MAX_CURVE_POINTS = 400
DEFAULT_K_PERCENT = 20.0  # the k both papers recommend
ROC_POINTS = 101


def min_k_percent(values: np.ndarray, k_percent: float = DEFAULT_K_PERCENT) -> float:
    """Mean of the lowest k% of values (at least one); nan for an empty array."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan")
    count = max(1, math.ceil(values.size * k_percent / 100.0))
    return float(np.sort(values)[:count].mean())


def min_k_plus_plus(token_stats: TokenStats, k_percent: float = DEFAULT_K_PERCENT) -> float:
    """Min-K% of (log p(token) - mean log p) / std log p; positions with zero spread count as 0."""
    spread = np.asarray(token_stats.std_logprob, dtype=np.float64)
    centred = np.asarray(token_stats.logprobs, dtype=np.float64) - np.asarray(token_stats.mean_logprob, dtype=np.float64)
    standardised = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
    return min_k_percent(standardised, k_percent)


def item_scores(token_stats: TokenStats, k_percent: float = DEFAULT_K_PERCENT) -> dict[str, float]:
    """Loss (mean NLL per token), Min-K% and Min-K%++ of one item, as stored in membership.jsonl."""
    return {
        "loss": token_stats.nll,
        "min_k": min_k_percent(token_stats.logprobs, k_percent),
        "min_k_pp": min_k_plus_plus(token_stats, k_percent),
    }


def membership_score(scores: Mapping[str, float], name: str) -> float:
    """A score oriented so that higher means member: the loss enters with its sign flipped (NaN when absent)."""
    if name == "loss":
        return -scores["loss"]
    value = scores.get(name)
    return float("nan") if value is None else value


def weighted_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray,
                 member_weights: np.ndarray, nonmember_weights: np.ndarray) -> np.ndarray:
    """AUC (ties count one half) for many weightings at once; weights have shape (..., n_items).

    Equal to roc_auc_score with sample_weight for one weighting; written as one matrix product
    because the bootstrap needs thousands of weightings and calling scikit-learn once per resample
    was measured several hundred times slower (benchmarks/probes).
    """
    wins = (member_scores[:, None] > nonmember_scores[None, :]) + 0.5 * (member_scores[:, None] == nonmember_scores[None, :])
    numerator = np.einsum("...i,ij,...j->...", member_weights, wins, nonmember_weights)
    return numerator / (member_weights.sum(axis=-1) * nonmember_weights.sum(axis=-1))


def _cluster_weights(resampled_clusters: np.ndarray, item_clusters: np.ndarray, n_clusters: int) -> np.ndarray:
    """Item weights = how often each item's cluster was drawn, for each resample (rows)."""
    draws = np.atleast_2d(resampled_clusters).astype(np.int64)
    counts = np.zeros((draws.shape[0], n_clusters))
    np.add.at(counts, (np.arange(draws.shape[0])[:, None], draws), 1.0)
    return counts[:, item_clusters]


def auc_with_ci(member_scores: Sequence[float], nonmember_scores: Sequence[float],
                member_clusters: Sequence[str], nonmember_clusters: Sequence[str],
                *, n_resamples: int = 2000, confidence_level: float = 0.95, seed: int = 0) -> dict:
    """AUC of members vs non-members with a percentile CI, resampling clusters within each class.

    Parameters: member_scores (n_members,), nonmember_scores (n_nonmembers,): higher means "member";
    member_clusters, nonmember_clusters: each score's cluster (its family, or the item alone);
    n_resamples: bootstrap draws; confidence_level: the CI's coverage; seed: numpy's seed.
    Returns {auc, ci_low, ci_high} (AUC in [0, 1]; NaN bounds with fewer than 2 clusters in a class).
    Raises ValueError (from scikit-learn) when a class is empty.
    Members and non-members come from disjoint families, so each class's families are resampled on
    their own; rows of a family move together.
    Method: sklearn.metrics.roc_auc_score; scipy.stats.bootstrap with two samples of cluster weights.
    """
    members = np.asarray(member_scores, dtype=np.float64)
    nonmembers = np.asarray(nonmember_scores, dtype=np.float64)
    labels = np.r_[np.ones(members.size), np.zeros(nonmembers.size)]
    auc = float(roc_auc_score(labels, np.r_[members, nonmembers]))
    member_ids, member_index = np.unique(np.asarray(member_clusters, dtype=str), return_inverse=True)
    nonmember_ids, nonmember_index = np.unique(np.asarray(nonmember_clusters, dtype=str), return_inverse=True)

    def statistic(member_draw: np.ndarray, nonmember_draw: np.ndarray, axis: int = -1) -> np.ndarray:
        weights_m = _cluster_weights(member_draw, member_index, member_ids.size)
        weights_n = _cluster_weights(nonmember_draw, nonmember_index, nonmember_ids.size)
        return weighted_auc(members, nonmembers, weights_m, weights_n).reshape(np.shape(member_draw)[:-1])

    low = high = float("nan")
    if member_ids.size >= 2 and nonmember_ids.size >= 2 and n_resamples > 0:
        result = scipy_stats.bootstrap(
            (np.arange(member_ids.size), np.arange(nonmember_ids.size)), statistic,
            n_resamples=n_resamples, vectorized=True, method="percentile",
            confidence_level=confidence_level, rng=np.random.default_rng(seed), batch=500,
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return {"auc": auc, "ci_low": low, "ci_high": high}


def roc_summary(member_scores: Sequence[float], nonmember_scores: Sequence[float],
                max_fpr: float = 0.01) -> dict:
    """TPR at a fixed false-positive rate and the ROC curve on at most 101 points, for the plot."""
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    # drop_intermediate=False: a dropped collinear vertex may be the best point below max_fpr.
    fpr, tpr, _ = roc_curve(labels, np.r_[member_scores, nonmember_scores], drop_intermediate=False)
    tpr_at = float(tpr[fpr <= max_fpr].max())
    if fpr.size > ROC_POINTS:  # keep evenly spaced vertices, first and last included
        keep = np.unique(np.linspace(0, fpr.size - 1, ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"tpr_at_fpr": tpr_at, "fpr": [float(x) for x in fpr], "tpr": [float(x) for x in tpr]}


def membership_rows(train_records: Sequence[Record], holdouts: Mapping[str, Sequence[Record]],
                    token_stats: Mapping[str, Mapping[str, TokenStats]],
                    *, k_percent: float = DEFAULT_K_PERCENT) -> list[dict]:
    """One row per (item, model) with token statistics: the rows of DIR/membership.jsonl.

    Parameters: train_records: training rows (the members); holdouts: {"seen", "unseen"} -> records;
    token_stats: model -> record id -> TokenStats (items without statistics or tokens are left out);
    k_percent: the k of Min-K% and Min-K%++.
    Each row: id, family, `holdout` (train, seen or unseen), `member` (true for training rows only:
    seen-holdout rows are siblings of members, reported apart; unseen-holdout rows are the
    non-members), model, n_tokens and the scores of `item_scores` (loss, min_k, min_k_pp).
    """
    parts = [("train", train_records), *((name, holdouts.get(name, ())) for name in ("seen", "unseen"))]
    rows = []
    for model in sorted(token_stats):
        per_item = token_stats[model]
        for holdout, records in parts:
            for record in records:
                stats = per_item.get(record.id)
                if stats is None or stats.n_tokens == 0:
                    continue
                row = {"id": record.id, "family": record.family, "holdout": holdout, "member": holdout == "train",
                       "model": model, "n_tokens": stats.n_tokens, **item_scores(stats, k_percent)}
                reference = token_stats.get("base", {}).get(record.id) if model != "base" else None
                if reference is not None:  # the base model is the reference of EZ-MIA's score
                    row[REFERENCE_SCORE] = ez_score(stats, reference)
                rows.append(row)
    return rows


def summarize_membership(rows: Sequence[Mapping], *, calibrate_with: str | None = "base", model: str = "adapter",
                         headline: str = "loss", n_resamples: int = 2000, seed: int = 0) -> dict:
    """AUC, its CI, TPR at 1% FPR and the ROC of members vs unseen-family items, from membership rows.

    Parameters: rows: `membership_rows`' rows; calibrate_with: the reference model whose score is
    subtracted per item (None: raw scores); model: the model attacked; headline: the score the summary
    leads with (loss, min_k or min_k_pp); n_resamples, seed: the AUC's cluster bootstrap.
    The headline score is `headline` calibrated by the base model (adapter minus base per item); every
    score's raw and calibrated AUC is listed beside it under `by_score`, and seen-holdout siblings'
    AUC against non-members under `siblings_of_members`. Without members or non-members the figures
    are None and `note` says why.
    Method: Min-K% (Shi et al. 2024), Min-K%++ (Zhang et al. 2024), reference-model calibration
    (Carlini et al. 2022, "Membership inference attacks from first principles").
    """
    by_item: dict[tuple[str, str], dict[str, Mapping]] = {}
    for row in rows:
        by_item.setdefault((row["holdout"], row["id"]), {})[row["model"]] = row
    calibrated = calibrate_with is not None and any(calibrate_with in models for models in by_item.values())

    def scores(holdout: str, name: str, use_base: bool) -> tuple[list[float], list[str]]:
        values, clusters = [], []
        for (item_holdout, item_id), models in sorted(by_item.items()):
            if item_holdout != holdout or model not in models or (use_base and calibrate_with not in models):
                continue
            value = membership_score(models[model], name)
            if use_base:
                value -= membership_score(models[calibrate_with], name)
            if math.isfinite(value):
                values.append(value)
                family = models[model].get("family")
                clusters.append(f"family:{family}" if family is not None else f"item:{item_id}")
        return values, clusters

    members, member_clusters = scores("train", headline, calibrated)
    nonmembers, nonmember_clusters = scores("unseen", headline, calibrated)
    summary: dict = {
        "method": f"{headline}, {'calibrated by the base model' if calibrated else 'raw (no base scores)'}",
        "k_percent": DEFAULT_K_PERCENT, "n_members": len(members), "n_nonmembers": len(nonmembers),
        "auc": None, "auc_ci_low": None, "auc_ci_high": None, "tpr_at_1pct_fpr": None, "raw_auc": None,
        "roc": {"fpr": [], "tpr": []}, "by_score": {}, "siblings_of_members": None,
    }
    if not members or not nonmembers:
        summary["note"] = "membership needs token statistics for training rows and unseen-family items"
        return summary
    result = auc_with_ci(members, nonmembers, member_clusters, nonmember_clusters, n_resamples=n_resamples, seed=seed)
    roc = roc_summary(members, nonmembers)
    summary.update(auc=result["auc"], auc_ci_low=result["ci_low"], auc_ci_high=result["ci_high"],
                   tpr_at_1pct_fpr=roc["tpr_at_fpr"], roc={"fpr": roc["fpr"], "tpr": roc["tpr"]})
    for name in SCORE_NAMES:
        entry = {"raw_auc": _auc(scores("train", name, False)[0], scores("unseen", name, False)[0])}
        if calibrated:
            entry["calibrated_auc"] = _auc(scores("train", name, True)[0], scores("unseen", name, True)[0])
        summary["by_score"][name] = entry
    summary["raw_auc"] = summary["by_score"][headline]["raw_auc"]
    ez_members, ez_nonmembers = scores("train", REFERENCE_SCORE, False)[0], scores("unseen", REFERENCE_SCORE, False)[0]
    if ez_members and ez_nonmembers:
        summary["by_score"][REFERENCE_SCORE] = {"raw_auc": None, "calibrated_auc": _auc(ez_members, ez_nonmembers)}
    siblings, _ = scores("seen", headline, calibrated)
    if siblings:
        # Siblings of members scored like members: the adapter treats the family, not the row, as seen.
        summary["siblings_of_members"] = {"n": len(siblings), "auc_vs_nonmembers": _auc(siblings, nonmembers)}
    series = {name: (scores("train", name, False), scores("unseen", name, False)) for name in SCORE_NAMES}
    if calibrated:
        series.update({f"{name}_calibrated": (scores("train", name, True), scores("unseen", name, True))
                       for name in SCORE_NAMES})
        series[REFERENCE_SCORE] = (scores("train", REFERENCE_SCORE, False), scores("unseen", REFERENCE_SCORE, False))
    summary["low_fpr"] = low_fpr_summary(series, n_resamples=min(n_resamples, LOW_FPR_RESAMPLES), seed=seed)
    return summary


def low_fpr_summary(series: Mapping[str, tuple[tuple[list, list], tuple[list, list]]], *, n_resamples: int,
                    seed: int) -> dict:
    """TPR at 1 % and 0.1 % FPR (family-bootstrap intervals), TPR at zero FPR, AUC and the ROC of each score.

    series: score label -> ((member scores, member families), (non-member scores, non-member families)).
    `best_at_1pct` names the score with the highest TPR at 1 % FPR (None where 1 % is undefined).
    With n non-members the FPR resolution is 1/n: a level below it is None with a note (memgap.probes.low_fpr).
    """
    by_score, curves = {}, {}
    n_nonmembers = 0
    for label, ((members, member_families), (nonmembers, nonmember_families)) in series.items():
        if not members or not nonmembers:
            continue
        n_nonmembers = max(n_nonmembers, len(nonmembers))
        entry = {f"tpr_at_{key}_fpr": tpr_with_ci(members, nonmembers, member_families, nonmember_families, fpr=level,
                                                  n_resamples=n_resamples, seed=seed)
                 for key, level in FPR_LEVELS.items()}
        entry["tpr_at_zero_fpr"] = tpr_at_zero_fpr(members, nonmembers)
        entry["auc"] = _auc(members, nonmembers)
        by_score[label] = entry
        curves[label] = _roc_vertices(members, nonmembers)
    defined = {label: entry["tpr_at_1pct_fpr"]["value"] for label, entry in by_score.items()
               if entry["tpr_at_1pct_fpr"]["value"] is not None}
    return {
        "levels": dict(FPR_LEVELS), "n_nonmembers": n_nonmembers,
        "fpr_resolution": 1.0 / n_nonmembers if n_nonmembers else None,
        "by_score": by_score, "roc": curves,
        "best_at_1pct": max(defined, key=lambda label: (defined[label], by_score[label]["auc"] or 0.0)) if defined else None,
    }


def _roc_vertices(members: Sequence[float], nonmembers: Sequence[float]) -> dict[str, list[float]]:
    """The ROC's corners (a step curve; exact on a log FPR axis), at most MAX_CURVE_POINTS of them."""
    labels = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    fpr, tpr, _ = roc_curve(labels, np.r_[members, nonmembers])
    if fpr.size > MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, fpr.size - 1, MAX_CURVE_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [float(x) for x in fpr], "tpr": [float(x) for x in tpr]}


def _auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    if not positives or not negatives:
        return None
    labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    return float(roc_auc_score(labels, np.r_[positives, negatives]))
