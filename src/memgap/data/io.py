"""Read records from JSONL, JSON, CSV or Parquet and write them back, validating as we go.

Every problem a user can fix is reported as one line naming the file, the row (1-based line for
JSONL and CSV, 1-based index for JSON and Parquet) and the field.

JSONL is split on "\n" only: JSON escapes every control character, so a raw U+2028, U+0085 or
\x1c inside a string (as `json.dumps(ensure_ascii=False)` writes them) is text, not a line break.
`read_jsonl_rows` is the one reader of every JSONL file, the user's and memgap's own (run folder,
`--out` files). CSV is parsed by the csv module over the whole text, so quoted cells keep their
line breaks; only structured fields are decoded from JSON text there.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from memgap.atomic import write_text_atomic
from memgap.data.records import Record
from memgap.data.rows import record_from_row
from memgap.errors import MemgapError, where_in_file

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
# CSV cells decoded from JSON text: the structured fields of TRL's formats (prompt and completion only
# when they hold a list of messages); every other cell stays the string it is.
STRUCTURED_CSV_FIELDS = ("messages", "context", "tools")
CONVERSATIONAL_CSV_FIELDS = ("prompt", "completion")


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
    from_text = suffix == ".csv"
    records = [
        record_from_row(row, path, line, index, family_field, require_family, from_text=from_text)
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


def read_jsonl_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file, in order (blank lines skipped).

    Lines are split on "\n" only (a trailing "\r" is JSON whitespace). Raises MemgapError naming
    the file and line for text that is not UTF-8, malformed JSON or a line that is not an object.
    """
    return [row for _, row in _read_jsonl(Path(path))]


def iter_jsonl_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) of each non-blank line of a JSONL file; errors as `read_jsonl_rows`."""
    path = Path(path)
    if not path.is_file():
        raise MemgapError("no such file", where=str(path))
    yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_open_text(path).split("\n"), start=1):
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
    # newline="" hands the csv module every "\r" and "\n" untouched, so quoted cells keep them.
    reader = csv.DictReader(io.StringIO(_open_text(path), newline=""))
    try:
        if not reader.fieldnames:
            raise MemgapError("CSV has no header row", where=str(path))
        start = reader.line_num + 1
        for row in reader:
            cleaned = {key: _csv_cell(key, value, path, start) for key, value in row.items() if key is not None}
            yield start, cleaned  # the physical line the row starts on, also when cells span lines
            start = reader.line_num + 1
    except csv.Error as error:
        raise MemgapError(f"malformed CSV ({error})", where=where_in_file(path, reader.line_num)) from None


def _csv_cell(key: str, value: Any, path: Path, line: int) -> Any:
    """Decode the structured fields from JSON text; every other cell stays the string it is."""
    if not isinstance(value, str) or value.strip()[:1] not in ("[", "{"):
        return value
    if key in STRUCTURED_CSV_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise MemgapError(f"malformed JSON in a CSV cell ({error.msg})", where=where_in_file(path, line, key)) from None
    if key in CONVERSATIONAL_CSV_FIELDS:
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(decoded, list) and decoded and all(isinstance(m, dict) and "role" in m for m in decoded):
            return decoded
    return value


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises many types for a corrupt file
        raise MemgapError(f"not a readable Parquet file ({type(error).__name__})", where=str(path)) from None
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, _without_struct_fill(row)


def _without_struct_fill(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the null keys Parquet adds to every message and tool schema (a struct column holds the
    union of all rows' keys), so a template sees the keys each row really had."""
    row = dict(row)
    for name in ("messages", "prompt", "completion"):
        if isinstance(row.get(name), list):
            row[name] = [
                {k: (v if k == "content" else _drop_nulls(v)) for k, v in m.items() if v is not None or k == "content"}
                if isinstance(m, dict) else m
                for m in row[name]
            ]
    if isinstance(row.get("tools"), list):
        row["tools"] = _drop_nulls(row["tools"])
    return row


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


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
        if record.family is not None or family_field in row:
            row[family_field] = record.family  # canonical: a NaN family is written as null
        if not row.get("messages") and not ("prompt" in row and "completion" in row):
            if record.prompt_messages is not None:
                row["messages"] = list(record.messages)
                if record.tools:
                    row["tools"] = list(record.tools)
            else:
                row["prompt"], row["completion"] = record.prompt_text, record.completion
        rows.append(row)
    return rows


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSONL atomically (sorted keys: equal rows give byte-identical files).

    Non-ASCII text is written as is, U+2028 and U+0085 included; `read_jsonl_rows` reads it back.
    """
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    return write_text_atomic(path, text)
