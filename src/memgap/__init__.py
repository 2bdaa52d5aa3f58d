"""memgap: did a LoRA adapter learn the behaviour, or memorize the augmentation families it saw?

The data of an audit flows one way: data -> families -> split -> train -> evaluate -> stats ->
probes -> verdict -> report. `memgap.pipeline.run_audit` is the recipe that wires the stages
for one seed (`memgap.multiseed.run_seeds` picks it or the several-seed recipe)
(`memgap.adapter_audit.audit_adapter` the one for an adapter trained elsewhere); the
components (splitters, scorers, statistics, the gradient-norm callback) are importable on their own.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "FamilyGapCallback", "GradNormCallback", "run_audit", "run_seeds", "audit_adapter", "read_family_gap",
           "read_records", "paired_delta", "training_curves"]


def __getattr__(name: str):
    # Lazy so that `import memgap` does not pull in torch for users of the pure parts.
    if name == "GradNormCallback":
        from memgap.training.gradnorm import GradNormCallback

        return GradNormCallback
    if name == "FamilyGapCallback":
        from memgap.training.curves_callback import FamilyGapCallback

        return FamilyGapCallback
    if name in ("read_family_gap", "training_curves"):
        from memgap import curves

        return getattr(curves, name)
    if name == "run_audit":
        from memgap.pipeline import run_audit

        return run_audit
    if name == "run_seeds":
        from memgap.multiseed import run_seeds

        return run_seeds
    if name == "audit_adapter":
        from memgap.adapter_audit import audit_adapter

        return audit_adapter
    if name == "read_records":
        from memgap.data.io import read_records

        return read_records
    if name == "paired_delta":
        from memgap.stats import paired_delta

        return paired_delta
    raise AttributeError(f"module 'memgap' has no attribute {name!r}")
