"""Inferring augmentation families: near-duplicate clustering that does not chain through boilerplate.

Three steps, each chosen against what augmentation does to a seed example:
1. Candidates: every row picks its rarest shingles (lowest document frequency, seen at least twice)
   as anchors; rows holding one of them become candidate pairs. Siblings share the rare words of
   their seed (names, numbers, products), while greetings, sign-offs and template scaffolding are
   too frequent to be anchors, so candidate lists stay short at a million rows.
2. Verification: the exact TF-IDF cosine of every candidate pair; pairs above the threshold form a
   graph whose connected components bound the families.
3. Cohesion: inside each component, average-linkage clustering on the exact similarity matrix, cut
   at the same threshold. Average linkage never merges two groups joined by one stray link, which is
   how single-link union-find (MinHash-LSH plus union-find) chains unrelated rows into giant clusters.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from memgap.families.shingles import pair_cosine, shingle_vectors

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.4
ANCHORS_PER_ROW = 6
MAX_ANCHOR_DOCUMENT_FREQUENCY = 256
MAX_LINKAGE_COMPONENT = 2000


def infer_families(texts: Sequence[str], *, threshold: float | None = None, seed: int = 0) -> list[str]:
    """Family labels (`f0001`, ... in order of first appearance) for near-duplicate texts.

    `threshold` is the cosine similarity of IDF-weighted word 1-2-grams above which two rows are
    siblings (default 0.4). Inference is deterministic; `seed` is accepted for a uniform API and
    does not change the result.
    """
    del seed  # nothing random: hashing, anchor choice and linkage are all deterministic
    threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    if len(texts) == 0:
        return []
    cluster_ids = cluster_texts(texts, threshold=threshold)
    return label_clusters(cluster_ids)


def cluster_texts(texts: Sequence[str], *, threshold: float) -> np.ndarray:
    """An integer cluster id per text (arbitrary numbering)."""
    shingles = shingle_vectors(texts)
    vectors = shingles.vectors
    left, right = candidate_pairs(vectors, shingles.document_frequency)
    similarity = pair_cosine(vectors, left, right)
    keep = similarity >= threshold
    left, right, similarity = left[keep], right[keep], similarity[keep]
    logger.debug("%d rows, %d sibling edges above %.2f", len(texts), len(left), threshold)
    return _cohesive_clusters(vectors, left, right, similarity, threshold)


def candidate_pairs(
    vectors: sp.csr_matrix,
    document_frequency: np.ndarray,
    *,
    anchors_per_row: int = ANCHORS_PER_ROW,
    max_anchor_frequency: int = MAX_ANCHOR_DOCUMENT_FREQUENCY,
    chunk_rows: int = 20_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j) where j holds one of i's anchor shingles or i one of j's."""
    n_rows = vectors.shape[0]
    anchors = _anchor_matrix(vectors, document_frequency, anchors_per_row, max_anchor_frequency)
    eligible_columns = (document_frequency >= 2) & (document_frequency <= max_anchor_frequency)
    presence = vectors.copy()
    presence.data = eligible_columns[presence.indices].astype(np.float32)
    presence.eliminate_zeros()
    presence_t = presence.T.tocsr()
    codes = []
    for start in range(0, n_rows, chunk_rows):
        block = (anchors[start:start + chunk_rows] @ presence_t).tocoo()
        rows = block.row.astype(np.int64) + start
        cols = block.col.astype(np.int64)
        off_diagonal = rows != cols
        low = np.minimum(rows[off_diagonal], cols[off_diagonal])
        high = np.maximum(rows[off_diagonal], cols[off_diagonal])
        codes.append(np.unique(low * n_rows + high))
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    unique = np.unique(np.concatenate(codes))
    return unique // n_rows, unique % n_rows


def _anchor_matrix(vectors: sp.csr_matrix, document_frequency: np.ndarray, per_row: int, max_frequency: int) -> sp.csr_matrix:
    """Each row's `per_row` rarest shingles among those seen in 2..max_frequency rows."""
    n_rows, n_columns = vectors.shape
    row_of_entry = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(vectors.indptr))
    frequency = document_frequency[vectors.indices]
    eligible = (frequency >= 2) & (frequency <= max_frequency)
    # Sort entries by (row, frequency, column) in one int64 key; ineligible entries sort last.
    rank_key = np.where(eligible, frequency, max_frequency + 1).astype(np.int64)
    order = np.lexsort((vectors.indices, rank_key, row_of_entry))
    rank_in_row = np.arange(len(order), dtype=np.int64) - vectors.indptr[row_of_entry[order]]
    chosen = order[(rank_in_row < per_row) & eligible[order]]
    data = np.ones(len(chosen), dtype=np.float32)
    return sp.csr_matrix((data, (row_of_entry[chosen], vectors.indices[chosen])), shape=(n_rows, n_columns))


def _cohesive_clusters(
    vectors: sp.csr_matrix, left: np.ndarray, right: np.ndarray, similarity: np.ndarray, threshold: float
) -> np.ndarray:
    n_rows = vectors.shape[0]
    graph = sp.coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n_rows, n_rows))
    _, component = connected_components(graph, directed=False)
    cluster_ids = component.astype(np.int64)
    next_id = int(cluster_ids.max()) + 1 if n_rows else 0
    sizes = np.bincount(component)
    order = np.argsort(component, kind="stable")
    boundaries = np.concatenate([[0], np.cumsum(sizes)])
    edge_component = component[left]
    for component_id in np.flatnonzero(sizes >= 3):
        members = order[boundaries[component_id]:boundaries[component_id + 1]]
        in_component = edge_component == component_id
        for labels, nodes in _split_component(
            vectors, members, left[in_component], right[in_component], similarity[in_component], threshold, threshold
        ):
            cluster_ids[nodes] = labels + next_id
            next_id += int(labels.max()) + 1
    return cluster_ids


def _split_component(vectors, members, left, right, similarity, threshold, edge_threshold):
    """Yield (local labels, member rows) from average linkage; oversized components are first cut
    at a stricter edge threshold so the dense matrix stays small."""
    if len(members) <= MAX_LINKAGE_COMPONENT:
        yield _average_linkage(vectors[members], threshold), members
        return
    stricter = min(edge_threshold + 0.05, 0.999)
    logger.info("component of %d rows: splitting at edge similarity %.2f before linkage", len(members), stricter)
    position = {int(row): index for index, row in enumerate(members)}
    keep = similarity >= stricter
    local_left = np.array([position[int(row)] for row in left[keep]], dtype=np.int64)
    local_right = np.array([position[int(row)] for row in right[keep]], dtype=np.int64)
    graph = sp.coo_matrix((np.ones(len(local_left), np.int8), (local_left, local_right)), shape=(len(members),) * 2)
    _, parts = connected_components(graph, directed=False)
    if stricter >= 0.999 and parts.max() == 0:
        yield np.zeros(len(members), dtype=np.int64), members  # identical rows: one family
        return
    for part in np.unique(parts):
        inside = parts == part
        sub_members = members[inside]
        sub_set = np.zeros(vectors.shape[0], dtype=bool)
        sub_set[sub_members] = True
        edge_inside = sub_set[left] & sub_set[right]
        yield from _split_component(
            vectors, sub_members, left[edge_inside], right[edge_inside], similarity[edge_inside], threshold, stricter
        )


def _average_linkage(rows: sp.csr_matrix, threshold: float) -> np.ndarray:
    """Average-linkage clusters of a few rows, cut where mean similarity falls below `threshold`."""
    similarity = (rows @ rows.T).toarray().astype(np.float64)
    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance").astype(np.int64) - 1


def label_clusters(cluster_ids: Sequence[int] | np.ndarray) -> list[str]:
    """Stable labels `f0001`, `f0002`, ... numbered by each cluster's first row."""
    cluster_ids = np.asarray(cluster_ids)
    _, first_index, inverse = np.unique(cluster_ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first_index), dtype=np.int64)
    rank[np.argsort(first_index, kind="stable")] = np.arange(len(first_index))
    width = max(4, len(str(len(first_index))))
    return [f"f{number + 1:0{width}d}" for number in rank[inverse.ravel()]]
