"""Statistics that hold when rows come in families: paired lifts, the memorization gap, seed pooling, power.

Pure numpy/scipy. Siblings are not independent, so every figure is computed with the family as the
unit (the item-level figure is kept beside it for comparison). The `S` dicts these return are the
`lifts` and `gap` blocks of audit.json.
"""
from __future__ import annotations

from memgap.stats.families import per_family_lifts
from memgap.stats.gap import Ratio, generalization_ratio, memorization_gap
from memgap.stats.paired import Estimate, paired_delta
from memgap.stats.pooling import pool_seeds
from memgap.stats.power import families_needed, power_at, power_from_observed, variance_components

__all__ = [
    "Estimate", "families_needed", "generalization_ratio", "memorization_gap", "paired_delta", "per_family_lifts",
    "pool_seeds", "power_at", "Ratio", "power_from_observed", "variance_components",
]
