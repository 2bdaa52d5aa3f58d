"""How concentrated a data set is in its families, and how alike siblings are.

A hundred rows from five seed examples teach far less than a hundred independent rows; the report
says how many families really carry the data (effective number of families), how much the largest
ones hold, how alike siblings are compared with strangers, and, where families are both declared
and inferred, how well the two agree. Everything is JSON-ready; similarity is sampled so the cost
stays bounded at any size.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score

from memgap.families.shingles import pair_cosine, shingle_vectors

SIZE_BINS = (1, 2, 3, 5, 9, 17, 33, 65, 129)  # lower edges: 1, 2, 3-4, 5-8, ..., 129+


def concentration_report(
    families: Sequence[str],
    texts: Sequence[str] | None = None,
    *,
    inferred: Sequence[str] | None = None,
    seed: int = 0,
    max_pairs: int = 2000,
) -> dict:
    """The concentration report of a family labelling (see the module docstring).

    `texts` (one per row, e.g. `Record.full_text`) adds within- and between-family similarity from
    up to `max_pairs` sampled pairs each; `inferred` adds agreement with inferred families.
    """
    if texts is not None and len(texts) != len(families):
        raise ValueError(f"{len(texts)} texts for {len(families)} family labels")
    _, codes = np.unique(np.asarray(families, dtype=object).astype(str), return_inverse=True)
    sizes = np.bincount(codes) if len(codes) else np.zeros(0, dtype=np.int64)
    report: dict = {"rows": int(len(codes)), "families": int(len(sizes))}
    report.update(size_statistics(sizes))
    report["sizes"] = sorted((int(size) for size in sizes), reverse=True)  # rows per family, for plots
    if texts is not None:
        report["similarity"] = sampled_similarity(codes, texts, seed=seed, max_pairs=max_pairs)
    if inferred is not None:
        report["agreement"] = family_agreement(families, inferred)
    return report


def size_statistics(sizes: np.ndarray) -> dict:
    """Size distribution, top-decile share, effective number of families and singletons."""
    if len(sizes) == 0:
        return {"size": None, "largest_10pct_share": None, "effective_families": None, "singletons": 0}
    rows = int(sizes.sum())
    shares = sizes / rows
    largest = np.sort(sizes)[::-1][: max(1, math.ceil(0.1 * len(sizes)))]
    edges = list(SIZE_BINS) + [np.inf]
    histogram = {}
    for low, high in zip(edges[:-1], edges[1:]):
        label = str(low) if high == low + 1 else (f"{low}+" if np.isinf(high) else f"{low}-{int(high) - 1}")
        histogram[label] = int(((sizes >= low) & (sizes < high)).sum())
    singletons = int((sizes == 1).sum())
    return {
        "size": {
            "min": int(sizes.min()),
            "median": float(np.median(sizes)),
            "mean": float(sizes.mean()),
            "max": int(sizes.max()),
            "histogram": histogram,
        },
        "largest_10pct_share": float(largest.sum() / rows),
        "effective_families": {
            "entropy": float(np.exp(-(shares * np.log(shares)).sum())),
            "inverse_simpson": float(1.0 / (shares**2).sum()),
        },
        "singletons": singletons,
        "singleton_row_share": float(singletons / rows),
    }


def sampled_similarity(codes: np.ndarray, texts: Sequence[str], *, seed: int, max_pairs: int) -> dict:
    """Shingle cosine of sampled sibling pairs and sampled stranger pairs."""
    rng = np.random.default_rng(seed)
    n_rows = len(codes)
    sizes = np.bincount(codes)
    within_left, within_right = _sample_sibling_pairs(codes, sizes, rng, max_pairs)
    between_left = rng.integers(0, n_rows, size=max_pairs) if n_rows >= 2 else np.zeros(0, np.int64)
    between_right = rng.integers(0, n_rows, size=len(between_left))
    stranger = codes[between_left] != codes[between_right]
    between_left, between_right = between_left[stranger], between_right[stranger]
    involved = np.unique(np.concatenate([within_left, within_right, between_left, between_right]))
    if len(involved) == 0:
        return {"within_family": None, "between_family": None}
    # IDF from the sampled rows only keeps the cost bounded; boilerplate is still frequent there.
    vectors = shingle_vectors([texts[int(index)] for index in involved]).vectors
    position = np.full(n_rows, -1, dtype=np.int64)
    position[involved] = np.arange(len(involved))

    def summary(left: np.ndarray, right: np.ndarray) -> dict | None:
        if len(left) == 0:
            return None
        values = pair_cosine(vectors, position[left], position[right]).astype(np.float64)
        return {
            "pairs": int(len(values)),
            "mean": float(values.mean()),
            "median": float(np.median(values)),
            "p10": float(np.quantile(values, 0.1)),
            "p90": float(np.quantile(values, 0.9)),
        }

    return {"within_family": summary(within_left, within_right), "between_family": summary(between_left, between_right)}


def _sample_sibling_pairs(codes, sizes, rng, max_pairs):
    """Random rows of families with siblings, each paired with a random sibling."""
    candidates = np.flatnonzero(sizes[codes] >= 2)
    if len(candidates) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left = rng.choice(candidates, size=min(max_pairs, len(candidates)), replace=False)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    family = codes[left]
    # A uniform other member: draw among the first size-1 members; drawing the row itself
    # stands for the last member, which the draw never reaches.
    offsets = (rng.random(len(left)) * (sizes[family] - 1)).astype(np.int64)
    members_start = starts[family]
    right = order[members_start + offsets]
    clash = right == left
    right[clash] = order[members_start[clash] + sizes[family[clash]] - 1]
    return left.astype(np.int64), right.astype(np.int64)


def family_agreement(declared: Sequence[str], inferred: Sequence[str], *, examples: int = 5) -> dict:
    """Adjusted Rand index between declared and inferred families, and where they disagree."""
    if len(declared) != len(inferred):
        raise ValueError(f"{len(declared)} declared labels for {len(inferred)} inferred labels")
    declared_names, declared_codes = np.unique(np.asarray(declared, dtype=object).astype(str), return_inverse=True)
    _, inferred_codes = np.unique(np.asarray(inferred, dtype=object).astype(str), return_inverse=True)
    pairs = np.unique(np.stack([declared_codes, inferred_codes], axis=1), axis=0)
    inferred_per_declared = np.bincount(pairs[:, 0], minlength=len(declared_names))
    declared_per_inferred = np.bincount(pairs[:, 1])
    merging_clusters = np.flatnonzero(declared_per_inferred >= 2)
    merged = np.unique(pairs[np.isin(pairs[:, 1], merging_clusters), 0])
    split = np.flatnonzero(inferred_per_declared >= 2)
    return {
        "adjusted_rand_index": float(adjusted_rand_score(declared_codes, inferred_codes)),
        "declared_families": int(len(declared_names)),
        "inferred_families": int(len(declared_per_inferred)),
        "declared_split": int(len(split)),
        "declared_merged": int(len(merged)),
        "examples_split": [str(declared_names[index]) for index in split[:examples]],
        "examples_merged": [str(declared_names[index]) for index in merged[:examples]],
    }
