"""The columns of the CSV tables a run folder holds, with the type of each: one home for their
writers (the gradient-norm callback, the realised update, the training curves) and their readers
(the audit document, the report). The dicts keep the files' column order.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# training/gradnorms.csv: pre-clip gradient norm of one LoRA matrix at one optimizer step.
# `group` is the module's kind (attention, mlp, other), not a hold-out.
GRADNORM_COLUMNS: dict[str, type] = {"step": int, "layer": int, "module": str, "group": str, "matrix": str, "norm": float}
# training/updates.csv: the realised update (B @ A * scale) of one adapted module.
UPDATE_COLUMNS: dict[str, type] = {"layer": int, "module": str, "group": str, "frobenius_norm": float,
                                   "relative_norm": float, "effective_rank": float}
# training/family_gap.csv: one item's mean completion NLL (nats per token) at one training step.
FAMILY_GAP_COLUMNS: dict[str, type] = {"step": int, "holdout": str, "id": str, "family": str, "nll": float,
                                       "n_tokens": int}


def typed_row(raw: Mapping[str, Any], columns: Mapping[str, type]) -> dict[str, Any]:
    """A CSV row read as strings, with each of `columns` cast to its type (other keys kept as read).

    Raises KeyError for a missing column and ValueError or TypeError for a value that is not of its type.
    """
    return {**raw, **{name: cast(raw[name]) for name, cast in columns.items()}}
