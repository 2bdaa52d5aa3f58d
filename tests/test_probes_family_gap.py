"""Family size against the per-family NLL gap: a planted rank correlation is recovered."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes.family_gap import _row_spearman, family_size_memorization, spearman_with_ci


def constant_nll(nll: float, n_tokens: int = 6) -> TokenStats:
    logprobs = np.full(n_tokens, -nll)
    return TokenStats(logprobs, logprobs, np.ones(n_tokens))


def planted(rho: float, n_families: int, seed: int):
    """Gaussian copula: family size rank-follows z1, NLL gap follows z2, corr(z1, z2) = rho."""
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n_families)
    sizes = 2 + np.argsort(np.argsort(z[:, 0]))  # distinct sizes, ordered as z1
    train, held_out, adapter = [], [], {}
    for family, (size, gap_z) in enumerate(zip(sizes, z[:, 1])):
        for row in range(size):
            record = Record(id=f"f{family}-t{row}", completion="x", family=f"f{family}")
            train.append(record)
            if row < 3:  # only a sample of training rows is scored, as in an audit
                adapter[record.id] = constant_nll(0.5)
        record = Record(id=f"f{family}-h", completion="x", family=f"f{family}")
        held_out.append(record)
        adapter[record.id] = constant_nll(0.5 + 0.3 * math.exp(gap_z))
    return train, held_out, adapter


def test_planted_positive_relation_is_found_and_ci_covers_the_truth():
    rho = 0.6
    truth = 6 / math.pi * math.asin(rho / 2)  # Spearman's rho of a Gaussian copula
    train, held_out, adapter = planted(rho, n_families=80, seed=7)
    result = family_size_memorization(train, held_out, adapter, n_resamples=2000)
    assert result["n_families"] == 80
    assert result["spearman"] > 0 and result["ci_low"] > 0
    assert result["ci_low"] <= truth <= result["ci_high"]
    point = result["points"][0]
    assert point["size"] == sum(record.family == point["family"] for record in train)
    assert point["n_train_scored"] == 3


def test_no_relation_gives_ci_covering_zero():
    train, held_out, adapter = planted(0.0, n_families=60, seed=11)
    result = family_size_memorization(train, held_out, adapter, n_resamples=1000)
    assert result["ci_low"] < 0 < result["ci_high"]


def test_vectorised_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, (4, 30)), rng.normal(size=(4, 30))
    expected = [scipy_stats.spearmanr(a, b).statistic for a, b in zip(x, y)]
    assert _row_spearman(x.astype(float), y) == pytest.approx(expected)


def test_too_few_families_gives_null_with_note():
    train, held_out, adapter = planted(0.5, n_families=2, seed=0)
    result = family_size_memorization(train, held_out, adapter)
    assert result["spearman"] is None and "note" in result and len(result["points"]) == 2


def test_constant_sizes_give_null_spearman():
    result = spearman_with_ci([3, 3, 3, 3], [0.1, 0.5, 0.2, 0.9])
    assert result["spearman"] is None


def test_mostly_tied_sizes_give_a_finite_ci_without_scipy_degenerate_warnings():
    import warnings

    sizes = [2] * 14 + [3, 5]  # most resamples draw only size-2 families: no ranks to correlate
    gaps = np.random.default_rng(1).normal(size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = spearman_with_ci(sizes, gaps, n_resamples=500)
    assert not [w for w in caught if issubclass(w.category, scipy_stats.DegenerateDataWarning)]
    assert math.isfinite(result["ci_low"]) and math.isfinite(result["ci_high"])
