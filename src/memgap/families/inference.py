"""Inferring augmentation families: near-duplicate clustering that does not chain through boilerplate.

Rows become TF-IDF vectors of word-unit 1-2-grams (`shingles.py`, units of `memgap.words`, any
script), without boilerplate (shingles in more than 80 % of the rows: a footer, a system prompt,
one template's scaffolding) and without shingles of one row only. Then three steps, each chosen against
what augmentation does to a seed example:
1. Candidates: every row picks its 6 rarest shingles (lowest document frequency, seen at least
   twice) as anchors; rows holding two of them become candidate pairs. Siblings share the rare
   words of their seed (names, numbers, products), while greetings, sign-offs and template
   scaffolding are too frequent to be anchors, so candidate lists stay short at a million rows.
   Where families own no rare word (each one assembled from slots every family draws from: a
   product, a fault, steps, a closer), a row's rarest shingles are augmentation noise its siblings
   lack; rows that find no sibling this way look again with 24 anchors.
2. Verification: the exact TF-IDF cosine of every candidate pair; pairs above the threshold (0.53)
   form a graph whose connected components bound the families.
3. Cohesion: inside each component, average-linkage clustering on the exact similarity matrix, cut
   at the same threshold. Average linkage never merges two groups joined by one stray link, which is
   how single-link union-find (MinHash-LSH plus union-find) chains unrelated rows into giant clusters.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import linkage
from scipy.sparse.csgraph import connected_components

from memgap.families.shingles import pair_cosine, shingle_vectors

logger = logging.getLogger(__name__)

# The cosine at or above which the leakage audit's nearest-neighbour check counts an evaluation row
# as seen.
DEFAULT_THRESHOLD = 0.5
# The similarity of sibling edges and the mean similarity a family keeps under average linkage.
# Above the leakage audit's 0.5: at 0.5 families that share a topic's sentences or slot phrases (a
# product, a fault, half their steps) merged once the second look in `sibling_edges` finds more
# edges. 0.53 scored higher than 0.5 on every planted set measured but the most heavily augmented;
# 0.55 lost more there, and made a footer kept in every row cost too little to show what the
# boilerplate filter is for (docs/families.md has the figures).
FAMILY_THRESHOLD = 0.53
ANCHORS_PER_ROW = 6
ANCHORS_PER_ISOLATED_ROW = 24
ISOLATED_MIN_SHARED = 4
MAX_ANCHOR_DOCUMENT_FREQUENCY = 256
MAX_LINKAGE_COMPONENT = 2000
BATCHED_GROUP_SIZE = 64


def infer_families(
    texts: Sequence[str],
    *,
    threshold: float | None = None,
    boilerplate_share: float | None = None,
) -> list[str]:
    """Family labels (`f0001`, ... in order of first appearance) for near-duplicate texts.

    Parameters:
        texts: the rows (e.g. `Record.full_text`), any script.
        threshold: the cosine similarity of IDF-weighted word-unit 1-2-grams above which two rows
            are siblings, and the mean similarity a family keeps under average linkage (default
            `FAMILY_THRESHOLD`, 0.53).
        boilerplate_share: shingles in more than this share of rows are boilerplate and left out
            (default `shingles.BOILERPLATE_SHARE`, 0.8; 1.0 keeps them all).
    Raises ValueError on a threshold outside (0, 1) or a share outside (0, 1].
    """
    # Nothing random, so no seed: hashing, anchor choice and linkage are all deterministic.
    threshold = FAMILY_THRESHOLD if threshold is None else float(threshold)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    if len(texts) == 0:
        return []
    cluster_ids = cluster_texts(texts, threshold=threshold, boilerplate_share=boilerplate_share)
    return label_clusters(cluster_ids)


def cluster_texts(texts: Sequence[str], *, threshold: float, boilerplate_share: float | None = None) -> np.ndarray:
    """An integer cluster id per text (arbitrary numbering)."""
    # Shingles of one row only cannot make two rows alike, only lower the similarity of the row
    # that holds them (typos, one-off fillers): measured to split fewer heavily augmented families.
    shingles = shingle_vectors(texts, boilerplate_share=boilerplate_share, drop_unique=True)
    vectors = shingles.vectors
    left, right, similarity = sibling_edges(vectors, shingles.document_frequency, threshold)
    logger.debug("%d rows, %d sibling edges above %.2f", len(texts), len(left), threshold)
    return _cohesive_clusters(vectors, left, right, similarity, threshold)


def sibling_edges(
    vectors: sp.csr_matrix, document_frequency: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (i < j) whose cosine is at or above `threshold`, and that cosine.

    A row's rarest shingles can all be augmentation noise its siblings lack (a filler's word pairs,
    a synonym swapped in, a step moved next to another): where families own no rare word (each
    assembled from products, faults and steps that all families draw from), such a row finds no
    sibling. Rows left without one look again with `ANCHORS_PER_ISOLATED_ROW` (24) anchors, of
    which a candidate must hold `ISOLATED_MIN_SHARED` (4): two of 24 mostly mid-frequency anchors
    are shared by chance and doubled the pairs to verify. Where families do own rare words such
    rows are few (2 % of `tests/augmenter.py`'s), so the second look costs little.
    """
    n_rows = vectors.shape[0]
    left, right = candidate_pairs(vectors, document_frequency)
    similarity = pair_cosine(vectors, left, right)
    above = similarity >= threshold
    isolated = np.flatnonzero(np.bincount(np.concatenate([left[above], right[above]]), minlength=n_rows) == 0)
    if len(isolated):
        more_left, more_right = candidate_pairs(
            vectors, document_frequency, from_rows=isolated,
            anchors_per_row=ANCHORS_PER_ISOLATED_ROW, min_shared=ISOLATED_MIN_SHARED,
        )
        new = ~np.isin(more_left * n_rows + more_right, left * n_rows + right)
        more_left, more_right = more_left[new], more_right[new]
        left, right = np.concatenate([left, more_left]), np.concatenate([right, more_right])
        similarity = np.concatenate([similarity, pair_cosine(vectors, more_left, more_right)])
    keep = similarity >= threshold
    return left[keep], right[keep], similarity[keep]


def candidate_pairs(
    vectors: sp.csr_matrix,
    document_frequency: np.ndarray,
    *,
    anchors_per_row: int = ANCHORS_PER_ROW,
    max_anchor_frequency: int = MAX_ANCHOR_DOCUMENT_FREQUENCY,
    chunk_rows: int = 20_000,
    from_rows: np.ndarray | None = None,
    min_shared: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j) where j holds `min_shared` of i's anchor shingles or i of j's (all of
    them, for a row with fewer). `from_rows`: take anchors from these rows only (default all)."""
    n_rows = vectors.shape[0]
    anchor_rows = np.arange(n_rows) if from_rows is None else np.asarray(from_rows, dtype=np.int64)
    anchors = _anchor_matrix(vectors if from_rows is None else vectors[anchor_rows], document_frequency,
                             anchors_per_row, max_anchor_frequency)
    anchors_of_row = np.diff(anchors.indptr)
    eligible_columns = (document_frequency >= 2) & (document_frequency <= max_anchor_frequency)
    presence = vectors.copy()
    presence.data = eligible_columns[presence.indices].astype(np.float32)
    presence.eliminate_zeros()
    presence_t = presence.T.tocsr()
    codes = []
    for start in range(0, anchors.shape[0], chunk_rows):
        block = (anchors[start:start + chunk_rows] @ presence_t).tocoo()
        local = block.row.astype(np.int64) + start
        rows, cols = anchor_rows[local], block.col.astype(np.int64)
        # One shared rare shingle is often chance at scale; ask for two unless a row has only one.
        # (Asking for three halves the pairs to verify but lost siblings on small data sets.)
        enough = (block.data >= np.minimum(min_shared, anchors_of_row[local])) & (rows != cols)
        rows, cols = rows[enough], cols[enough]
        codes.append(np.minimum(rows, cols) * n_rows + np.maximum(rows, cols))
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    unique = _sorted_unique(np.concatenate(codes))
    return unique // n_rows, unique % n_rows


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy's hash-based unique measured ~10x slower on these int64 codes."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _anchor_matrix(vectors: sp.csr_matrix, document_frequency: np.ndarray, per_row: int, max_frequency: int) -> sp.csr_matrix:
    """Each row's `per_row` rarest shingles among those seen in 2..max_frequency rows."""
    blocks = []
    for start in range(0, vectors.shape[0], 50_000):
        block = vectors[start:start + 50_000]
        n_rows = block.shape[0]
        row_of_entry = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(block.indptr))
        frequency = document_frequency[block.indices]
        eligible = np.flatnonzero((frequency >= 2) & (frequency <= max_frequency))
        rows, columns = row_of_entry[eligible], block.indices[eligible].astype(np.int64)
        # Sort by (row, frequency, column) with one int64 key; ties between equally rare
        # shingles fall to the column so the choice is deterministic.
        key = (rows * (max_frequency + 1) + frequency[eligible]) * vectors.shape[1] + columns
        order = np.argsort(key, kind="stable")
        rows, columns = rows[order], columns[order]
        first_of_row = np.searchsorted(rows, rows, side="left")
        chosen = (np.arange(len(rows)) - first_of_row) < per_row
        data = np.ones(int(chosen.sum()), dtype=np.float32)
        blocks.append(sp.csr_matrix((data, (rows[chosen], columns[chosen])), shape=block.shape))
    return sp.vstack(blocks, format="csr")


def _cohesive_clusters(
    vectors: sp.csr_matrix, left: np.ndarray, right: np.ndarray, similarity: np.ndarray, threshold: float
) -> np.ndarray:
    """Connected components of the sibling graph, split by average linkage where not all members
    are pairwise siblings (a clique needs no check: every average is above the threshold)."""
    n_rows = vectors.shape[0]
    graph = sp.coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n_rows, n_rows))
    _, component = connected_components(graph, directed=False)
    cluster_ids = component.astype(np.int64)
    next_id = int(cluster_ids.max()) + 1 if n_rows else 0
    sizes = np.bincount(component)
    edges_per_component = np.bincount(component[left], minlength=len(sizes))
    not_clique = np.flatnonzero(edges_per_component < sizes * (sizes - 1) // 2)
    if len(not_clique) == 0:
        return cluster_ids
    row_order = np.argsort(component, kind="stable")
    row_bounds = np.concatenate([[0], np.cumsum(sizes)])
    edge_order = np.argsort(component[left], kind="stable")
    edge_bounds = np.concatenate([[0], np.cumsum(edges_per_component)])
    small, parts = [], []
    for component_id in not_clique:
        members = row_order[row_bounds[component_id]:row_bounds[component_id + 1]]
        if len(members) <= MAX_LINKAGE_COMPONENT:
            small.append(members)
            continue
        edges = edge_order[edge_bounds[component_id]:edge_bounds[component_id + 1]]
        parts.extend(_split_component(vectors, members, left[edges], right[edges], similarity[edges], threshold, threshold))
    parts.extend(zip(average_linkage_many(vectors, small, threshold), small))
    for labels, nodes in parts:
        cluster_ids[nodes] = labels + next_id
        next_id += int(labels.max()) + 1
    return cluster_ids


def _split_component(vectors, members, left, right, similarity, threshold, edge_threshold):
    """Yield (local labels, member rows) from average linkage; oversized components are first cut
    at a stricter edge threshold so the dense similarity matrix stays small."""
    if len(members) == 1:
        yield np.zeros(1, dtype=np.int64), members
        return
    if len(members) <= MAX_LINKAGE_COMPONENT:
        yield average_linkage_many(vectors, [members], threshold)[0], members
        return
    if edge_threshold >= 0.99:
        yield np.zeros(len(members), dtype=np.int64), members  # near-identical rows: one family
        return
    stricter = min(edge_threshold + 0.05, 0.99)
    logger.info("component of %d rows: cutting at edge similarity %.2f before linkage", len(members), stricter)
    keep = similarity >= stricter
    left, right, similarity = left[keep], right[keep], similarity[keep]
    members = np.sort(members)
    local_left, local_right = np.searchsorted(members, left), np.searchsorted(members, right)
    graph = sp.coo_matrix((np.ones(len(left), np.int8), (local_left, local_right)), shape=(len(members),) * 2)
    n_parts, parts = connected_components(graph, directed=False)
    row_order = np.argsort(parts, kind="stable")
    row_bounds = np.concatenate([[0], np.cumsum(np.bincount(parts, minlength=n_parts))])
    edge_order = np.argsort(parts[local_left], kind="stable")
    edge_bounds = np.concatenate([[0], np.cumsum(np.bincount(parts[local_left], minlength=n_parts))])
    for part in range(n_parts):
        edges = edge_order[edge_bounds[part]:edge_bounds[part + 1]]
        yield from _split_component(
            vectors, members[row_order[row_bounds[part]:row_bounds[part + 1]]],
            left[edges], right[edges], similarity[edges], threshold, stricter,
        )


def average_linkage_many(vectors: sp.csr_matrix, groups: Sequence[np.ndarray], threshold: float) -> list[np.ndarray]:
    """Average-linkage clusters inside each group of rows, cut where mean similarity falls below
    `threshold`; one array of local labels per group."""
    return [
        _cut_average_linkage(len(group), distance, 1.0 - threshold)
        for group, distance in zip(groups, _condensed_distances(vectors, groups))
    ]


def _condensed_distances(vectors: sp.csr_matrix, groups: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Cosine distances inside each group, in scipy's condensed order. Small groups share one
    batched pair computation: slicing and multiplying once per group cost more than the clustering
    itself on the thousands of small groups of 100k rows. Large groups use one sparse product each."""
    distances: list[np.ndarray | None] = [None] * len(groups)
    small = [k for k, group in enumerate(groups) if len(group) <= BATCHED_GROUP_SIZE]
    if small:
        pairs = [_upper_pairs(len(groups[k])) for k in small]
        left = np.concatenate([groups[k][i] for k, (i, _) in zip(small, pairs)])
        right = np.concatenate([groups[k][j] for k, (_, j) in zip(small, pairs)])
        similarity = pair_cosine(vectors, left, right)
        bounds = np.cumsum([0] + [len(i) for i, _ in pairs])
        for position, k in enumerate(small):
            distances[k] = similarity[bounds[position]:bounds[position + 1]]
    for k, group in enumerate(groups):
        if distances[k] is None:
            rows = vectors[group]
            distances[k] = (rows @ rows.T).toarray()[_upper_pairs(len(group))]
    return [np.clip(1.0 - d.astype(np.float64), 0.0, None) for d in distances]


_UPPER_PAIRS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _upper_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with i < j in scipy's condensed distance order; kept for the small sizes that recur."""
    if size > BATCHED_GROUP_SIZE:
        return np.triu_indices(size, 1)
    if size not in _UPPER_PAIRS:
        _UPPER_PAIRS[size] = np.triu_indices(size, 1)
    return _UPPER_PAIRS[size]


def _cut_average_linkage(size: int, condensed_distance: np.ndarray, cutoff: float) -> np.ndarray:
    """Flat clusters of one average-linkage tree: the merges at height <= cutoff, as scipy's
    fcluster(criterion="distance") forms them. Average linkage is monotone, so those merges are
    whole subtrees; following them directly skips fcluster's per-call validation, which dominated
    on thousands of tiny groups."""
    tree = linkage(condensed_distance, method="average")
    parent = np.arange(2 * size - 1)
    for step, (a, b, height, _) in enumerate(tree):
        if height <= cutoff:
            parent[int(a)] = parent[int(b)] = size + step
    root = parent.copy()
    for node in range(2 * size - 2, -1, -1):  # children come before parents: top-down fills roots
        root[node] = root[parent[node]] if parent[node] != node else node
    _, labels = np.unique(root[:size], return_inverse=True)
    return labels.astype(np.int64)


def label_clusters(cluster_ids: Sequence[int] | np.ndarray) -> list[str]:
    """Stable labels `f0001`, `f0002`, ... numbered by each cluster's first row."""
    cluster_ids = np.asarray(cluster_ids)
    _, first_index, inverse = np.unique(cluster_ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first_index), dtype=np.int64)
    rank[np.argsort(first_index, kind="stable")] = np.arange(len(first_index))
    width = max(4, len(str(len(first_index))))
    return [f"f{number + 1:0{width}d}" for number in rank[inverse.ravel()]]
