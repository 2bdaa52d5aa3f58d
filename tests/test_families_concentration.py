"""The concentration report's figures match their definitions on labellings small enough to check."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy
from sklearn.metrics import adjusted_rand_score

from augmenter import planted_texts
from memgap.families import concentration_report


def test_sizes_shares_and_effective_number():
    labels = ["a"] * 6 + ["b"] * 2 + ["c", "d", "e", "f", "g", "h", "i", "j"]
    report = concentration_report(labels)
    sizes = np.array([6, 2, 1, 1, 1, 1, 1, 1, 1, 1])
    shares = sizes / sizes.sum()
    assert report["rows"] == 16 and report["families"] == 10 and report["singletons"] == 8
    assert report["size"]["min"] == 1 and report["size"]["max"] == 6 and report["size"]["median"] == 1.0
    assert report["largest_10pct_share"] == pytest.approx(6 / 16)
    assert report["effective_families"]["entropy"] == pytest.approx(math.exp(entropy(shares)))
    assert report["effective_families"]["inverse_simpson"] == pytest.approx(1 / (shares**2).sum())
    assert sum(report["size"]["histogram"].values()) == 10
    assert report["size"]["histogram"]["1"] == 8 and report["size"]["histogram"]["5-8"] == 1


def test_even_families_have_full_effective_number():
    report = concentration_report([f"f{i % 7}" for i in range(70)])
    assert report["effective_families"]["entropy"] == pytest.approx(7)
    assert report["effective_families"]["inverse_simpson"] == pytest.approx(7)


def test_siblings_are_more_alike_than_strangers_and_sampling_is_bounded():
    texts, truth = planted_texts(60, min_size=2, seed=4)
    report = concentration_report(truth, texts, max_pairs=50)
    within, between = report["similarity"]["within_family"], report["similarity"]["between_family"]
    assert within["pairs"] == 50 and between["pairs"] <= 50
    assert within["mean"] > between["mean"] + 0.3


def test_agreement_counts_splits_and_merges():
    declared = ["a", "a", "a", "b", "b", "c", "c", "d"]
    inferred = ["x", "x", "y", "z", "z", "z", "z", "w"]  # a split in two; b and c merged
    agreement = concentration_report(declared, inferred=inferred)["agreement"]
    assert agreement["adjusted_rand_index"] == pytest.approx(adjusted_rand_score(declared, inferred))
    assert agreement["declared_split"] == 1 and agreement["examples_split"] == ["a"]
    assert agreement["declared_merged"] == 2 and agreement["examples_merged"] == ["b", "c"]
    same = concentration_report(declared, inferred=[name.upper() for name in declared])["agreement"]
    assert same["adjusted_rand_index"] == 1.0 and same["declared_split"] == same["declared_merged"] == 0
