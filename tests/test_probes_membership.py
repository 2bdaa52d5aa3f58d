"""Membership scores and AUC on seeded synthetic token statistics."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes.membership import (
    auc_with_ci,
    membership_rows,
    min_k_percent,
    min_k_plus_plus,
    summarize_membership,
    weighted_auc,
)


def test_min_k_plus_plus_by_hand():
    stats = TokenStats(np.array([-1.0, -3.0, -0.5, -2.0]), np.array([-1.5, -2.0, -1.0, -1.0]), np.array([0.5, 1.0, 0.25, 2.0]))
    # standardised: (−1+1.5)/.5=1, (−3+2)/1=−1, (−.5+1)/.25=2, (−2+1)/2=−.5; lowest 50%: −1, −.5
    assert min_k_plus_plus(stats, k_percent=50) == pytest.approx(-0.75)
    assert min_k_percent(stats.logprobs, k_percent=50) == pytest.approx(-2.5)
    assert min_k_percent(stats.logprobs, k_percent=1) == pytest.approx(-3.0)  # at least one token


def test_weighted_auc_matches_scikit_learn_with_sample_weights():
    rng = np.random.default_rng(3)
    members, nonmembers = rng.normal(0.3, 1, 15).round(1), rng.normal(0, 1, 20).round(1)  # rounding makes ties
    weights_m, weights_n = rng.integers(0, 4, 15).astype(float), rng.integers(1, 4, 20).astype(float)
    expected = roc_auc_score(np.r_[np.ones(15), np.zeros(20)], np.r_[members, nonmembers], sample_weight=np.r_[weights_m, weights_n])
    assert weighted_auc(members, nonmembers, weights_m, weights_n) == pytest.approx(expected)


def synthetic_split(member_lift: float, seed: int, n_families: int = 12, per_family: int = 4):
    """Members and unseen-family items; base log-probs share the distribution, the adapter adds a lift."""
    rng = np.random.default_rng(seed)
    train, unseen, stats = [], [], {"base": {}, "adapter": {}}
    for group, records, lift in (("t", train, member_lift), ("u", unseen, 0.0)):
        for family in range(n_families):
            family_level = rng.normal(-2.0, 0.6)  # families differ in difficulty under both models
            for row in range(per_family):
                record_id = f"{group}{family}-{row}"
                records.append(Record(id=record_id, completion="x", family=f"{group}{family}"))
                n_tokens = int(rng.integers(8, 30))
                base = family_level + rng.normal(0, 0.8, n_tokens)
                adapter = base + 0.2 + lift + rng.normal(0, 0.1, n_tokens)
                for model, logprobs in (("base", base), ("adapter", adapter)):
                    stats[model][record_id] = TokenStats(logprobs, np.full(n_tokens, family_level - 0.5), np.full(n_tokens, 1.5))
    return train, {"seen": [], "unseen": unseen}, stats


def test_members_with_higher_adapter_logprob_are_found():
    train, holdouts, stats = synthetic_split(member_lift=0.8, seed=1)
    summary = summarize_membership(membership_rows(train, holdouts, stats), n_resamples=500)
    assert summary["n_members"] == summary["n_nonmembers"] == 48
    assert summary["auc"] > 0.95 and summary["auc_ci_low"] > 0.8
    assert summary["tpr_at_1pct_fpr"] > 0.5
    # Calibration removes the family difficulty that blurs the raw loss.
    assert summary["by_score"]["loss"]["calibrated_auc"] > summary["by_score"]["loss"]["raw_auc"]
    assert summary["by_score"]["min_k_pp"]["calibrated_auc"] > 0.9
    assert len(summary["roc"]["fpr"]) <= 101 and summary["roc"]["tpr"][-1] == 1.0


def test_no_difference_gives_auc_near_half_with_ci_covering_it():
    train, holdouts, stats = synthetic_split(member_lift=0.0, seed=2)
    summary = summarize_membership(membership_rows(train, holdouts, stats), n_resamples=1000)
    assert abs(summary["auc"] - 0.5) < 0.15
    assert summary["auc_ci_low"] < 0.5 < summary["auc_ci_high"]


def test_family_bootstrap_is_wider_than_item_bootstrap_when_families_cluster():
    rng = np.random.default_rng(5)
    family_effects = rng.normal(0, 1, 10)
    members = np.repeat(family_effects[:5], 8) + rng.normal(0, 0.1, 40)
    nonmembers = np.repeat(family_effects[5:], 8) + rng.normal(0, 0.1, 40)
    families_m, families_n = np.repeat([f"m{i}" for i in range(5)], 8), np.repeat([f"n{i}" for i in range(5)], 8)
    by_family = auc_with_ci(members, nonmembers, families_m, families_n, n_resamples=500)
    by_item = auc_with_ci(members, nonmembers, [str(i) for i in range(40)], [str(i) for i in range(40, 80)], n_resamples=500)
    assert by_family["auc"] == by_item["auc"]
    assert by_family["ci_high"] - by_family["ci_low"] > 2 * (by_item["ci_high"] - by_item["ci_low"])


def test_rows_skip_empty_stats_and_mark_groups():
    train = [Record(id="t", completion="x", family="f")]
    holdouts = {"seen": [Record(id="s", completion="x", family="f")], "unseen": [Record(id="u", completion="x", family="g")]}
    empty = TokenStats(np.array([]), np.array([]), np.array([]))
    full = TokenStats(np.array([-1.0, -2.0]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    rows = membership_rows(train, holdouts, {"adapter": {"t": full, "s": full, "u": empty}})
    assert [(row["id"], row["holdout"], row["member"]) for row in rows] == [("t", "train", True), ("s", "seen", False)]
    assert rows[0]["loss"] == pytest.approx(1.5)
    summary = summarize_membership(rows)
    assert summary["auc"] is None and "note" in summary
