"""Texts to weighted shingle vectors: the representation family inference and leakage compare.

Shingles are lower-cased word 1- and 2-grams hashed into a fixed column space (no vocabulary of
n-grams to hold at a million rows), weighted by TF-IDF so that boilerplate every row shares
(greetings, sign-offs, template scaffolding) counts for little and the rare words that make a seed
example unique count for much. Unigrams keep siblings close when sentences or steps are reordered;
bigrams separate rows that merely use the same words.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

TOKEN = re.compile(r"\w+")
HASH_BITS = 24
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class ShingleVectors:
    """L2-normalised TF-IDF rows and the document frequency of every hashed shingle."""

    vectors: sp.csr_matrix
    document_frequency: np.ndarray


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens, as shingles and 13-gram overlap both see them."""
    return TOKEN.findall(text.lower())


def shingle_counts(texts: Sequence[str], *, chunk_rows: int = 20_000) -> sp.csr_matrix:
    """Hashed word 1- and 2-gram counts, one row per text."""
    blocks = [_count_block(texts[start:start + chunk_rows]) for start in range(0, len(texts), chunk_rows)]
    if not blocks:
        return sp.csr_matrix((0, 1 << HASH_BITS), dtype=np.float32)
    return sp.vstack(blocks, format="csr")


# Word bytes: ASCII letters, digits, underscore, and every byte of a multi-byte UTF-8 character,
# so non-ASCII letters stay inside words (non-ASCII punctuation does too; harmless for similarity).
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
    encoded = [text.lower().encode("utf-8") for text in texts]
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


def shingle_vectors(texts: Sequence[str]) -> ShingleVectors:
    """TF-IDF shingle vectors fitted on `texts` themselves (the corpus defines what is boilerplate)."""
    counts = _drop_unused_columns(shingle_counts(texts))
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
    vectors = TfidfTransformer(sublinear_tf=True, norm="l2").fit_transform(counts)
    return ShingleVectors(vectors=vectors.astype(np.float32).tocsr(), document_frequency=document_frequency)


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
