"""Pooling over seeds and the family-count power calculation."""
from __future__ import annotations

import numpy as np
import pytest

from memgap.stats import families_needed, paired_delta, pool_seeds, power_at, power_from_observed, variance_components
from memgap.stats.simulation import simulate_clustered_differences


def _block(delta, half_width):
    return {"delta": delta, "ci_low": delta - half_width, "ci_high": delta + half_width, "p_value": 0.01,
            "n": 100, "n_families": 20, "method": "m"}


def test_one_seed_pools_to_its_own_interval():
    pooled = pool_seeds([_block(0.3, 0.2)])
    assert pooled["delta"] == 0.3
    assert pooled["ci_low"] == pytest.approx(0.1) and pooled["ci_high"] == pytest.approx(0.5)
    assert pooled["between_seed_sd"] is None


def test_disagreeing_seeds_widen_the_pooled_interval():
    blocks = [_block(0.1, 0.2), _block(0.3, 0.2), _block(0.5, 0.2)]
    pooled = pool_seeds(blocks)
    assert pooled["delta"] == pytest.approx(0.3)
    assert pooled["between_seed_sd"] == pytest.approx(0.2)
    assert (pooled["min"], pooled["max"]) == (0.1, 0.5)
    assert pooled["ci_high"] - pooled["ci_low"] > 0.4
    agreeing = pool_seeds([_block(0.3, 0.2)] * 3)
    assert agreeing["ci_high"] - agreeing["ci_low"] == pytest.approx(0.4)


def test_pooling_accepts_real_blocks_and_unbounded_ones():
    sample = simulate_clustered_differences(np.random.default_rng(1), n_families=30, icc=0.5, effect=0.4)
    blocks = [paired_delta(sample.differences + shift, np.zeros_like(sample.differences), sample.families,
                           seed=seed).to_dict() for seed, shift in enumerate([0.0, 0.05, -0.05])]
    pooled = pool_seeds(blocks)
    assert pooled["ci_low"] < pooled["delta"] < pooled["ci_high"] and pooled["n_seeds"] == 3
    unbounded = {**blocks[0], "ci_low": None, "ci_high": None}
    assert pool_seeds([unbounded, blocks[1]])["ci_low"] is None
    with pytest.raises(ValueError):
        pool_seeds([])


def test_families_needed_is_the_smallest_count_reaching_the_power():
    settings = dict(between_family_sd=0.7, within_family_sd=0.7, mean_family_size=4.5)
    needed = families_needed(0.3, **settings)
    variance = 0.49 + 0.49 / 4.5
    assert power_at(0.3, needed, family_variance=variance) >= 0.8 > power_at(0.3, needed - 1, family_variance=variance)
    assert families_needed(0.6, **settings) < needed
    assert families_needed(0.3, **settings, design="gap") > needed
    # With no between-family spread, bigger families help; with much spread, they barely do.
    assert families_needed(0.3, between_family_sd=0.0, within_family_sd=1.0, mean_family_size=8) < \
        families_needed(0.3, between_family_sd=0.0, within_family_sd=1.0, mean_family_size=2)
    with pytest.raises(ValueError):
        families_needed(0.0, **settings)


def test_variance_components_recover_the_simulated_icc():
    sample = simulate_clustered_differences(np.random.default_rng(2), n_families=600, icc=0.5, min_family_size=2)
    components = variance_components(sample.differences, np.zeros_like(sample.differences), sample.families)
    assert components["icc"] == pytest.approx(0.5, abs=0.07)
    assert components["within_family_sd"] == pytest.approx(np.sqrt(0.5), abs=0.05)


def test_power_from_observed_reports_more_families_for_smaller_effects():
    sample = simulate_clustered_differences(np.random.default_rng(3), n_families=40, icc=0.5)
    args = (sample.differences, np.zeros_like(sample.differences), sample.families)
    small, large = power_from_observed(*args, 0.1), power_from_observed(*args, 0.5)
    assert small["families_needed_lift"] > large["families_needed_lift"]
    assert small["families_needed"] > small["families_needed_lift"]  # the gap compares two samples
    assert small["power_now_lift"] < large["power_now_lift"]
    nothing = power_from_observed(*args, None)
    assert nothing["families_needed"] is None and nothing["note"] and nothing["n_families"] == 40


def test_power_is_defined_when_the_observed_variance_is_nearly_zero():
    import math

    from memgap.stats import power_at, power_from_observed

    assert power_at(0.5, 10, family_variance=1e-40) == 1.0
    # Every item improved by exactly 1: the variance components vanish but power is still a number.
    summary = power_from_observed([1.0] * 12, [0.0] * 12, [f"f{i}" for i in range(12)], effect=0.3)
    assert all(math.isfinite(summary[key]) for key in ("power_now_lift", "power_now_gap"))


def test_json_ready_writes_undefined_figures_as_null():
    from memgap.audit_document import json_ready

    assert json_ready({"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2}}) == {"a": None, "b": [1.0, None], "c": {"d": 2}}
