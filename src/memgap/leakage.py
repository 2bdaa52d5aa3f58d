"""Leakage audit of a train / evaluation pair: how many evaluation rows the model has, in effect, seen.

Three notions of "seen", from the strictest to the loosest: an evaluation row whose family also has
rows in training (a sibling), one whose nearest training row is more alike than a similarity
threshold (shingle cosine, the measure family inference uses), and one that shares a 13-gram with
training, which is how lm-evaluation-harness's decontamination counts a contaminated document.

The last two are reported in two named views. The completion view (`completion_view`) compares
what the model learns, an evaluation row's reference completion, with the training completions,
as decontamination intends; the whole-row view (`whole_row_view`) compares prompt and completion
together. Both leave boilerplate out: shingles and 13-grams found in more than `BOILERPLATE_SHARE`
of the training rows (a system prompt or footer every row repeats) count in neither, or one long
shared system prompt would make every evaluation row "share a 13-gram with training". Words are the units of
`memgap.words` (NFKC, case-folded, Unicode word boundaries, one unit per character in scripts
written without spaces, so a 13-gram there is 13 characters).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.families.inference import DEFAULT_THRESHOLD, infer_families
from memgap.families.shingles import BOILERPLATE_SHARE, shingle_vectors
from memgap.words import words

NGRAM_WORDS = 13
VIEWS = ("completion", "whole_row")


def leakage_audit(
    train: Sequence[Record],
    evaluation: Sequence[Record],
    *,
    similarity_threshold: float = DEFAULT_THRESHOLD,
    infer: bool = False,
    boilerplate_share: float = BOILERPLATE_SHARE,
    max_offenders: int = 10,
    chunk_rows: int = 512,
) -> dict:
    """The leakage report (JSON-ready).

    Parameters:
        train, evaluation: the two sides, each non-empty.
        similarity_threshold: shingle cosine at or above which an evaluation row counts as seen.
        infer: infer families on train and evaluation together instead of reading
            `record.family`; the gate then is the whole-row similarity share.
        boilerplate_share: shingles and 13-grams in more than this share of training rows are
            left out of every view.
    Returns `eval_rows_with_train_sibling`, the figures of each view under `completion_view` and
    `whole_row_view`, the worst offenders (by whole-row similarity), the rows of each side without
    a declared family (`missing_family`: count and ids; such a row has no declared sibling) and
    the gate. Raises MemgapError when a side is empty or, without `infer`, no row of a side has a
    family (the field is absent or misnamed).
    """
    if not train or not evaluation:
        raise MemgapError(f"leakage audit needs rows on both sides (train {len(train)}, eval {len(evaluation)})")
    train_families, eval_families = _families(train, evaluation, infer)
    train_family_set = {family for family in train_families if family is not None}
    has_sibling = np.array([family is not None and family in train_family_set for family in eval_families], dtype=bool)
    texts = {
        "completion": ([record.completion for record in train], [record.completion for record in evaluation]),
        "whole_row": ([record.full_text for record in train], [record.full_text for record in evaluation]),
    }
    views, nearest_rows = {}, {}
    for view in VIEWS:
        train_texts, eval_texts = texts[view]
        nearest, nearest_index = nearest_train_similarity(
            train_texts, eval_texts, chunk_rows=chunk_rows, boilerplate_share=boilerplate_share
        )
        contaminated, too_short, dropped = ngram_overlap(train_texts, eval_texts, boilerplate_share=boilerplate_share)
        above = nearest >= similarity_threshold
        nearest_rows[view] = (nearest, nearest_index, contaminated)
        views[view] = {
            "eval_rows_above_similarity": float(above.mean()),
            "eval_rows_above_similarity_count": int(above.sum()),
            "eval_rows_with_13gram_overlap": float(contaminated.mean()),
            "eval_rows_with_13gram_overlap_count": int(contaminated.sum()),
            "eval_rows_shorter_than_13_words": int(too_short.sum()),
            "boilerplate_13grams_dropped": dropped,
            "nearest_train_similarity": {
                "mean": float(nearest.mean()),
                "median": float(np.median(nearest)),
                "max": float(nearest.max()),
            },
        }
    nearest, nearest_index, contaminated = nearest_rows["whole_row"]
    completion_contaminated = nearest_rows["completion"][2]
    worst = np.argsort(-nearest, kind="stable")[:max_offenders]
    sibling_share = float(has_sibling.mean())
    similar_share = views["whole_row"]["eval_rows_above_similarity"]
    return {
        "train_rows": len(train),
        "eval_rows": len(evaluation),
        "family_source": "inferred" if infer else "declared",
        "eval_rows_with_train_sibling": sibling_share,
        "eval_rows_with_train_sibling_count": int(has_sibling.sum()),
        "missing_family": {
            side: {"count": len(missing), "ids": missing}
            for side, missing in (("train", _missing_ids(train, train_families)),
                                  ("eval", _missing_ids(evaluation, eval_families)))
        },
        "similarity_threshold": float(similarity_threshold),
        "boilerplate_share": float(boilerplate_share),
        **{f"{view}_view": figures for view, figures in views.items()},
        "worst_offenders": [
            {
                "eval_id": evaluation[i].id,
                "train_id": train[int(nearest_index[i])].id,
                "similarity": round(float(nearest[i]), 4),
                "sibling": bool(has_sibling[i]),
                "thirteen_gram_overlap": bool(contaminated[i]),
                "completion_thirteen_gram_overlap": bool(completion_contaminated[i]),
            }
            for i in worst
        ],
        "gate": {
            "metric": "whole_row_view.eval_rows_above_similarity" if infer else "eval_rows_with_train_sibling",
            "value": similar_share if infer else sibling_share,
        },
    }


def _families(train, evaluation, infer: bool) -> tuple[list[str | None], list[str | None]]:
    """Each side's family labels; None where a row declares none (NaN, NA and empty count as none).

    A row without a family is a row without a declared sibling, so the audit goes on and names it;
    a side where no row declares one has no family field worth the name, and is refused.
    """
    if infer:
        labels = infer_families([record.full_text for record in (*train, *evaluation)])
        return labels[: len(train)], labels[len(train):]
    sides = []
    for side, records in (("train", train), ("eval", evaluation)):
        families = [record.family if record.family not in (None, "") else None for record in records]
        if all(family is None for family in families):
            raise MemgapError(
                f"no {side} record has a family (first: '{records[0].id}'; NaN, NA and empty count as none); "
                "pass --family-field NAME, or --infer to infer families", where=records[0].source,
            )
        sides.append(families)
    return sides[0], sides[1]


def _missing_ids(records: Sequence[Record], families: Sequence[str | None]) -> list[str]:
    """Ids of the rows whose family is missing, in file order."""
    return [record.id for record, family in zip(records, families) if family is None]


def nearest_train_similarity(
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    *,
    chunk_rows: int = 512,
    boilerplate_share: float = BOILERPLATE_SHARE,
) -> tuple[np.ndarray, np.ndarray]:
    """For each evaluation text, the highest shingle cosine to any training text and its index
    (two arrays of shape (len(eval_texts),)).

    Exact (a sparse product per chunk of evaluation rows), so the cost grows with train x eval
    rows that share a shingle; IDF is fitted on both sides together, boilerplate judged on the
    training side (shingles in more than `boilerplate_share` of training rows are left out).
    """
    vectors = shingle_vectors(
        [*train_texts, *eval_texts], boilerplate_share=boilerplate_share, boilerplate_rows=len(train_texts)
    ).vectors
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


def ngram_overlap(
    train_texts: Sequence[str],
    eval_texts: Sequence[str],
    n: int = NGRAM_WORDS,
    *,
    boilerplate_share: float = BOILERPLATE_SHARE,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per evaluation text: does any of its n-grams occur in training; is it shorter than n words.

    N-grams found in more than `boilerplate_share` of the training texts are boilerplate and do
    not count; the third value is how many distinct ones were left out. Words are `memgap.words`
    units (lm-evaluation-harness's janitor splits on whitespace, which sees no words at all in
    Chinese or Thai).
    """
    per_row = [np.unique(_gram_hashes(words(text), n)) for text in train_texts]
    all_grams = np.concatenate(per_row) if per_row else np.zeros(0, np.int64)
    grams, rows_holding = np.unique(all_grams, return_counts=True)
    boilerplate = (rows_holding > boilerplate_share * len(train_texts)) & (rows_holding >= 2)
    train_grams = grams[~boilerplate]
    contaminated = np.zeros(len(eval_texts), dtype=bool)
    too_short = np.zeros(len(eval_texts), dtype=bool)
    for index, text in enumerate(eval_texts):
        units = words(text)
        if len(units) < n:
            too_short[index] = True
            continue
        contaminated[index] = bool(np.isin(_gram_hashes(units, n), train_grams).any())
    return contaminated, too_short, int(boilerplate.sum())


def _gram_hashes(units: list[str], n: int) -> np.ndarray:
    """One int64 hash per n-gram of units (Python's string hash, stable within the process)."""
    count = max(len(units) - n + 1, 0)
    return np.fromiter((hash(" ".join(units[i:i + n])) for i in range(count)), dtype=np.int64, count=count)
