"""Set-level membership per family (dataset inference): exact under the null, powerful when planted."""
from __future__ import annotations

import numpy as np

from memgap.probes.set_level import family_test, holm, pooled_test, set_level_membership


def _null_groups(rng, n_families: int, icc: float = 0.5):
    groups = []
    for _ in range(n_families):
        level = rng.normal(0, np.sqrt(icc))
        members = level + rng.normal(0, np.sqrt(1 - icc), rng.integers(1, 4))
        siblings = level + rng.normal(0, np.sqrt(1 - icc), rng.integers(1, 3))
        groups.append((members, siblings))
    return groups


def test_the_pooled_test_rejects_at_most_alpha_of_never_trained_families():
    rng = np.random.default_rng(0)
    alpha, datasets = 0.1, 300
    rejections = sum(pooled_test(_null_groups(rng, 12), n_permutations=199, seed=index)[1] <= alpha
                     for index in range(datasets))
    # binomial(300, 0.1): mean 30, sd 5.2; a test that ignored the families would reject far more
    assert rejections / datasets <= alpha + 0.05


def test_the_per_family_test_is_exact_under_the_null():
    rng = np.random.default_rng(1)
    alpha = 0.25
    p_values = [family_test(rng.normal(size=3), rng.normal(size=2), rng=rng)[1] for _ in range(2000)]
    # exact enumeration over C(5,2) = 10 relabelings: P(p <= 0.2) = 0.2 <= alpha
    assert np.mean(np.asarray(p_values) <= alpha) <= alpha + 0.03


def test_a_planted_shift_is_detected_pooled_and_in_the_family_with_enough_rows():
    rng = np.random.default_rng(2)
    groups = [(members + 1.0, siblings) for members, siblings in _null_groups(rng, 20, icc=0.0)]
    assert pooled_test(groups, n_permutations=499)[1] < 0.01
    difference, p_value, smallest = family_test(rng.normal(2, 1, 12), rng.normal(0, 1, 12), rng=rng)
    assert difference > 1 and p_value < 0.01 and smallest < 1e-3


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]


def _rows(n_families: int, shift: float, seed: int):
    rng = np.random.default_rng(seed)
    rows = []
    for family in range(n_families):
        for index, holdout in enumerate(["train"] * 6 + ["seen"] * 6):
            base_loss = rng.normal(2.0, 0.3)
            gain = rng.normal(0.2 + (shift if holdout == "train" and family == 0 else 0.0), 0.1)
            common = {"id": f"{family}-{index}", "family": f"f{family}", "holdout": holdout, "member": holdout == "train"}
            rows.append({**common, "model": "base", "loss": base_loss, "min_k": -base_loss, "min_k_pp": 0.0})
            rows.append({**common, "model": "adapter", "loss": base_loss - gain, "min_k": -base_loss + gain,
                         "min_k_pp": gain, "ez": gain})
    return rows


def test_set_level_membership_names_the_trained_family_only():
    result = set_level_membership(_rows(5, shift=2.0, seed=0), alpha=0.05, n_permutations=499)
    assert result["n_families"] == 5 and result["scores_combined"][-1] == "ez"
    assert result["detectable_families"] == ["f0"]
    assert result["pooled"]["p_value"] < 0.05
    null = set_level_membership(_rows(5, shift=0.0, seed=1), alpha=0.05, n_permutations=499)
    assert null["detectable_families"] == []
