"""The baseline family inference the benchmark compares against: datasketch MinHash-LSH on word
3-grams with union-find over every LSH hit (the usual near-duplicate recipe)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH
from scipy.cluster.hierarchy import DisjointSet


def word_3grams(text: str) -> list[bytes]:
    words = text.lower().split()
    if len(words) < 3:
        return [" ".join(words).encode("utf-8")]
    return [" ".join(words[i:i + 3]).encode("utf-8") for i in range(len(words) - 2)]


def minhashes(texts: Sequence[str], num_perm: int = 128) -> list[MinHash]:
    """One MinHash per text (datasketch's bulk constructor, its fastest path)."""
    return list(MinHash.bulk([word_3grams(text) for text in texts], num_perm=num_perm))


def lsh_union_find(signatures: Sequence[MinHash], threshold: float, num_perm: int = 128) -> np.ndarray:
    """Cluster ids from MinHashLSH candidates joined by union-find."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for index, signature in enumerate(signatures):
        lsh.insert(index, signature)
    groups = DisjointSet(range(len(signatures)))
    for index, signature in enumerate(signatures):
        for other in lsh.query(signature):
            groups.merge(index, other)
    root_ids: dict[int, int] = {}
    return np.array([root_ids.setdefault(groups[index], len(root_ids)) for index in range(len(signatures))])
