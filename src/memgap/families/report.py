"""What `memgap families` reports about a data set: its families' concentration, declared or
inferred, and with both, how far inference agrees with the declared field."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.families.assign import assign_families
from memgap.families.concentration import concentration_report, family_agreement


@dataclass(frozen=True)
class FamiliesReport:
    """The report (JSON-ready: `concentration_report`'s keys, `family_source`, and with inference
    over declared families `declared` and `agreement`) and the records with their family set."""

    report: dict[str, Any]
    records: list[Record]


def families_report(records: Sequence[Record], *, infer: bool, family_field: str = "family") -> FamiliesReport:
    """Concentration of the declared families, or of inferred ones compared with the declared field.

    The top-level figures are always those of `family_source` (declared or inferred). With `infer`
    and every row declaring a family, `declared` holds the declared families' report and `agreement`
    the adjusted Rand index and the families inference split or merged (`family_agreement`); with
    some rows declaring one, `declared_rows` counts them. Raises MemgapError (naming file and line)
    for a row without a family when `infer` is off.
    """
    texts = [record.full_text for record in records]
    declared = [record.family for record in records]
    declared_rows = sum(family is not None for family in declared)
    labelled, source = assign_families(list(records), infer=infer, family_field=family_field)
    if infer:
        inferred = [record.family for record in labelled]
        report = concentration_report(inferred, texts)
        if declared_rows == len(records):
            report["declared"] = concentration_report(declared)
            report["agreement"] = family_agreement(declared, inferred)
        elif declared_rows:
            report["declared_rows"] = declared_rows  # partly declared: no agreement on a part
    else:
        report = concentration_report(declared, texts)
    report["family_source"] = source
    return FamiliesReport(report, labelled)


def check_write_field(records: Sequence[Record], *, write_field: str, family_field: str, overwrite: bool,
                      where: str | None = None) -> None:
    """Refuse to write inferred families into a field the rows already hold, unless `overwrite`.

    Raises MemgapError naming `where` (the data file) and the two ways out.
    """
    declared_rows = sum(record.family is not None for record in records)
    if declared_rows and not overwrite and any(write_field in record.row for record in records):
        raise MemgapError(f"the rows already hold a '{write_field}' field ({declared_rows} declared families "
                          f"in '{family_field}'); --write-field NAME writes the inferred families to another "
                          "field, or --overwrite-field replaces it", where=where)
