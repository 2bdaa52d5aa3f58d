"""Score every row of a data file with a named scorer: the library side of `memgap score`.

The text scored is, in order of preference: a field the caller names, the row's `output` field,
its `completion` string, or the last assistant message. The row's context goes to the scorer
through the record, as in an audit.

Generations kept apart from their records (a run's predictions.jsonl, or any JSONL of generated
texts with an `id`) are scored by `score_predictions` against the record of the same id.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memgap.data.io import read_records
from memgap.data.records import Record
from memgap.errors import MemgapError, where_in_file
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


SPLIT_PARTS = ("train", "seen_holdout", "unseen_holdout")


def run_records(run_dir: str | os.PathLike[str]) -> list[Record]:
    """The records of a run folder's split (train and both hold-outs), which its predictions refer to by id."""
    folder = Path(run_dir) / "split"
    paths = [folder / f"{part}.jsonl" for part in SPLIT_PARTS if (folder / f"{part}.jsonl").exists()]
    if not paths:
        raise MemgapError("not a memgap run folder (no split/*.jsonl)", where=str(run_dir))
    return [record for path in paths for record in read_records(path)]


def score_predictions(predictions_path: str | os.PathLike[str], records: Sequence[Record], scorer_name: str, *,
                      field: str = "generation") -> list[dict[str, Any]]:
    """Score the text in `field` of each JSONL row of `predictions_path` against the record with its `id`.

    Rows keep their `model` and `holdout` (a run's predictions.jsonl holds base and adapter rows for
    each hold-out item). Raises MemgapError naming the file and line of a row without an id, with an
    id that no record has, or without text in `field`.
    """
    scorer = resolve_scorer(scorer_name)
    by_id = {record.id: record for record in records}
    results = []
    for line, row in _jsonl_rows(Path(predictions_path)):
        record = by_id.get(str(row.get("id")))
        if row.get("id") is None or record is None:
            problem = "no 'id'" if row.get("id") is None else f"id '{row['id']}' matches no record"
            raise MemgapError(f"{problem}; give the records it was generated from (--data FILE or --run DIR)",
                              where=where_in_file(predictions_path, line, "id"))
        text = row.get(field)
        if not isinstance(text, str):
            raise MemgapError(f"no generated text in field '{field}' (--field NAME names another)",
                              where=where_in_file(predictions_path, line, field))
        result = score_one(scorer, text, record)
        kept = {key: row[key] for key in ("model", "holdout") if key in row}
        results.append({"id": record.id, "family": record.family or row.get("family"), **kept,
                        "score": result.score, "checks": dict(result.checks)})
    if not results:
        raise MemgapError("holds no rows to score", where=str(predictions_path))
    return results


def _jsonl_rows(path: Path):
    """(line number, row) of a JSONL file, through the one JSONL reader (split on '\\n' only)."""
    from memgap.data.io import iter_jsonl_rows

    yield from iter_jsonl_rows(path)


def summarize_scores(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean score and the mean of every check over the rows (bools count as 0/1)."""
    names = list(dict.fromkeys(name for result in results for name in result["checks"]))
    checks = {}
    for name in names:
        values = [float(result["checks"][name]) for result in results if name in result["checks"]]
        checks[name] = sum(values) / len(values)
    mean = sum(result["score"] for result in results) / len(results) if results else float("nan")
    summary = {"rows": len(results), "mean_score": mean, "checks": checks}
    models = list(dict.fromkeys(result["model"] for result in results if "model" in result))
    if models:  # a run's predictions: base and adapter apart, for each hold-out
        summary["by_model"] = {
            (f"{model} {holdout}" if holdout else model): sum(scores) / len(scores)
            for model in models for holdout in ("seen", "unseen", None)
            if (scores := [r["score"] for r in results if r.get("model") == model and r.get("holdout") == holdout])
        }
    return summary


def score_texts(*, scorer: str | None = None, data: str | os.PathLike[str] | None = None,
                run: str | os.PathLike[str] | None = None, predictions: str | os.PathLike[str] | None = None,
                field: str | None = None) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """What `memgap score` does: score a data file's rows, or generations against their records.

    Parameters:
        scorer: a registered name or `module:function`; default the run's own scorer (audit.json's
            `data.scorer`) with `run`, else `tenacious`.
        data: the data file whose rows are scored; with `predictions` or `run`, the records the
            generations answer (default with `run`: the run's split).
        run: a memgap run folder, whose predictions.jsonl is scored unless `predictions` is given.
        predictions: a JSONL file of generated texts with an `id` per row.
        field: the text field to score (default `generation` for predictions; see `score_file`).
    Returns (scorer name, one result per row, `summarize_scores` of them with `scorer` added).
    Raises MemgapError when neither data nor generations are given, or generations lack their records.
    """
    scorer = scorer or run_scorer(run) or "tenacious"
    predictions = predictions or (Path(run) / "predictions.jsonl" if run else None)
    if predictions:
        records = run_records(run) if data is None and run else None
        if records is None:
            if data is None:
                raise MemgapError("--predictions needs the records it answers: --data FILE or --run DIR")
            records = read_records(data)
        results = score_predictions(predictions, records, scorer, field=field or "generation")
    elif data:
        results = score_file(data, scorer, completion_field=field)
    else:
        raise MemgapError("give --data FILE to score, or --run DIR (or --predictions FILE) to score generations")
    return scorer, results, {"scorer": scorer, **summarize_scores(results)}


def run_scorer(run_dir: str | os.PathLike[str] | None) -> str | None:
    """The scorer a run's audit used (so re-scoring its predictions measures the same thing); None without one."""
    import json

    audit = Path(run_dir) / "audit.json" if run_dir else None
    if audit is None or not audit.exists():
        return None
    return (json.loads(audit.read_text(encoding="utf-8")).get("data") or {}).get("scorer")
