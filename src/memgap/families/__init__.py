"""Augmentation families: declared or inferred near-duplicate groups, and how concentrated they are.

`infer_families` clusters near-duplicates (`inference.py`, on the shingles of `shingles.py`);
`assign_families` gives every record a family; `concentration_report` says how much of the data a
few families hold and how alike siblings are.
"""
from memgap.families.assign import assign_families
from memgap.families.concentration import concentration_report
from memgap.families.inference import infer_families

__all__ = ["assign_families", "concentration_report", "infer_families"]
