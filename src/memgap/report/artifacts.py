"""Reading a run folder's saved artefacts, so a report can be rendered again without recomputing.

audit.json is required and validated; every other file (predictions, gradient norms, training log,
realised update, membership scores) is optional. A missing or malformed optional file becomes a
short note that the report prints in place of the part it would have fed.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgap.columns import GRADNORM_COLUMNS, UPDATE_COLUMNS
from memgap.errors import MemgapError, where_in_file
from memgap.report.schema import validate_audit


@dataclass
class RunArtifacts:
    """What a run folder holds; None where a file is absent or unreadable (the reason is in `notes`)."""

    run_dir: Path
    audit: dict[str, Any]
    predictions: list[dict[str, Any]] | None = None
    gradnorms: list[dict[str, Any]] | None = None
    log_history: list[dict[str, Any]] | None = None
    updates: list[dict[str, Any]] | None = None
    membership: list[dict[str, Any]] | None = None
    notes: dict[str, str] = field(default_factory=dict)


def load_audit(path: str | Path) -> dict[str, Any]:
    """Read and validate audit.json (a run folder or the file itself); a problem is one MemgapError naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "audit.json"
    if not path.is_file():
        raise MemgapError("no audit.json here; is this a memgap run folder?", where=str(path))
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise MemgapError(f"not valid JSON ({getattr(error, 'msg', error)})", where=where_in_file(path, line)) from None
    if not isinstance(audit, dict):
        raise MemgapError("expected a JSON object at the top level", where=str(path))
    validate_audit(audit, source=str(path))
    return audit


def load_run(run_dir: str | Path) -> RunArtifacts:
    """Read everything a report shows from a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MemgapError("no such run folder", where=str(run_dir))
    run = RunArtifacts(run_dir=run_dir, audit=load_audit(run_dir))
    run.predictions = _optional(run, "predictions.jsonl", _read_jsonl)
    run.membership = _optional(run, "membership.jsonl", _read_jsonl)
    run.gradnorms = _optional(run, "training/gradnorms.csv", lambda p: _read_csv(p, GRADNORM_COLUMNS))
    run.updates = _optional(run, "training/updates.csv", lambda p: _read_csv(p, UPDATE_COLUMNS))
    run.log_history = _optional(run, "training/log_history.json", _read_log_history)
    if run.log_history is None and isinstance((run.audit.get("training") or {}).get("log_history"), list):
        run.log_history = [row for row in run.audit["training"]["log_history"] if isinstance(row, dict)]
        run.notes.pop("training/log_history.json", None)
    return run


class _Unreadable(Exception):
    """An optional artefact that exists but cannot be used; the message goes into the report."""


def _optional(run: RunArtifacts, relative: str, reader) -> Any:
    path = run.run_dir / relative
    if not path.is_file():
        run.notes[relative] = f"{relative} is not in the run folder"
        return None
    try:
        return reader(path)
    except _Unreadable as error:
        run.notes[relative] = f"{relative} could not be read: {error}"
        return None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    from memgap.data.io import read_jsonl_rows

    try:
        return read_jsonl_rows(path)
    except MemgapError as error:
        place = (error.where or "").removeprefix(str(path)).lstrip(":")
        message = str(error).removeprefix(f"{error.where}: ") if error.where else str(error)
        raise _Unreadable(f"line {place}: {message}" if place else message) from None


def _read_csv(path: Path, columns: dict[str, type]) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in columns if name not in (reader.fieldnames or [])]
        if missing:
            raise _Unreadable(f"missing column(s) {', '.join(missing)}")
        rows = []
        for line_number, raw in enumerate(reader, 2):
            try:
                rows.append({name: cast(raw[name]) for name, cast in columns.items()})
            except (TypeError, ValueError):
                raise _Unreadable(f"line {line_number}: a value is not a number where one is expected") from None
    if not rows:
        raise _Unreadable("no rows")
    return rows


def _read_log_history(path: Path) -> list[dict[str, Any]]:
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _Unreadable(str(error)) from None
    if not isinstance(history, list):
        raise _Unreadable("expected a list of log entries")
    return [row for row in history if isinstance(row, dict)]
