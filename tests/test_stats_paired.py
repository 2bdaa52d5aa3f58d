"""Family-clustered paired inference: exactness, edge cases and calibration under clustered nulls."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from memgap.stats import paired_delta, per_family_lifts, power_at
from memgap.stats.simulation import simulate_clustered_differences


def test_per_family_lifts_are_family_means_in_first_seen_order():
    lifts = per_family_lifts([3.0, 1.0, 2.0, 5.0], [1.0, 1.0, 0.0, 1.0], ["b", "a", "b", "a"])
    assert lifts == [{"family": "b", "n": 2, "lift": 2.0}, {"family": "a", "n": 2, "lift": 2.0}]


def test_p_value_with_few_families_is_the_exact_enumeration():
    rng = np.random.default_rng(3)
    families = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4, 5])  # 6 families: the fewest with a p-value at alpha 0.05
    differences = rng.normal(0.4, 1.0, families.size)
    sums = np.bincount(families, weights=differences)
    observed = abs(sums.sum())
    flips = [abs(np.dot(signs, sums)) for signs in itertools.product([-1, 1], repeat=sums.size)]
    expected = np.mean(np.array(flips) >= observed - 1e-12)
    result = paired_delta(differences, np.zeros_like(differences), families, n_resamples=1000)
    assert result.p_value == pytest.approx(expected)
    assert result.n == 10 and result.n_families == 6


def test_item_level_interval_matches_the_t_interval_for_many_items():
    rng = np.random.default_rng(4)
    treatment, control = rng.normal(0.2, 1.0, 400), rng.normal(0.0, 1.0, 400)
    result = paired_delta(treatment, control)
    t_interval = stats.ttest_rel(treatment, control).confidence_interval()
    assert result.delta == pytest.approx(np.mean(treatment - control))
    assert result.ci_low == pytest.approx(t_interval.low, abs=0.02)
    assert result.ci_high == pytest.approx(t_interval.high, abs=0.02)
    assert result.item_level is None


def test_interval_moves_with_a_shift_of_the_data():
    sample = simulate_clustered_differences(np.random.default_rng(5), n_families=30, icc=0.5)
    zeros = np.zeros_like(sample.differences)
    base = paired_delta(sample.differences, zeros, sample.families, n_resamples=2000, seed=1)
    shifted = paired_delta(sample.differences + 2.5, zeros, sample.families, n_resamples=2000, seed=1)
    assert shifted.ci_low == pytest.approx(base.ci_low + 2.5, abs=1e-5)
    assert shifted.ci_high == pytest.approx(base.ci_high + 2.5, abs=1e-5)
    assert base.ci_low < base.delta < base.ci_high


def test_clustered_interval_is_wider_than_the_item_level_one_when_siblings_correlate():
    sample = simulate_clustered_differences(np.random.default_rng(6), n_families=40, icc=0.5, effect=0.3)
    result = paired_delta(sample.differences, np.zeros_like(sample.differences), sample.families)
    assert result.ci_high - result.ci_low > 1.3 * (result.item_level.ci_high - result.item_level.ci_low)
    block = result.to_dict()
    assert set(block) == {"delta", "ci_low", "ci_high", "p_value", "n", "n_families", "method", "item_level"}
    assert set(block["item_level"]) == {"delta", "ci_low", "ci_high", "p_value", "method"}
    assert block["n_families"] == 40


def test_same_seed_same_answer_other_seed_close():
    sample = simulate_clustered_differences(np.random.default_rng(7), n_families=50, icc=0.3, effect=0.2)
    args = (sample.differences, np.zeros_like(sample.differences), sample.families)
    assert paired_delta(*args, seed=11) == paired_delta(*args, seed=11)
    assert paired_delta(*args, seed=12).p_value == pytest.approx(paired_delta(*args, seed=11).p_value, abs=0.01)


def test_all_differences_zero():
    values = np.linspace(0, 1, 60)
    result = paired_delta(values, values, np.arange(60) % 12)
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_one_family_cannot_reject_and_has_no_bounded_interval():
    result = paired_delta([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], ["f", "f", "f"])
    assert np.isnan(result.p_value)  # 2 / 2^1 = 1: no p-value, not a p-value of 1
    block = result.to_dict()
    assert block["ci_low"] is None and block["ci_high"] is None and block["delta"] == 2.0
    assert block["p_value"] is None and "neither an interval nor a p-value" in block["note"]


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="2 of 4 items"):
        paired_delta([1.0, np.nan, 2.0, np.nan], [0.0, 0.0, 0.0, 0.0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="3 values but control has 2"):
        paired_delta([1.0, 2.0, 3.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="3 items but 2 family labels"):
        paired_delta([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], ["a", "b"])


def test_mixed_family_labels_are_accepted():
    lifts = per_family_lifts([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [None, "x", None])
    assert [entry["family"] for entry in lifts] == [None, "x"]


def _simulate(n_datasets: int, effect: float, seed: int):
    rng = np.random.default_rng(seed)
    for index in range(n_datasets):
        sample = simulate_clustered_differences(rng, n_families=40, icc=0.5, effect=effect)
        yield paired_delta(sample.differences, np.zeros_like(sample.differences), sample.families,
                           n_resamples=499, seed=index)


def test_type_one_error_under_a_clustered_null_is_nominal_and_item_level_is_not():
    # 3000 data sets: the rejection rate's standard error is 0.4 points, so the 1-point tolerance bites.
    results = list(_simulate(3000, effect=0.0, seed=100))
    clustered = np.mean([result.p_value <= 0.05 for result in results])
    item_level = np.mean([result.item_level.p_value <= 0.05 for result in results])
    assert abs(clustered - 0.05) <= 0.01
    assert item_level > 0.10
    # The CI and the test are the same inversion: rejecting 0 <=> 0 outside the CI.
    agree = np.mean([(result.p_value <= 0.05) == (not result.ci_low <= 0 <= result.ci_high) for result in results])
    assert agree > 0.99


def test_interval_coverage_under_an_effect_is_nominal():
    results = list(_simulate(2000, effect=0.3, seed=200))
    coverage = np.mean([result.ci_low <= 0.3 <= result.ci_high for result in results])
    assert abs(coverage - 0.95) <= 0.02


def test_power_under_an_effect_matches_the_power_formula():
    results = list(_simulate(400, effect=0.35, seed=300))
    observed_power = np.mean([result.p_value <= 0.05 for result in results])
    # sizes uniform on 1..8: mean 4.5, cv^2 = 5.25 / 4.5^2; both variance parts 0.5.
    family_variance = 0.5 * (1 + 5.25 / 4.5 ** 2) + 0.5 / 4.5
    predicted = power_at(0.35, 40, family_variance=family_variance)
    assert 0.4 < observed_power < 0.95
    assert abs(observed_power - predicted) < 0.08
