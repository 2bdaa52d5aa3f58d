"""The realised weight update of a trained LoRA adapter, per layer and module: how big, how many directions.

For each adapted module, dW = scaling * B @ A with scaling = alpha / r as PEFT stored it. Its singular
values are those of the r x r core R_B @ R_A^T from thin QR factorisations A^T = Q_A R_A and
B = Q_B R_B (Q_A, Q_B have orthonormal columns), so the full out x in matrix is never formed.
Measured in benchmarks/gradnorm/run.py: the core is faster than an SVD of dW at every size we use.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from memgap.atomic import write_csv_atomic
from memgap.columns import UPDATE_COLUMNS as UPDATE_COLUMN_TYPES
from memgap.columns import typed_row
from memgap.training.architectures import describe_module

UPDATE_COLUMNS = tuple(UPDATE_COLUMN_TYPES)


def update_singular_values(lora_a, lora_b, scaling: float):
    """Singular values of scaling * B @ A (B: out x r, A: r x in) from the r x r core."""
    import torch

    a, b = lora_a.detach().double(), lora_b.detach().double()
    _, r_a = torch.linalg.qr(a.T)  # A^T = Q_A R_A
    _, r_b = torch.linalg.qr(b)  # B = Q_B R_B
    return abs(scaling) * torch.linalg.svdvals(r_b @ r_a.T)


def effective_rank(singular_values) -> float:
    """exp of the entropy of the normalised singular values (Roy & Vetterli); 0 for a zero update."""
    values = np.asarray(singular_values, dtype=np.float64)
    total = values.sum()
    if total <= 0:
        return 0.0
    p = values[values > 0] / total
    return float(math.exp(-(p * np.log(p)).sum()))


def realised_updates(peft_model, adapter_name: str | None = None) -> list[dict[str, Any]]:
    """One row per adapted module: layer, module, group, ||dW||_F, ||dW||_F / ||W||_F, effective rank."""
    from peft.tuners.lora import LoraLayer

    rows = []
    for name, module in peft_model.named_modules():
        if not isinstance(module, LoraLayer):
            continue
        adapter = adapter_name or (module.active_adapters[0] if module.active_adapters else None)
        if adapter not in getattr(module, "lora_A", {}):
            continue
        lora_a, lora_b = module.lora_A[adapter].weight, module.lora_B[adapter].weight
        singular = update_singular_values(lora_a, lora_b, float(module.scaling[adapter])).cpu().numpy()
        frobenius = float(np.sqrt((singular**2).sum()))
        base_norm = float(module.get_base_layer().weight.detach().double().norm())
        where = describe_module(name)
        rows.append({
            "layer": where.layer,
            "module": where.module,
            "group": where.group,
            "frobenius_norm": frobenius,
            "relative_norm": frobenius / base_norm if base_norm > 0 else float("nan"),
            "effective_rank": effective_rank(singular),
        })
    return rows


def write_updates_csv(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> Path:
    """Write the rows of `realised_updates` as updates.csv, atomically (floats to 8 significant digits)."""
    return write_csv_atomic(path, UPDATE_COLUMNS, (
        [f"{row[key]:.8g}" if isinstance(row[key], float) else row[key] for key in UPDATE_COLUMNS] for row in rows
    ))


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    return typed_row(row, {key: UPDATE_COLUMN_TYPES[key] for key in ("layer", "frobenius_norm", "relative_norm", "effective_rank")})


def update_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals for audit.json: the update's size per group and per module type, and its typical rank.

    Takes the rows of `realised_updates` or of updates.csv read back as strings.
    """
    rows = [_typed(row) for row in rows]
    if not rows:
        return {"modules": 0, "frobenius_norm_total": 0.0, "by_group": {}, "by_module": {}, "largest": None}
    squared = np.array([row["frobenius_norm"] ** 2 for row in rows])
    total = float(squared.sum())

    def share_by(key: str) -> dict[str, float]:
        sums: dict[str, float] = {}
        for row, value in zip(rows, squared):
            sums[row[key]] = sums.get(row[key], 0.0) + float(value)
        return {k: (v / total if total > 0 else 0.0) for k, v in sorted(sums.items(), key=lambda item: -item[1])}

    largest = max(rows, key=lambda row: row["relative_norm"] if math.isfinite(row["relative_norm"]) else -1.0)
    return {
        "modules": len(rows),
        "frobenius_norm_total": math.sqrt(total),
        "relative_norm_median": float(np.nanmedian([row["relative_norm"] for row in rows])),
        "relative_norm_max": float(largest["relative_norm"]),
        "effective_rank_median": float(np.median([row["effective_rank"] for row in rows])),
        "by_group": share_by("group"),  # share of the total squared Frobenius norm
        "by_module": share_by("module"),
        "largest": {key: largest[key] for key in ("layer", "module", "relative_norm", "effective_rank")},
    }
