"""Score every row of a data file with a named scorer: the library side of `memgap score`.

The text scored is, in order of preference: a field the caller names, the row's `output` field,
its `completion` string, or the last assistant message. The row's context goes to the scorer
through the record, as in an audit.
"""
from __future__ import annotations

import os
from typing import Any

from memgap.data.io import read_records
from memgap.errors import MemgapError
from memgap.evaluation.scoring import resolve_scorer, score_one


def score_file(path: str | os.PathLike[str], scorer_name: str = "tenacious", *, completion_field: str | None = None) -> list[dict[str, Any]]:
    """One result per row: `id`, `family`, `score` and `checks` (the scorer's named checks)."""
    scorer = resolve_scorer(scorer_name)
    results = []
    for record in read_records(path):
        text = _text_to_score(record.row, record.completion, completion_field, path, record.id)
        result = score_one(scorer, text, record)
        results.append({"id": record.id, "family": record.family, "score": result.score, "checks": dict(result.checks)})
    return results


def _text_to_score(row: dict[str, Any], completion: str, field: str | None, path, record_id: str) -> str:
    if field is not None:
        value = row.get(field)
        if not isinstance(value, str):
            raise MemgapError(f"row '{record_id}' has no text field '{field}'", where=str(path))
        return value
    for name in ("output", "completion"):
        if isinstance(row.get(name), str):
            return row[name]
    return completion


def summarize_scores(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean score and the mean of every check over the rows (bools count as 0/1)."""
    names = list(dict.fromkeys(name for result in results for name in result["checks"]))
    checks = {}
    for name in names:
        values = [float(result["checks"][name]) for result in results if name in result["checks"]]
        checks[name] = sum(values) / len(values)
    mean = sum(result["score"] for result in results) / len(results) if results else float("nan")
    return {"rows": len(results), "mean_score": mean, "checks": checks}
