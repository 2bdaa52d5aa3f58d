"""Texts to weighted shingle vectors: the representation family inference and leakage compare.

Shingles are word 1- and 2-grams, hashed (no vocabulary to hold at a million rows), weighted by
inverse document frequency so that boilerplate every row shares (greetings, sign-offs, template
scaffolding) counts for little and the rare words that make a seed example unique count for much.
Unigrams keep siblings close when sentences or steps are reordered; bigrams separate rows that
merely use the same words.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

WORD_PATTERN = r"(?u)\b\w+\b"
N_HASHED_FEATURES = 2**22


@dataclass(frozen=True)
class ShingleVectors:
    """L2-normalised TF-IDF rows and the document frequency of every hashed shingle."""

    vectors: sp.csr_matrix
    document_frequency: np.ndarray


def shingle_counts(texts: Sequence[str], *, ngram_range: tuple[int, int] = (1, 2)) -> sp.csr_matrix:
    """Hashed shingle counts, one row per text."""
    vectorizer = HashingVectorizer(
        analyzer="word",
        token_pattern=WORD_PATTERN,
        ngram_range=ngram_range,
        n_features=N_HASHED_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=True,
        dtype=np.float32,
    )
    return vectorizer.transform(texts).tocsr()


def shingle_vectors(texts: Sequence[str], *, ngram_range: tuple[int, int] = (1, 2)) -> ShingleVectors:
    """TF-IDF shingle vectors fitted on `texts` themselves (the corpus defines what is boilerplate)."""
    counts = shingle_counts(texts, ngram_range=ngram_range)
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
    transformer = TfidfTransformer(sublinear_tf=True, norm="l2")
    vectors = transformer.fit_transform(counts).astype(np.float32).tocsr()
    return ShingleVectors(vectors=vectors, document_frequency=document_frequency)


def pair_cosine(vectors: sp.csr_matrix, left: np.ndarray, right: np.ndarray, *, chunk: int = 200_000) -> np.ndarray:
    """Cosine similarity of row pairs (left[k], right[k]) of L2-normalised rows, in bounded memory."""
    out = np.empty(len(left), dtype=np.float32)
    for start in range(0, len(left), chunk):
        stop = start + chunk
        product = vectors[left[start:stop]].multiply(vectors[right[start:stop]])
        out[start:stop] = np.asarray(product.sum(axis=1)).ravel()
    return out
