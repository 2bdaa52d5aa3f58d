"""Leakage audit of a train / evaluation pair: how many evaluation rows the model has, in effect, seen.

Three views, from the strictest notion of "seen" to the loosest: an evaluation row whose family also
has rows in training (a sibling), one whose nearest training row is more alike than a similarity
threshold (shingle cosine, the measure family inference uses), and one that shares any 13-gram with
training, which is how lm-evaluation-harness's decontamination counts a contaminated document.
"""
from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.families.inference import DEFAULT_THRESHOLD, infer_families
from memgap.families.shingles import shingle_vectors

NGRAM_WORDS = 13
# lm-evaluation-harness's Janitor.normalize_string: ASCII lower-casing, punctuation deleted, then
# whitespace-split words.
_JANITOR_TABLE = str.maketrans(string.ascii_uppercase, string.ascii_lowercase, string.punctuation)


def leakage_audit(
    train: Sequence[Record],
    evaluation: Sequence[Record],
    *,
    similarity_threshold: float = DEFAULT_THRESHOLD,
    infer: bool = False,
    max_offenders: int = 10,
    chunk_rows: int = 512,
) -> dict:
    """The leakage report (JSON-ready); `infer` infers families on train and evaluation together
    instead of reading `record.family`, and then gates on the similarity share."""
    if not train or not evaluation:
        raise MemgapError(f"leakage audit needs rows on both sides (train {len(train)}, eval {len(evaluation)})")
    train_texts = [record.full_text for record in train]
    eval_texts = [record.full_text for record in evaluation]
    train_families, eval_families = _families(train, evaluation, infer)
    has_sibling = np.isin(np.asarray(eval_families, dtype=object).astype(str), np.asarray(train_families, dtype=object).astype(str))
    nearest, nearest_index = nearest_train_similarity(train_texts, eval_texts, chunk_rows=chunk_rows)
    above = nearest >= similarity_threshold
    contaminated, too_short = ngram_overlap(train_texts, eval_texts)
    worst = np.argsort(-nearest, kind="stable")[:max_offenders]
    sibling_share = float(has_sibling.mean())
    similar_share = float(above.mean())
    return {
        "train_rows": len(train),
        "eval_rows": len(evaluation),
        "family_source": "inferred" if infer else "declared",
        "eval_rows_with_train_sibling": sibling_share,
        "eval_rows_with_train_sibling_count": int(has_sibling.sum()),
        "similarity_threshold": float(similarity_threshold),
        "eval_rows_above_similarity": similar_share,
        "eval_rows_above_similarity_count": int(above.sum()),
        "eval_rows_with_13gram_overlap": float(contaminated.mean()),
        "eval_rows_with_13gram_overlap_count": int(contaminated.sum()),
        "eval_rows_shorter_than_13_words": int(too_short.sum()),
        "nearest_train_similarity": {
            "mean": float(nearest.mean()),
            "median": float(np.median(nearest)),
            "max": float(nearest.max()),
        },
        "worst_offenders": [
            {
                "eval_id": evaluation[i].id,
                "train_id": train[int(nearest_index[i])].id,
                "similarity": round(float(nearest[i]), 4),
                "sibling": bool(has_sibling[i]),
                "thirteen_gram_overlap": bool(contaminated[i]),
            }
            for i in worst
        ],
        "gate": {
            "metric": "eval_rows_above_similarity" if infer else "eval_rows_with_train_sibling",
            "value": similar_share if infer else sibling_share,
        },
    }


def _families(train, evaluation, infer: bool) -> tuple[list[str], list[str]]:
    if infer:
        labels = infer_families([record.full_text for record in (*train, *evaluation)])
        return labels[: len(train)], labels[len(train):]
    for side, records in (("train", train), ("eval", evaluation)):
        for record in records:
            if record.family in (None, ""):
                raise MemgapError(
                    f"{side} record '{record.id}' has no family (NaN, NA and empty count as none); "
                    "pass --family-field NAME, or --infer to infer families", where=record.source,
                )
    return [record.family for record in train], [record.family for record in evaluation]


def nearest_train_similarity(
    train_texts: Sequence[str], eval_texts: Sequence[str], *, chunk_rows: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """For each evaluation text, the highest shingle cosine to any training text and its index.

    Exact (a sparse product per chunk of evaluation rows), so the cost grows with train x eval
    rows that share a shingle; IDF is fitted on both sides together.
    """
    vectors = shingle_vectors([*train_texts, *eval_texts]).vectors
    train_vectors_t = vectors[: len(train_texts)].T.tocsr()
    eval_vectors = vectors[len(train_texts):]
    best = np.zeros(len(eval_texts), dtype=np.float64)
    best_index = np.zeros(len(eval_texts), dtype=np.int64)
    for start in range(0, len(eval_texts), chunk_rows):
        block = (eval_vectors[start:start + chunk_rows] @ train_vectors_t).tocsr()
        if block.nnz:
            best[start:start + block.shape[0]] = block.max(axis=1).toarray().ravel()
            best_index[start:start + block.shape[0]] = np.asarray(block.argmax(axis=1)).ravel()
    return best, best_index


def janitor_words(text: str) -> list[str]:
    """Words as lm-evaluation-harness's decontamination normalises them."""
    return text.translate(_JANITOR_TABLE).split()


def ngram_overlap(train_texts: Sequence[str], eval_texts: Sequence[str], n: int = NGRAM_WORDS) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluation text: does any of its n-grams occur in training; is it shorter than n words."""
    train_grams = np.unique(np.fromiter(
        (hash(gram) for text in train_texts for gram in _ngrams(janitor_words(text), n)), dtype=np.int64
    ))
    contaminated = np.zeros(len(eval_texts), dtype=bool)
    too_short = np.zeros(len(eval_texts), dtype=bool)
    for index, text in enumerate(eval_texts):
        words = janitor_words(text)
        if len(words) < n:
            too_short[index] = True
            continue
        grams = np.fromiter((hash(gram) for gram in _ngrams(words, n)), dtype=np.int64)
        contaminated[index] = bool(np.isin(grams, train_grams).any())
    return contaminated, too_short


def _ngrams(words: list[str], n: int):
    return (" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
