"""Family inference recovers planted augmentation families and does not chain through boilerplate."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from augmenter import GREETINGS, SIGNOFFS, planted_rows, planted_texts
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.families import assign_families, infer_families
from memgap.families.inference import label_clusters
from memgap.families.shingles import shingle_counts


@pytest.fixture(scope="module")
def planted():
    return planted_texts(250, seed=3)


def test_recovers_planted_families(planted):
    texts, truth = planted
    labels = infer_families(texts)
    assert adjusted_rand_score(truth, labels) >= 0.9


def test_beats_minhash_lsh_union_find_at_its_best_threshold(planted):
    pytest.importorskip("datasketch")
    import sys
    from pathlib import Path

    # The same baseline the benchmark measures against (benchmarks/families/baseline.py).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "families"))
    from baseline import lsh_union_find, minhashes

    texts, truth = planted
    signatures = minhashes(texts, num_perm=64)
    best = max(
        adjusted_rand_score(truth, lsh_union_find(signatures, threshold, num_perm=64)) for threshold in (0.3, 0.5, 0.7)
    )
    assert adjusted_rand_score(truth, infer_families(texts)) > best


def test_shared_boilerplate_alone_does_not_make_siblings():
    rng = np.random.default_rng(0)
    words = [f"w{index}" for index in range(2000)]
    texts = [
        f"{GREETINGS[i % len(GREETINGS)]}\n{' '.join(rng.choice(words, 12))}\n{SIGNOFFS[i % len(SIGNOFFS)]}"
        for i in range(200)
    ]
    labels = infer_families(texts)
    assert len(set(labels)) == len(texts)


def test_identical_and_unrelated_rows():
    labels = infer_families(["the quick brown fox jumps"] * 3 + ["a completely different sentence here", "yet another unrelated line of text"])
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_labels_are_numbered_by_first_appearance_and_deterministic(planted):
    texts, _ = planted
    labels = infer_families(texts)
    assert labels == infer_families(list(texts))
    seen = []
    for label in labels:
        if label not in seen:
            seen.append(label)
    assert seen == [f"f{number:04d}" for number in range(1, len(seen) + 1)]
    assert all(re.fullmatch(r"f\d{4,}", label) for label in labels)


def test_label_width_grows_past_9999_clusters():
    labels = label_clusters(np.arange(10_000)[::-1])
    assert labels[0] == "f00001" and labels[-1] == "f10000"


def test_empty_input_and_bad_threshold():
    assert infer_families([]) == []
    with pytest.raises(ValueError):
        infer_families(["a b c"], threshold=1.5)


def test_shingles_see_words_and_word_pairs():
    counts = shingle_counts(["alpha beta", "beta alpha", "alpha beta"])
    assert counts[0].nnz == 3  # alpha, beta, "alpha beta"
    assert (counts[0] != counts[2]).nnz == 0
    shared = counts[0].multiply(counts[1]).nnz
    assert shared == 2  # the unigrams, not the bigram


def _records(rows):
    return [Record(row["id"], row["completion"], prompt_text=row["prompt"], family=row.get("family"), row=row) for row in rows]


def test_assign_families_declared_inferred_and_missing():
    rows = planted_rows(40, seed=5)
    records = _records(rows)
    kept, source = assign_families(records, infer=False)
    assert source == "declared" and [r.family for r in kept] == [row["family"] for row in rows]
    inferred, source = assign_families(records, infer=True)
    assert source == "inferred"
    assert adjusted_rand_score([row["family"] for row in rows], [r.family for r in inferred]) >= 0.9
    unlabelled = _records([{key: value for key, value in row.items() if key != "family"} for row in rows])
    with pytest.raises(MemgapError, match=r"(?s)topic.*--infer"):
        assign_families(unlabelled, infer=False, family_field="topic")


def test_oversized_components_are_cut_before_linkage(planted, monkeypatch):
    import memgap.families.inference as inference

    texts, truth = planted
    monkeypatch.setattr(inference, "MAX_LINKAGE_COMPONENT", 4)
    labels = infer_families(texts, threshold=0.3)  # a low threshold makes large components
    assert len(labels) == len(texts)
    monkeypatch.setattr(inference, "MAX_LINKAGE_COMPONENT", 2000)
    assert adjusted_rand_score(truth, labels) > 0.2


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_batched_average_linkage_matches_scipy_fcluster(planted, threshold):
    from scipy.cluster.hierarchy import fcluster, linkage

    from memgap.families.inference import BATCHED_GROUP_SIZE, average_linkage_many
    from memgap.families.shingles import shingle_vectors

    texts, truth = planted
    vectors = shingle_vectors(texts).vectors
    order = np.argsort(np.asarray(truth), kind="stable")  # groups of whole families and their neighbours
    sizes = [2, 3, 7, 12, BATCHED_GROUP_SIZE, BATCHED_GROUP_SIZE + 9]  # both the batched and the per-group path
    groups = np.split(order[:sum(sizes)], np.cumsum(sizes)[:-1])
    clusters_seen = []
    for group, labels in zip(groups, average_linkage_many(vectors, groups, threshold)):
        rows = vectors[group]
        distance = np.clip(1.0 - (rows @ rows.T).toarray(), 0.0, None)
        expected = fcluster(linkage(distance[np.triu_indices(len(group), 1)], method="average"), t=1.0 - threshold, criterion="distance")
        assert adjusted_rand_score(expected, labels) == 1.0
        assert len(set(labels)) == len(set(expected))
        clusters_seen.append(len(set(labels)))
    assert any(1 < n < len(g) for n, g in zip(clusters_seen, groups))  # not all singletons, not one blob
