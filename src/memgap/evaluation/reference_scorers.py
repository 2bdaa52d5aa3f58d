"""Task-agnostic scorers that compare a generation with the record's reference completion.

They measure closeness to the reference, not whether the behaviour is right; use a task's own
scorer (such as `tenacious`) where one exists.
"""
from __future__ import annotations

from memgap.data.records import Record
from memgap.evaluation.scoring import SCORERS, ScoreResult
from memgap.words import bag_of_words_f1
from memgap.words import words as _tokens


@SCORERS.register("token-f1")
def token_f1(completion: str, record: Record) -> ScoreResult:
    """Bag-of-words F1 between the generation and the reference (SQuAD-style)."""
    f1, precision, recall = bag_of_words_f1(_tokens(completion), _tokens(record.completion))
    return ScoreResult(f1, {"precision": precision, "recall": recall})
