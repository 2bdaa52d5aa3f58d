"""Few families: the sign-flip interval's existence threshold, the reasons recorded, and NaNs named by position."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from memgap.stats import memorization_gap, paired_delta, pool_seeds
from memgap.stats.signflip import min_families_for_interval


@pytest.mark.parametrize("alpha", [0.2, 0.1, 0.05, 0.01, 0.001])
def test_threshold_is_where_the_exact_test_first_can_reject(alpha):
    needed = min_families_for_interval(alpha)
    # Enumerate the smallest attainable two-sided p-value directly: the all-equal family sums.
    for n_families in range(1, 14):
        sums = np.ones(n_families)
        flips = [abs(np.dot(signs, sums)) for signs in itertools.product([-1, 1], repeat=n_families)]
        smallest_p = np.mean(np.array(flips) >= n_families - 1e-12)
        assert (smallest_p <= alpha) == (n_families >= needed)


def test_five_families_have_no_interval_and_say_why_six_do():
    rng = np.random.default_rng(0)
    for n_families, defined in ((5, False), (6, True)):
        families = np.repeat(np.arange(n_families), 3)
        differences = rng.normal(1.0, 0.1, families.size)
        block = paired_delta(differences, np.zeros_like(differences), families).to_dict()
        if defined:
            assert block["ci_low"] is not None and block["p_value"] is not None and "note" not in block
        else:
            assert block["ci_low"] is None and block["ci_high"] is None and block["p_value"] is None
            assert "with 5 or fewer families no 95 % sign-flip interval exists" in block["note"]
            assert "this hold-out has 5, and the smallest attainable p-value, 2 / 2^5 = 0.0625" in block["note"]


def test_the_reason_follows_alpha():
    families = np.repeat(np.arange(6), 2)
    block = paired_delta(np.ones(12) + np.arange(12) * 0.01, np.zeros(12), families, alpha=0.01).to_dict()
    assert block["ci_low"] is None and block["p_value"] is None
    assert "with 7 or fewer families no 99 % sign-flip interval exists" in block["note"]
    assert paired_delta(np.ones(12) + np.arange(12) * 0.01, np.zeros(12), families, alpha=0.05).p_value < 0.05


def test_gap_with_one_family_in_a_hold_out_says_why():
    block = memorization_gap([1.0, 2.0], [0.0, 0.0], ["a", "a"], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0],
                             ["b", "c", "d"]).to_dict()
    assert block["p_value"] is None and block["ci_low"] is None
    assert "a hold-out has 1 family" in block["note"]


def test_pooling_an_undefined_interval_carries_the_reason():
    seeds = [{"delta": 0.1, "ci_low": None, "ci_high": None, "p_value": None, "n": 8, "n_families": 4,
              "note": "with 5 or fewer families no 95 % sign-flip interval exists"},
             {"delta": 0.2, "ci_low": 0.1, "ci_high": 0.3, "p_value": 0.01, "n": 8, "n_families": 4}]
    pooled = pool_seeds(seeds)
    assert pooled["ci_low"] is None
    assert "1 of 2 seeds have no interval" in pooled["note"] and "5 or fewer families" in pooled["note"]


def test_a_nan_is_refused_naming_its_positions_and_families():
    with pytest.raises(ValueError, match=r"positions 1, 3 \(families x, y\)"):
        paired_delta([1.0, np.nan, 2.0, np.nan], [0.0, 0.0, 0.0, 0.0], ["w", "x", "y", "y"])
    with pytest.raises(ValueError, match=r"position 2\b.*memorization_gap \(unseen|memorization_gap \(unseen.*position 2\b"):
        memorization_gap([1.0, 2.0], [0.0, 0.0], ["a", "b"], [1.0, 2.0, 3.0], [0.0, 0.0, np.nan], ["c", "d", "e"])
    many = np.full(8, np.nan)
    with pytest.raises(ValueError, match="and 3 more"):
        paired_delta(many, np.zeros(8))


@pytest.mark.parametrize("alpha", [0.2, 0.1, 0.05, 0.01])
def test_the_p_value_exists_exactly_where_the_interval_does(alpha):
    rng = np.random.default_rng(1)
    needed = min_families_for_interval(alpha)
    for n_families in range(1, needed + 2):
        families = np.repeat(np.arange(n_families), 2)
        differences = rng.normal(1.0, 0.2, families.size)
        result = paired_delta(differences, np.zeros_like(differences), families, alpha=alpha)
        defined = n_families >= needed
        assert np.isfinite(result.p_value) == defined == bool(np.isfinite(result.ci_low)), (n_families, result)
        assert (result.note is None) == defined
        if defined:
            assert 2 / 2 ** n_families <= result.p_value <= 1
