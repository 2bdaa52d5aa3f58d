"""Canonical family and id values, so one family is one string whatever file format carried it.

Parquet written by pandas stores an integer column with gaps as floats (`3.0`) and the gaps as NaN;
a JSONL file holds `3`; a CSV file holds the text `3.0` or an empty cell. Every reader and every verb
maps these through `canonical_value`, so `3.0` and `3` are one family and NaN is no family at all.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

from memgap.errors import MemgapError

# Cells that pandas' read_csv treats as missing by default (the common subset).
_MISSING_TEXT = frozenset({"", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "<NA>", "null", "NULL", "None", "-nan", "-NaN"})
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|Inf|INF|infinity|Infinity)")


def canonical_value(value: Any, *, from_text: bool = False) -> str | None:
    """The canonical string of a family or id value, or None when the value is missing.

    Parameters: `value` is a cell as a reader returns it (str, int, float, bool, None, numpy scalar);
    `from_text` marks untyped cells (CSV), where a decimal or exponent literal (`3.0`, `1e3`) is read
    as the number it spells and pandas' missing-value markers (`NaN`, `NA`, empty) are missing, as a
    typed reader would; digits alone (`007`) stay as written.

    Missing: None, NaN, pandas NA, positive or negative infinity, an empty string. Integral floats
    become their integer (`3.0` -> `"3"`); other floats keep Python's shortest repr (`2.5` -> `"2.5"`).
    Raises nothing.
    """
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if from_text and isinstance(value, str):
        text = value.strip()
        if text in _MISSING_TEXT:
            return None
        if _NUMBER_TEXT.fullmatch(text) and not text.lstrip("+-").isdigit():
            # Digits alone stay as written ("007" is an id, not 7); "3.0" is the float a typed writer made.
            return _number(float(text))
        return value
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _number(float(value))
    if _is_pandas_missing(value):
        return None
    return str(value)


def _number(number: float) -> str | None:
    if not math.isfinite(number):
        return None
    if number.is_integer():
        return str(int(number))
    return repr(number)


def _is_pandas_missing(value: Any) -> bool:
    # pandas.NA and pandas.NaT are neither numbers nor strings; avoid importing pandas for them.
    return type(value).__name__ in ("NAType", "NaTType")


FAMILY_HINT = "pass --family-field NAME for another column, or --infer to infer families"


def has_family(family: Any) -> bool:
    """Whether a record's (canonical) family value names a family: None and "" do not."""
    return family is not None and str(family) != ""


def require_families(records: Iterable[Any], *, label: str = "record", family_field: str | None = None,
                     hint: str = FAMILY_HINT) -> None:
    """Raise MemgapError when records have no family: the first one's file and line (`record.source`),
    how many of the records have none, and the first five ids.

    `label` names the records in the message (e.g. "train record"); `family_field` the column read.
    The one check for a missing family once records exist: the splitters, the leakage audit, family
    assignment and the training-curve callback call it (reading with `require_family` names the cell).
    """
    records = list(records)
    missing = [record for record in records if not has_family(record.family)]
    if missing:
        column = f" in field '{family_field}'" if family_field else ""
        shown = ", ".join(f"'{record.id}'" for record in missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MemgapError(f"{label} '{missing[0].id}' has no family{column} (NaN, NA and empty count as none); "
                          f"{len(missing)} of {len(records)} records have none: {shown}; {hint}",
                          where=getattr(missing[0], "source", None))

