"""Set-level membership: is a training family, as a whole, detectably a member?

Following Maini et al. 2024 ("LLM Dataset Inference: Did you train on my dataset?"): one row's
membership score is weak evidence, but the scores of a set of rows, aggregated from several
membership scores and compared with rows of the same distribution that were not trained on, give a
test with a p-value. Here the suspect set is a training family's scored rows and the comparison set
its held-out siblings (the seen-family hold-out: same family, never trained on), so the
distribution is matched by construction.

Per row, the scores (each calibrated by the base model, and EZ-MIA's) are z-scored over all rows
tested, ignoring labels, and averaged; a fixed, label-free combination where Maini et al. learn one
on a held-out part, so no rows are spent on fitting. The statistic is the mean over members minus
the mean over siblings. Under the null (the adapter never trained on the family) which of a family's
rows were trained on is exchangeable, so a permutation test within each family is exact: the
per-family p-value enumerates or samples the relabelings; the pooled test sums the per-family
differences and permutes within every family at once (a stratified, family-clustered permutation
test). Both reject at most alpha of the time on never-trained families
(benchmarks/probes/set_level_calibration.py). Families named detectable pass Holm's step-down at alpha.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from memgap.probes.membership import REFERENCE_SCORE, SCORE_NAMES, membership_score

MAX_EXACT_RELABELINGS = 5000


def combined_scores(rows_by_item: Mapping[str, Mapping[str, Mapping]], *, model: str = "adapter",
                    reference: str | None = "base") -> tuple[dict[str, float], list[str]]:
    """One score per item: the mean of its z-scored membership scores (higher means member).

    rows_by_item: item id -> model -> membership row. With the reference model's rows, each score is
    the adapter's minus the reference's, plus EZ-MIA's score; without, the raw scores.
    Returns ({item id: combined score}, the score names combined). Items with a missing score are left out.
    """
    use_reference = reference is not None and all(reference in models for models in rows_by_item.values())
    names = [*SCORE_NAMES, REFERENCE_SCORE] if use_reference else list(SCORE_NAMES)
    table: dict[str, list[float]] = {}
    for item, models in rows_by_item.items():
        if model not in models:
            continue
        values = []
        for name in names:
            value = membership_score(models[model], name)
            if use_reference and name != REFERENCE_SCORE:
                value -= membership_score(models[reference], name)
            values.append(value)
        if all(math.isfinite(v) for v in values):
            table[item] = values
    if not table:
        return {}, names
    matrix = np.asarray(list(table.values()))
    spread = matrix.std(axis=0)
    z = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return dict(zip(table, z.mean(axis=1).tolist())), names


def family_test(members: Sequence[float], siblings: Sequence[float], *, n_permutations: int = 2000,
                rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """(mean members - mean siblings, one-sided permutation p-value, smallest p-value attainable).

    Exact over all relabelings when there are at most MAX_EXACT_RELABELINGS of them, otherwise
    `n_permutations` random ones with p = (1 + #{T* >= T}) / (1 + n_permutations).
    """
    values = np.r_[np.asarray(members, dtype=float), np.asarray(siblings, dtype=float)]
    n, k = values.size, len(members)
    observed = values[:k].mean() - values[k:].mean()
    count = math.comb(n, k)
    if count <= MAX_EXACT_RELABELINGS:
        total = values.sum()
        picks = np.array(list(itertools.combinations(range(n), k)))
        member_sums = values[picks].sum(axis=1)
        statistics = member_sums / k - (total - member_sums) / (n - k)
        p_value = float(np.mean(statistics >= observed - 1e-12))
        return float(observed), p_value, 1.0 / count
    rng = rng or np.random.default_rng(0)
    labels = rng.permuted(np.tile(np.r_[np.ones(k), np.zeros(n - k)], (n_permutations, 1)), axis=1)
    statistics = labels @ values / k - (1 - labels) @ values / (n - k)
    p_value = (1 + np.sum(statistics >= observed - 1e-12)) / (1 + n_permutations)
    return float(observed), float(p_value), 1.0 / (1 + n_permutations)


def pooled_test(groups: Sequence[tuple[Sequence[float], Sequence[float]]], *, n_permutations: int = 2000,
                seed: int = 0) -> tuple[float, float]:
    """(mean over families of their member-minus-sibling difference, stratified permutation p-value, one-sided).

    groups: per family (member scores, sibling scores), each non-empty. Labels are permuted within each
    family independently; p = (1 + #{T* >= T}) / (1 + n_permutations). Each family weighs the same.
    """
    rng = np.random.default_rng(seed)
    observed = 0.0
    permuted = np.zeros(n_permutations)
    for members, siblings in groups:
        values = np.r_[np.asarray(members, dtype=float), np.asarray(siblings, dtype=float)]
        k, n = len(members), values.size
        observed += values[:k].mean() - values[k:].mean()
        labels = rng.permuted(np.tile(np.r_[np.ones(k), np.zeros(n - k)], (n_permutations, 1)), axis=1)
        permuted += labels @ values / k - (1 - labels) @ values / (n - k)
    p_value = (1 + np.sum(permuted >= observed - 1e-12)) / (1 + n_permutations)
    return observed / len(groups), float(p_value)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error at most alpha across the families tested)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def set_level_membership(rows: Sequence[Mapping], *, alpha: float = 0.05, n_permutations: int = 2000,
                         seed: int = 0) -> dict:
    """The per-family and pooled set-level membership tests, from membership.jsonl's rows.

    Members: training rows (`holdout` train); comparison: the same family's seen-holdout siblings.
    Returns {method, scores_combined, alpha, n_families, pooled {difference, p_value, detectable},
    families [{family, n_members, n_siblings, difference, p_value, min_attainable_p, holm_p, detectable}],
    detectable_families, note}. Families with no member or no sibling scored are not tested.
    Method: dataset inference (Maini et al. 2024) with a within-family permutation test.
    """
    by_item: dict[str, dict[str, Mapping]] = {}
    holdout_of: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row.get("holdout") not in ("train", "seen") or row.get("family") is None:
            continue
        key = f"{row['holdout']}:{row['id']}"
        by_item.setdefault(key, {})[row["model"]] = row
        holdout_of[key] = (row["holdout"], str(row["family"]))
    scores, names = combined_scores(by_item)
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for key, value in scores.items():
        holdout, family = holdout_of[key]
        groups.setdefault(family, ([], []))[0 if holdout == "train" else 1].append(value)
    tested = {family: pair for family, pair in sorted(groups.items()) if pair[0] and pair[1]}
    result: dict = {
        "method": "dataset inference (Maini et al. 2024): each family's training rows vs its held-out siblings, "
                  "within-family permutation test; pooled: stratified permutation over families",
        "scores_combined": names, "alpha": alpha, "n_families": len(tested),
        "pooled": None, "families": [], "detectable_families": [], "note": None,
    }
    if not tested:
        result["note"] = "no family has both a scored training row and a scored held-out sibling"
        return result
    rng = np.random.default_rng(seed)
    families = []
    for family, (members, siblings) in tested.items():
        difference, p_value, smallest = family_test(members, siblings, n_permutations=n_permutations, rng=rng)
        families.append({"family": family, "n_members": len(members), "n_siblings": len(siblings),
                          "difference": difference, "p_value": p_value, "min_attainable_p": smallest})
    for entry, adjusted in zip(families, holm([entry["p_value"] for entry in families])):
        entry["holm_p"] = adjusted
        entry["detectable"] = adjusted <= alpha
    difference, p_value = pooled_test(list(tested.values()), n_permutations=n_permutations, seed=seed)
    result["pooled"] = {"difference": difference, "p_value": p_value, "detectable": p_value <= alpha}
    result["families"] = families
    result["detectable_families"] = [entry["family"] for entry in families if entry["detectable"]]
    if all(entry["min_attainable_p"] * len(families) > alpha for entry in families):
        result["note"] = ("too few rows per family for any single family to be detectable at this alpha after Holm's "
                          "correction (smallest attainable p per family: "
                          f"{min(entry['min_attainable_p'] for entry in families):.3g}); the pooled test still applies")
    return result
