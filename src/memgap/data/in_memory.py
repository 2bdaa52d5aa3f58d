"""Records from rows already in memory (dicts from `json.loads`, a `datasets.Dataset`), read through the
same row reader as files (`memgap.data.rows.record_from_row`), for the components a user calls from a
script: `memgap.splits.nested_split` and `memgap.FamilyGapCallback` take either.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from memgap.data.records import Record
from memgap.data.rows import record_from_row
from memgap.errors import MemgapError


def as_records(items: Iterable[Any], *, family_field: str | None = "family", label: str = "records") -> list[Record]:
    """Each item as a Record: a Record as it is; a dict (one row, as a data file holds it) read as
    `memgap.read_records` reads a file's rows, with the same fields, shapes and one-line errors.

    `label` names the collection in error messages and in each new record's `source` (`records[3]`).
    Raises MemgapError for an item that is neither (the message points to `memgap.read_records` for
    files), a row read_records would refuse, or two rows with one id.
    """
    records, first_index = [], {}
    for index, item in enumerate(items):
        if isinstance(item, Record):
            records.append(item)
            continue
        if not isinstance(item, Mapping):
            raise MemgapError(f"{label}[{index}] is a {type(item).__name__}, not a row (a dict) or a memgap Record; "
                              "read a data file with memgap.read_records(path)")
        record = record_from_row(dict(item), f"{label}[{index}]", None, index, family_field, False)
        if record.id in first_index:
            raise MemgapError(f"duplicate id '{record.id}' (first at {label}[{first_index[record.id]}])",
                              where=f"{label}[{index}]: field 'id'")
        first_index[record.id] = index
        records.append(record)
    return records
