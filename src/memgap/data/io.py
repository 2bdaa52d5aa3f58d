"""Read records from JSON Lines, JSON, CSV or Parquet (plain or compressed) and write them back, validating as we go.

Every problem a user can fix is reported as one line naming the file, the row (1-based line for
JSON Lines and CSV, 1-based index for a JSON list and Parquet) and the field.

Files are read by content (`memgap.data.files`): compression by its magic number; a JSON-family
file (`.json`, `.jsonl`, `.ndjson`) as a JSON list when it starts with `[`, as JSON Lines when a
`{` value is followed by more, else as one object (a row, or the rows under one key, as `datasets`
reads `field=`). JSON Lines is split on "\n" only: JSON escapes every control character, so a raw
U+2028, U+0085 or \x1c inside a string (as `json.dumps(ensure_ascii=False)` writes them) is text, not
a line break. `read_jsonl_rows` is the one reader of memgap's own JSONL files (run folder, `--out`
files). CSV is parsed by the csv module over the whole text, so quoted cells keep their line breaks;
only structured fields are decoded from JSON text there.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from memgap.atomic import write_bytes_atomic, write_text_atomic
from memgap.data import shapes
from memgap.data.files import DataBytes, compress, compression_of, decompress, name_suffixes, read_data_bytes
from memgap.data.records import Record
from memgap.data.rows import record_from_row, trl_row
from memgap.errors import MemgapError, where_in_file

# CSV cells decoded from JSON text: the structured fields of TRL's formats and of ShareGPT and Alpaca
# (prompt and completion only when they hold a list of messages); every other cell stays the string it is.
STRUCTURED_CSV_FIELDS = ("messages", "context", "tools", "conversations", "history", "chat_template_kwargs")
CONVERSATIONAL_CSV_FIELDS = ("prompt", "completion")
# Columns that hold lists of messages, whose Parquet struct fill is dropped.
MESSAGE_COLUMNS = ("messages", "prompt", "completion", "conversations")


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
    source = read_data_bytes(path)
    path = source.path
    rows = list(_read_rows(source))
    if not rows:
        raise MemgapError("file holds no records", where=str(path))
    from_text = source.format == "csv"
    records = [
        record_from_row(row, path, line, index, family_field, require_family, from_text=from_text)
        for index, (line, row) in enumerate(rows)
    ]
    _check_unique_ids(records, path, [line for line, _ in rows])
    return records


def _read_rows(source: DataBytes) -> Iterator[tuple[int, dict[str, Any]]]:
    if source.format == "parquet":
        yield from _read_parquet(source)
    elif source.format == "csv":
        yield from _read_csv(source.path, _decode(source.path, source.data))
    else:
        yield from _read_json_family(source.path, _decode(source.path, source.data))


def _decode(path: Path, raw: bytes) -> str:
    try:
        if b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\x00"), raw.index(b"\x00") + 1, "NUL byte")
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise MemgapError("not UTF-8 text (binary file?)", where=where_in_file(path, line)) from None


def read_jsonl_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file (plain or compressed), in order (blank lines skipped).

    Lines are split on "\n" only (a trailing "\r" is JSON whitespace). Raises MemgapError naming
    the file and line for text that is not UTF-8, malformed JSON or a line that is not an object.
    """
    return list(row for _, row in iter_jsonl_rows(path))


def iter_jsonl_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) of each non-blank line of a JSONL file; errors as `read_jsonl_rows`."""
    path = Path(path)
    if not path.is_file():
        raise MemgapError("no such file", where=str(path))
    raw = path.read_bytes()
    compression = compression_of(raw)
    yield from _read_jsonl(path, _decode(path, decompress(raw, compression, path) if compression else raw))


def _read_jsonl(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise MemgapError(f"malformed JSON ({error.msg} at column {error.colno})", where=where_in_file(path, number)) from None
        if not isinstance(row, dict):
            raise MemgapError(f"expected a JSON object, got {type(row).__name__}", where=where_in_file(path, number))
        yield number, row


def _read_json_family(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """A JSON list, JSON Lines, or one object (a row, or the rows under one key), told apart by content."""
    start = len(text) - len(text.lstrip())
    first, line = text[start:start + 1], text[:start].count("\n") + 1
    if first == "[":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            if error.msg == "Extra data":  # JSON Lines whose lines are lists: refused line by line
                yield from _read_jsonl(path, text)
                return
            raise MemgapError(f"malformed JSON ({error.msg} at column {error.colno})",
                              where=where_in_file(path, error.lineno)) from None
        yield from _rows_of_list(path, data)
    elif first == "{":
        try:
            value, end = json.JSONDecoder().raw_decode(text, start)
        except json.JSONDecodeError as error:
            raise MemgapError(f"malformed JSON ({error.msg} at column {error.colno})",
                              where=where_in_file(path, error.lineno)) from None
        if text[end:].strip():
            yield from _read_jsonl(path, text)
        else:
            yield from _rows_of_object(path, value, line)
    elif first:
        raise MemgapError("not JSON: a JSON data file starts with '[' (a list of rows) or '{' (JSON Lines, or an "
                          "object holding the rows)", where=where_in_file(path, line))


def _rows_of_list(path: Path, data: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise MemgapError(f"expected a JSON object, got {type(row).__name__}", where=where_in_file(path, number))
        yield number, row


def _rows_of_object(path: Path, value: dict[str, Any], line: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """One JSON object: the rows it holds under one key (`{"data": [...]}`), or else one row.

    An object holding a row's keys (`messages`, `conversations`, ...) is a row, whatever lists it holds.
    """
    lists = [] if any(key in value for key in shapes.ROW_KEYS) else [
        key for key, item in value.items() if isinstance(item, list) and all(isinstance(row, dict) for row in item)]
    if len(lists) > 1:
        lists = [key for key in lists if value[key]] or lists
    if len(lists) > 1:
        raise MemgapError(f"one JSON object holds several lists of rows ({', '.join(repr(key) for key in lists)}); "
                          "save one list per file", where=str(path))
    if lists:
        yield from _rows_of_list(path, value[lists[0]])
    else:
        yield line, value  # a row (a one-row JSON Lines file); a row missing its fields is refused by name


def _read_csv(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # newline="" hands the csv module every "\r" and "\n" untouched, so quoted cells keep them.
    reader = csv.DictReader(io.StringIO(text, newline=""))
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
    """Decode the structured fields from JSON text (an empty one is absent); every other cell stays the string it is."""
    if key in STRUCTURED_CSV_FIELDS and isinstance(value, str) and not value.strip():
        return None
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
        if isinstance(decoded, list) and decoded and all(isinstance(m, dict) and ("role" in m or "from" in m) for m in decoded):
            return decoded
    return value


def _read_parquet(source: DataBytes) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(source.data))
    except Exception as error:  # pyarrow raises many types for a corrupt file
        raise MemgapError(f"not a readable Parquet file ({type(error).__name__})", where=str(source.path)) from None
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, _without_struct_fill(row)


def _without_struct_fill(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the null keys Parquet adds to every message and tool schema (a struct column holds the
    union of all rows' keys), so a template sees the keys each row really had."""
    row = dict(row)
    for name in MESSAGE_COLUMNS:
        if isinstance(row.get(name), list):
            row[name] = [
                {k: (v if k in ("content", "value") else _drop_nulls(v)) for k, v in m.items()
                 if v is not None or k in ("content", "value")}
                if isinstance(m, dict) else m
                for m in row[name]
            ]
    for name in ("tools", "chat_template_kwargs"):
        if isinstance(row.get(name), (list, dict)):
            row[name] = _drop_nulls(row[name])
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
    """The records as JSON-ready rows in TRL's format: the original row (ShareGPT and Alpaca keys
    replaced by `messages`, see `memgap.data.rows.trl_row`) with id and family filled in."""
    rows = []
    for record in records:
        if shapes.row_shape(record.row) is not None:
            source = record.source or f"record '{record.id}'"
            row = trl_row(record.row, lambda field=None, source=source: where_in_file(source, None, field))
        else:  # a record built in memory: its row is written from its fields
            row = dict(record.row)
            if record.prompt_messages is not None:
                row["messages"] = list(record.messages)
                if record.tools:
                    row["tools"] = list(record.tools)
                if record.chat_template_kwargs:
                    row["chat_template_kwargs"] = dict(record.chat_template_kwargs)
            else:
                row["prompt"], row["completion"] = record.prompt_text, record.completion
        row["id"] = record.id
        if record.family is not None or family_field in row:
            row[family_field] = record.family  # canonical: a NaN family is written as null
        rows.append(row)
    return rows


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSONL atomically (sorted keys: equal rows give byte-identical files).

    Non-ASCII text is written as is, U+2028 and U+0085 included; `read_jsonl_rows` reads it back.
    """
    return write_text_atomic(path, _jsonl_text(rows))


def write_rows(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows atomically in the format the name says: .jsonl/.ndjson, .json (a list), .csv or
    .parquet, compressed when it ends in .gz, .bz2, .xz or .zst. `read_records` reads every one back.

    CSV cells holding lists or objects are written as JSON text (decoded again for the structured
    fields); Parquet columns are inferred by pyarrow. Raises MemgapError for an unsupported name, or
    rows whose values cannot form one Parquet table.
    """
    path = Path(path)
    rows = list(rows)
    suffix, compression = name_suffixes(path)
    if suffix == ".parquet":
        data = _parquet_bytes(rows, path)
    elif suffix == ".csv":
        data = _csv_text(rows).encode("utf-8")
    elif suffix == ".json":
        data = _json_list_text(rows).encode("utf-8")
    else:
        data = _jsonl_text(rows).encode("utf-8")
    return write_bytes_atomic(path, compress(data, compression))


def _jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def _json_list_text(rows: list[dict[str, Any]]) -> str:
    # One row per line inside the list: readable, and a diff shows the rows that changed.
    return "[\n" + ",\n".join(json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows) + "\n]\n"


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (list, dict))
                         else "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def _parquet_bytes(rows: list[dict[str, Any]], path: Path) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.BytesIO()
    try:  # column by column: `Table.from_pylist` takes its columns from the first row alone
        table = pa.table({key: pa.array([row.get(key) for row in rows]) for key in columns})
        pq.write_table(table, buffer)
    except pa.ArrowException as error:  # mixed types in a column; an empty object (no struct fields)
        reason = " ".join(str(error).split())
        raise MemgapError(f"these rows cannot form one Parquet table ({reason}); write .jsonl instead", where=str(path)) from None
    return buffer.getvalue()
