"""Giving every record a family: the declared field, or inferred near-duplicate groups."""
from __future__ import annotations

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.families.inference import infer_families


def assign_families(
    records: list[Record], *, infer: bool, family_field: str = "family", seed: int = 0
) -> tuple[list[Record], str]:
    """Records with `family` set, and where the families came from (`declared` or `inferred`).

    Raises MemgapError, without `infer`, when any record has no family: it names the first one's
    file and line, and counts and lists the others.
    """
    if infer:
        labels = infer_families([record.full_text for record in records], seed=seed)
        return [record.with_family(label) for record, label in zip(records, labels)], "inferred"
    missing = [record for record in records if record.family in (None, "")]
    if missing:
        shown = ", ".join(f"'{record.id}'" for record in missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        first = missing[0]
        raise MemgapError(
            f"record '{first.id}' has no family in field '{family_field}' (NaN, NA and empty count as none); "
            f"{len(missing)} of {len(records)} records have none: {shown}; "
            "pass --family-field NAME for another column, or --infer to infer families", where=first.source,
        )
    return list(records), "declared"
