"""Giving every record a family: the declared field, or inferred near-duplicate groups."""
from __future__ import annotations

from memgap.data.records import Record
from memgap.data.values import require_families
from memgap.families.inference import infer_families


def assign_families(
    records: list[Record], *, infer: bool, family_field: str = "family"
) -> tuple[list[Record], str]:
    """Records with `family` set, and where the families came from (`declared` or `inferred`).

    Raises MemgapError, without `infer`, when any record has no family: it names the first one's
    file and line, and counts and lists the others.
    """
    if infer:
        labels = infer_families([record.full_text for record in records])
        return [record.with_family(label) for record, label in zip(records, labels)], "inferred"
    require_families(records, family_field=family_field)
    return list(records), "declared"
