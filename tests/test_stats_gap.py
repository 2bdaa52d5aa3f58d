"""The memorization gap and the generalization ratio: agreement with scipy, edge cases, calibration."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from memgap.stats import generalization_ratio, memorization_gap
from memgap.stats.simulation import simulate_clustered_differences


def _holdouts(rng, seen_effect, unseen_effect, n_families=40, icc=0.5):
    seen = simulate_clustered_differences(rng, n_families=n_families, icc=icc, effect=seen_effect)
    unseen = simulate_clustered_differences(rng, n_families=n_families, icc=icc, effect=unseen_effect,
                                            family_offset=10_000)
    return (seen.differences, np.zeros_like(seen.differences), seen.families,
            unseen.differences, np.zeros_like(unseen.differences), unseen.families)


def test_item_level_gap_is_welchs_t_test():
    args = _holdouts(np.random.default_rng(1), 0.5, 0.2)
    result = memorization_gap(*args)
    welch = stats.ttest_ind(args[0], args[3], equal_var=False)
    interval = welch.confidence_interval()
    assert result.item_level.p_value == pytest.approx(welch.pvalue)
    assert result.item_level.ci_low == pytest.approx(interval.low)
    assert result.item_level.ci_high == pytest.approx(interval.high)
    assert result.delta == pytest.approx(args[0].mean() - args[3].mean())
    assert result.n == args[0].size + args[3].size and result.n_families == 80


def test_families_in_both_holdouts_are_refused():
    with pytest.raises(ValueError, match="1 families appear in both"):
        memorization_gap([1.0, 2.0], [0.0, 0.0], ["a", "b"], [1.0, 2.0], [0.0, 0.0], ["b", "c"])


def test_a_holdout_with_one_family_gives_no_test():
    block = memorization_gap([1.0, 2.0], [0.0, 0.0], ["a", "a"], [1.0, 2.0, 0.5], [0.0] * 3, ["b", "c", "d"]).to_dict()
    assert block["p_value"] is None and block["ci_low"] is None and block["delta"] == pytest.approx(1.5 - 3.5 / 3)


def test_gap_type_one_error_and_coverage_are_nominal():
    rng = np.random.default_rng(2)
    null = [memorization_gap(*_holdouts(rng, 0.4, 0.4)) for _ in range(4000)]
    clustered = np.mean([result.p_value <= 0.05 for result in null])
    item_level = np.mean([result.item_level.p_value <= 0.05 for result in null])
    assert abs(clustered - 0.05) <= 0.01
    assert item_level > 0.10
    effect = [memorization_gap(*_holdouts(rng, 0.6, 0.2)) for _ in range(2000)]
    coverage = np.mean([result.ci_low <= 0.4 <= result.ci_high for result in effect])
    assert abs(coverage - 0.95) <= 0.02


def test_ratio_is_null_with_a_note_when_the_seen_lift_is_not_distinguishable_from_zero():
    ratio = generalization_ratio(*_holdouts(np.random.default_rng(3), 0.0, 0.0)).to_dict()
    assert ratio["ratio"] is None and ratio["ci_low"] is None and "includes 0" in ratio["note"]


def test_ratio_interval_covers_the_true_ratio():
    rng = np.random.default_rng(4)
    covered = []
    for index in range(1000):
        result = generalization_ratio(*_holdouts(rng, 1.0, 0.5, n_families=60), n_resamples=199, seed=index).to_dict()
        assert result["note"] is None
        assert result["ci_low"] < result["ratio"] < result["ci_high"]
        covered.append(result["ci_low"] <= 0.5 <= result["ci_high"])
    assert abs(np.mean(covered) - 0.95) <= 0.02
