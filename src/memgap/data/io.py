"""Read records from JSONL, JSON, CSV or Parquet and write them back, validating as we go.

Every problem a user can fix is reported as one line naming the file, the row (1-based line for
JSONL and CSV, 1-based index for JSON and Parquet) and the field.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from memgap.atomic import write_text_atomic
from memgap.data.records import Record
from memgap.errors import MemgapError, where_in_file

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
ROLES = ("system", "user", "assistant", "tool")


def read_records(
    path: str | os.PathLike[str],
    *,
    family_field: str | None = "family",
    require_family: bool = False,
) -> list[Record]:
    """Read and validate every record of a data file.

    `family_field` names the column holding declared families; with `require_family` a row without
    it is an error, otherwise families stay None and can be inferred later.
    """
    path = Path(path)
    if not path.exists():
        raise MemgapError("no such file", where=str(path))
    if path.is_dir():
        raise MemgapError("is a folder, not a data file", where=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise MemgapError(
            f"unsupported file type '{suffix or '(none)'}'; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            where=str(path),
        )
    if path.stat().st_size == 0:
        raise MemgapError("file is empty", where=str(path))
    rows = list(_read_rows(path, suffix))
    if not rows:
        raise MemgapError("file holds no records", where=str(path))
    records = [
        _record_from_row(row, path, line, index, family_field, require_family)
        for index, (line, row) in enumerate(rows)
    ]
    _check_unique_ids(records, path, [line for line, _ in rows])
    return records


def _read_rows(path: Path, suffix: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if suffix == ".jsonl":
        yield from _read_jsonl(path)
    elif suffix == ".json":
        yield from _read_json(path)
    elif suffix == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_parquet(path)


def _open_text(path: Path):
    try:
        raw = path.read_bytes()
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\x00"), raw.index(b"\x00") + 1, "NUL byte")
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise MemgapError("not UTF-8 text (binary file?)", where=where_in_file(path, line)) from None


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise MemgapError(f"malformed JSON ({error.msg} at column {error.colno})", where=where_in_file(path, number)) from None
        if not isinstance(row, dict):
            raise MemgapError(f"expected a JSON object, got {type(row).__name__}", where=where_in_file(path, number))
        yield number, row


def _read_json(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(_open_text(path))
    except json.JSONDecodeError as error:
        raise MemgapError(f"malformed JSON ({error.msg})", where=where_in_file(path, error.lineno)) from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise MemgapError("expected a JSON list of records (or {\"data\": [...]})", where=str(path))
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise MemgapError(f"record {number}: expected an object, got {type(row).__name__}", where=str(path))
        yield number, row


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = _open_text(path)
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise MemgapError("CSV has no header row", where=str(path))
    try:
        for row in reader:
            cleaned = {key: _maybe_json(value) for key, value in row.items() if key is not None}
            yield reader.line_num, cleaned
    except csv.Error as error:
        raise MemgapError(f"malformed CSV ({error})", where=where_in_file(path, reader.line_num)) from None


def _maybe_json(value: Any) -> Any:
    """CSV cells holding JSON lists or objects (messages, context) are decoded."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises many types for a corrupt file
        raise MemgapError(f"not a readable Parquet file ({type(error).__name__})", where=str(path)) from None
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, row


def _record_from_row(
    row: dict[str, Any],
    path: Path,
    line: int,
    index: int,
    family_field: str | None,
    require_family: bool,
) -> Record:
    def where(field: str | None = None) -> str:
        return where_in_file(path, line, field)

    record_id = row.get("id")
    record_id = f"row-{index + 1}" if record_id in (None, "") else str(record_id)
    family = None
    if family_field:
        value = row.get(family_field)
        if value in (None, ""):
            if require_family:
                raise MemgapError("missing family (pass --infer to infer families)", where=where(family_field))
        else:
            family = str(value)
    context = row.get("context")
    if context is not None and not isinstance(context, dict):
        raise MemgapError("expected an object", where=where("context"))

    if "messages" in row:
        prompt_messages, completion = _split_messages(row["messages"], where)
        return Record(record_id, completion, prompt_messages=prompt_messages, family=family, context=context, row=row)
    if "prompt" in row and "completion" in row:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list):
            prompt_messages = _validate_messages(prompt, where, "prompt")
            completion_messages = _validate_messages(completion, where, "completion") if isinstance(completion, list) else None
            if completion_messages is None:
                if not isinstance(completion, str):
                    raise MemgapError("expected a string or a list of messages", where=where("completion"))
                text = completion
            else:
                if not completion_messages or completion_messages[-1]["role"] != "assistant":
                    raise MemgapError("conversational completion needs an assistant message", where=where("completion"))
                text = completion_messages[-1]["content"]
            _require_text(text, where("completion"))
            return Record(record_id, text, prompt_messages=tuple(prompt_messages), family=family, context=context, row=row)
        if not isinstance(prompt, str):
            raise MemgapError("expected a string or a list of messages", where=where("prompt"))
        if not isinstance(completion, str):
            raise MemgapError("expected a string", where=where("completion"))
        _require_text(completion, where("completion"))
        return Record(record_id, completion, prompt_text=prompt, family=family, context=context, row=row)
    missing = "completion" if "prompt" in row else "messages"
    raise MemgapError(
        "missing field (records need 'messages', or 'prompt' and 'completion')", where=where(missing)
    )


def _validate_messages(messages: Any, where, field: str) -> list[dict[str, str]]:
    if not isinstance(messages, list):
        raise MemgapError(f"expected a list of messages, got {type(messages).__name__}", where=where(field))
    if not messages:
        raise MemgapError("empty list of messages", where=where(field))
    checked = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise MemgapError(f"message {position} needs 'role' and 'content'", where=where(field))
        if message["role"] not in ROLES:
            raise MemgapError(f"message {position} has unknown role '{message['role']}'", where=where(field))
        if not isinstance(message["content"], str):
            raise MemgapError(f"message {position} content must be text", where=where(field))
        checked.append({"role": message["role"], "content": message["content"]})
    return checked


def _split_messages(messages: Any, where) -> tuple[tuple[dict[str, str], ...], str]:
    checked = _validate_messages(messages, where, "messages")
    if checked[-1]["role"] != "assistant":
        raise MemgapError("the last message must be the assistant's (no assistant turn to learn)", where=where("messages"))
    if len(checked) < 2:
        raise MemgapError("needs at least one message before the assistant's", where=where("messages"))
    _require_text(checked[-1]["content"], where("messages"))
    return tuple(checked[:-1]), checked[-1]["content"]


def _require_text(text: str, where: str) -> None:
    if not text.strip():
        raise MemgapError("empty completion", where=where)


def _check_unique_ids(records: list[Record], path: Path, lines: list[int]) -> None:
    seen: dict[str, int] = {}
    for record, line in zip(records, lines):
        if record.id in seen:
            raise MemgapError(f"duplicate id '{record.id}' (first at line {seen[record.id]})", where=where_in_file(path, line, "id"))
        seen[record.id] = line


def records_to_rows(records: Iterable[Record], *, family_field: str = "family") -> list[dict[str, Any]]:
    """The records as JSON-ready rows: the original row with id and family filled in."""
    rows = []
    for record in records:
        row = dict(record.row)
        row["id"] = record.id
        if record.family is not None:
            row[family_field] = record.family
        if not row.get("messages") and not ("prompt" in row and "completion" in row):
            if record.prompt_messages is not None:
                row["messages"] = [*record.prompt_messages, {"role": "assistant", "content": record.completion}]
            else:
                row["prompt"], row["completion"] = record.prompt_text, record.completion
        rows.append(row)
    return rows


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSONL atomically (sorted keys: equal rows give byte-identical files)."""
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    return write_text_atomic(path, text)
