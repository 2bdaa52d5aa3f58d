"""Texts to weighted shingle vectors: the representation family inference and leakage compare.

Shingles are 1- and 2-grams of `memgap.words.shingle_units` (NFKC, case-folded, Unicode word
boundaries; character bigrams in scripts written without spaces, so character 2-3-grams there)
hashed into a fixed column space (no vocabulary of n-grams to hold at a million rows). Boilerplate
is removed twice over: shingles found in more than `BOILERPLATE_SHARE` of the rows (one footer or
system prompt in every row, the scaffolding of a one-template data set) are dropped outright, and
TF-IDF weights what remains, so that the rare words that make a seed example unique count for
much and shared topic words for little.
Unigrams keep siblings close when sentences or steps are reordered; bigrams separate rows that
merely use the same words.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from memgap.words import spaced_words

HASH_BITS = 24
# A shingle in more than 80 % of the rows is boilerplate (a footer, a system prompt, the scaffolding
# of one template). Half, as "most rows" would say, was measured to drop the content of a family
# that holds most of a small data set and split it (docs/families.md has the figures).
BOILERPLATE_SHARE = 0.8
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class ShingleVectors:
    """L2-normalised TF-IDF rows and the document frequency of every hashed shingle."""

    vectors: sp.csr_matrix
    document_frequency: np.ndarray


def shingle_counts(texts: Sequence[str], *, chunk_rows: int = 20_000) -> sp.csr_matrix:
    """Hashed 1- and 2-gram counts of `shingle_units`, one row per text (shape (len(texts), 2**HASH_BITS))."""
    blocks = [_count_block(texts[start:start + chunk_rows]) for start in range(0, len(texts), chunk_rows)]
    if not blocks:
        return sp.csr_matrix((0, 1 << HASH_BITS), dtype=np.float32)
    return sp.vstack(blocks, format="csr")


# Word bytes of `spaced_words` output: ASCII letters, digits, underscore, and every byte of a
# multi-byte UTF-8 character (that text holds non-ASCII characters only inside its units).
_WORD_BYTE = np.zeros(256, dtype=bool)
for _low, _high in ((ord("a"), ord("z")), (ord("A"), ord("Z")), (ord("0"), ord("9")), (128, 255)):
    _WORD_BYTE[_low:_high + 1] = True
_WORD_BYTE[ord("_")] = True
_BASE = 1_000_003
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_BIGRAM_MIX = np.uint64(0xC2B2AE3D27D4EB4F)


def _count_block(texts: Sequence[str]) -> sp.csr_matrix:
    """Word 1-2-gram counts of a block of texts, tokenised and hashed in numpy.

    Written by hand rather than with sklearn's HashingVectorizer(ngram_range=(1, 2)) or a regex:
    a polynomial rolling hash over the bytes of the whole block, read between word boundaries,
    measured several times faster on short rows, and tokenising is most of the cost of inference
    at a million rows.
    """
    encoded = [spaced_words(text).encode("utf-8") for text in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    row_start = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    data = np.frombuffer(b" ".join(encoded) + b" ", dtype=np.uint8)
    is_word = _WORD_BYTE[data]
    previous_is_word = np.concatenate([[False], is_word[:-1]])
    token_start = np.flatnonzero(is_word & ~previous_is_word)
    token_end = np.flatnonzero(~is_word & previous_is_word)  # exclusive; the trailing space ends the last word
    with np.errstate(over="ignore"):
        powers = np.full(len(data), _BASE, dtype=np.uint64)
        powers[0] = 1
        np.cumprod(powers, out=powers)
        prefix = np.zeros(len(data) + 1, dtype=np.uint64)
        np.cumsum((data.astype(np.uint64) + np.uint64(1)) * powers, out=prefix[1:])
        powers.fill(_BASE_INVERSE)  # reuse the buffer for BASE^-i, which shifts each word's hash to position 0
        powers[0] = 1
        np.cumprod(powers, out=powers)
        words = (prefix[token_end] - prefix[token_start]) * powers[token_start]
        del powers, prefix
        words ^= (token_end - token_start).astype(np.uint64) << np.uint64(56)
        row_of_token = np.searchsorted(row_start, token_start, side="right") - 1
        same_row = row_of_token[:-1] == row_of_token[1:]
        bigrams = (words[:-1][same_row] * _BIGRAM_MIX) ^ (words[1:][same_row] + _BIGRAM_MIX)
        codes = np.concatenate([words, bigrams])
        columns = ((codes * _GOLDEN) >> np.uint64(64 - HASH_BITS)).astype(np.int64)
    rows = np.concatenate([row_of_token, row_of_token[:-1][same_row]])
    counts = sp.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (rows, columns)), shape=(len(texts), 1 << HASH_BITS)
    )
    counts.sum_duplicates()
    return counts


def shingle_vectors(
    texts: Sequence[str],
    *,
    boilerplate_share: float | None = None,
    boilerplate_rows: int | None = None,
    drop_unique: bool = False,
) -> ShingleVectors:
    """TF-IDF shingle vectors fitted on `texts` themselves (the corpus defines what is boilerplate).

    Parameters:
        texts: the rows, any script.
        boilerplate_share: shingles in more than this share of the rows are dropped, as
            scikit-learn's `max_df` drops them (default `BOILERPLATE_SHARE`; 1.0 keeps all).
        boilerplate_rows: judge that share on the first `boilerplate_rows` rows only (the
            training side of a leakage audit); default all rows.
        drop_unique: also drop shingles found in one row only. They cannot make two rows alike,
            only lower every similarity of the row that holds them (typos, one-off fillers);
            family inference drops them, the leakage audit keeps them (an evaluation row's new
            content should lower its similarity to training).
    A row made of nothing but dropped shingles keeps its own, so identical boilerplate-only rows
    still look identical. Returns rows L2-normalised, shape (len(texts), used columns), and the
    document frequency of every column over all rows, dropped or not. Raises ValueError on a share
    outside (0, 1].
    """
    share = BOILERPLATE_SHARE if boilerplate_share is None else float(boilerplate_share)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"boilerplate_share must lie in (0, 1], got {share}")
    counts = _drop_unused_columns(shingle_counts(texts))
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
    reference = counts if boilerplate_rows is None else counts[:boilerplate_rows]
    reference_frequency = document_frequency if boilerplate_rows is None else np.bincount(
        reference.indices, minlength=counts.shape[1]
    )
    # "Shared" needs two rows at least: one training row alone shows no boilerplate.
    dropped = (reference_frequency > share * reference.shape[0]) & (reference_frequency >= 2)
    if drop_unique:
        dropped |= document_frequency == 1
    counts = drop_columns(counts, dropped)
    vectors = TfidfTransformer(sublinear_tf=True, norm="l2").fit_transform(counts)
    return ShingleVectors(vectors=vectors.astype(np.float32).tocsr(), document_frequency=document_frequency)


def drop_columns(counts: sp.csr_matrix, dropped: np.ndarray) -> sp.csr_matrix:
    """`counts` without the `dropped` columns (boolean per column), except in rows that hold
    nothing else; shape unchanged."""
    if not dropped.any():
        return counts
    drop = dropped[counts.indices]
    row_of_entry = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    kept_per_row = np.bincount(row_of_entry[~drop], minlength=counts.shape[0])
    keep = ~drop | (kept_per_row[row_of_entry] == 0)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of_entry[keep], minlength=counts.shape[0]))])
    return sp.csr_matrix((counts.data[keep], counts.indices[keep], indptr), shape=counts.shape)


def _drop_unused_columns(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Keep only the hashed columns some row uses: scipy's sparse products allocate per column."""
    used = np.flatnonzero(np.bincount(counts.indices, minlength=counts.shape[1]))
    new_index = np.zeros(counts.shape[1], dtype=np.int32)
    new_index[used] = np.arange(len(used), dtype=np.int32)
    return sp.csr_matrix((counts.data, new_index[counts.indices], counts.indptr), shape=(counts.shape[0], max(len(used), 1)))


def pair_cosine(vectors: sp.csr_matrix, left: np.ndarray, right: np.ndarray, *, chunk: int = 100_000) -> np.ndarray:
    """Cosine similarity of row pairs (left[k], right[k]) of L2-normalised rows, in bounded memory."""
    out = np.empty(len(left), dtype=np.float32)
    for start in range(0, len(left), chunk):
        stop = start + chunk
        product = vectors[left[start:stop]].multiply(vectors[right[start:stop]])
        out[start:stop] = np.asarray(product.sum(axis=1)).ravel()
    return out
