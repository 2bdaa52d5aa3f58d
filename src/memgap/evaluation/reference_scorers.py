"""Task-agnostic scorers that compare a generation with the record's reference completion.

They measure closeness to the reference, not whether the behaviour is right; use a task's own
scorer (such as `tenacious`) where one exists.
"""
from __future__ import annotations

from collections import Counter

from memgap.data.records import Record
from memgap.evaluation.scoring import SCORERS, ScoreResult
from memgap.words import words as _tokens


@SCORERS.register("token-f1")
def token_f1(completion: str, record: Record) -> ScoreResult:
    """Bag-of-words F1 between the generation and the reference (SQuAD-style)."""
    generated, reference = Counter(_tokens(completion)), Counter(_tokens(record.completion))
    overlap = sum((generated & reference).values())
    if overlap == 0:
        return ScoreResult(0.0, {"precision": 0.0, "recall": 0.0})
    precision = overlap / sum(generated.values())
    recall = overlap / sum(reference.values())
    return ScoreResult(2 * precision * recall / (precision + recall), {"precision": precision, "recall": recall})
