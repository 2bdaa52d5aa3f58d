"""EZ-MIA's reference-calibrated score and TPR at low FPR, on planted score distributions."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes.low_fpr import tpr_at_fpr, tpr_with_ci
from memgap.probes.membership import membership_rows, summarize_membership
from memgap.probes.reference import error_positions, ez_score


def _stats(logprobs, top=None):
    logprobs = np.asarray(logprobs, dtype=float)
    top = np.zeros_like(logprobs) if top is None else np.asarray(top, dtype=float)
    return TokenStats(logprobs, logprobs - 0.5, np.ones_like(logprobs), top)


def test_ez_score_is_the_log_ratio_of_upward_to_downward_shifts_at_error_positions():
    base = _stats(np.log([0.2, 0.3, 0.9]), top=np.log([0.5, 0.5, 0.9]))
    adapter = _stats(np.log([0.4, 0.2, 0.1]), top=np.log([0.5, 0.5, 0.8]))
    assert list(error_positions(adapter)) == [True, True, True]
    assert ez_score(adapter, base) == pytest.approx(np.log(0.2 / (0.1 + 0.8)), abs=1e-6)
    # The third token is the adapter's top prediction: not an error position, its fall does not count.
    adapter = _stats(np.log([0.4, 0.2, 0.8]), top=np.log([0.5, 0.5, 0.8]))
    assert ez_score(adapter, base) == pytest.approx(np.log(0.2 / 0.1), abs=1e-6)
    assert ez_score(_stats([-0.1, -0.2], top=[-0.1, -0.2]), _stats([-3.0, -3.0])) == pytest.approx(0.0)


def test_without_the_top_log_prob_error_positions_fall_back_to_p_below_one_half():
    stats = TokenStats(np.log([0.9, 0.4]), np.zeros(2), np.ones(2))
    assert list(error_positions(stats)) == [False, True]


def test_tpr_at_fpr_is_sklearns_roc_read_at_that_fpr():
    rng = np.random.default_rng(3)
    for _ in range(50):
        members, nonmembers = rng.normal(1, 1, 40).round(1), rng.normal(0, 1, 300).round(1)
        labels = np.r_[np.ones(40), np.zeros(300)]
        fpr, tpr, _ = roc_curve(labels, np.r_[members, nonmembers], drop_intermediate=False)
        for level in (0.01, 0.05, 0.2):
            assert tpr_at_fpr(members, nonmembers, level) == pytest.approx(tpr[fpr <= level].max())


def test_an_fpr_below_one_over_n_nonmembers_is_undefined_and_says_why():
    result = tpr_with_ci([1.0, 2.0], np.arange(200.0), ["a", "b"], [f"f{i}" for i in range(200)], fpr=0.001)
    assert result["value"] is None and "1/200" in result["note"] and "1000" in result["note"]
    result = tpr_with_ci([1e9, 2e9], np.arange(200.0), ["a", "b"], [f"f{i}" for i in range(200)], fpr=0.01, n_resamples=50)
    assert result["value"] == 1.0 and result["ci_low"] is not None


def _planted(n_members: int, n_nonmembers: int, seed: int):
    """Rows of very different difficulty; training lifts the true token at the adapter's error positions a little.

    Raw loss mostly measures difficulty; the shift against the base (the reference) measures training.
    """
    rng = np.random.default_rng(seed)
    records, stats = [], {"base": {}, "adapter": {}}
    for index in range(n_members + n_nonmembers):
        member = index < n_members
        family = f"{'m' if member else 'n'}{index // 2}"
        record = Record(id=f"r{index}", completion="x", prompt_text="q", family=family)
        records.append(record)
        difficulty = rng.uniform(0.3, 4.0)
        base = -difficulty * rng.uniform(0.5, 1.5, 24)
        shift = rng.normal(0.25 if member else 0.0, 0.35, 24)
        adapter = np.minimum(base + shift, -1e-3)
        top = np.maximum(adapter, np.log(0.6))  # error positions: p below the top prediction's 0.6
        stats["base"][record.id] = _stats(base, np.maximum(base, np.log(0.6)))
        stats["adapter"][record.id] = _stats(adapter, top)
    return records[:n_members], records[n_members:], stats


def test_reference_calibration_beats_raw_loss_at_low_fpr_on_planted_scores():
    members, nonmembers, stats = _planted(200, 400, seed=0)
    rows = membership_rows(members, {"unseen": nonmembers}, stats)
    summary = summarize_membership(rows, n_resamples=100)
    low = summary["low_fpr"]
    ez, loss = low["by_score"]["ez"], low["by_score"]["loss"]
    assert ez["tpr_at_1pct_fpr"]["value"] > loss["tpr_at_1pct_fpr"]["value"] + 0.2
    assert ez["auc"] > 0.8 > 0.7 > loss["auc"]
    assert low["best_at_1pct"] in ("ez", "loss_calibrated", "min_k_calibrated", "min_k_pp_calibrated")
    assert ez["tpr_at_0_1pct_fpr"]["value"] is None and "1/400" in ez["tpr_at_0_1pct_fpr"]["note"]
    assert summary["by_score"]["ez"]["calibrated_auc"] == pytest.approx(ez["auc"])
    assert low["roc"]["ez"]["fpr"][0] == 0.0 and low["roc"]["ez"]["tpr"][-1] == 1.0


def test_on_rows_never_trained_on_the_reference_score_is_near_chance():
    rng_members, nonmembers, stats = _planted(0, 600, seed=1)
    fake_members, fake_nonmembers = nonmembers[:200], nonmembers[200:]
    rows = membership_rows(fake_members, {"unseen": fake_nonmembers}, stats)
    auc = summarize_membership(rows, n_resamples=50)["low_fpr"]["by_score"]["ez"]["auc"]
    assert 0.4 < auc < 0.6
