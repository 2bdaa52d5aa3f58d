"""Summarise a gradnorms.csv table: where did training pressure go, and did it move over training?

Pressure is measured as squared gradient norm, because squared norms add up across matrices, layers
and steps (the squared norm of the whole LoRA gradient is their sum), so shares are well defined.
Pure logic over rows; the result is JSON-ready for audit.json and the report.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memgap.columns import GRADNORM_COLUMNS, typed_row

GROUP_LABELS = {"attention": "attention", "mlp": "the MLP", "other": "other modules"}
BAND_NAMES = ("early", "middle", "late")
CONCENTRATED_SHARE = 0.55  # a group holding at least this share is where pressure "concentrated"
NOTABLE_SHIFT = 0.10  # a change of a group's share between early and late training worth a mention


def read_gradnorms(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a gradnorms.csv with typed step, layer and norm."""
    with open(path, newline="", encoding="utf-8") as stream:
        return [
            typed_row(row, {name: GRADNORM_COLUMNS[name] for name in ("step", "layer", "norm")})
            for row in csv.DictReader(stream)
        ]


def gradient_summary(rows_or_csv_path: Iterable[Mapping[str, Any]] | str | Path, n_layers: int) -> dict[str, Any]:
    """Shares of squared gradient norm per module type, group, layer band and training phase, and a sentence."""
    rows = read_gradnorms(rows_or_csv_path) if isinstance(rows_or_csv_path, (str, Path)) else list(rows_or_csv_path)
    if not rows:
        return {"steps_recorded": 0, "by_module": {}, "by_group": {}, "by_layer_band": {}, "over_training": {},
                "sentence": "No gradient norms were recorded."}
    steps = np.array([int(row["step"]) for row in rows])
    layers = np.array([int(row["layer"]) for row in rows])
    groups = np.array([str(row["group"]) for row in rows])
    modules = np.array(_module_types([str(row["module"]) for row in rows]))
    squared = np.array([float(row["norm"]) for row in rows]) ** 2
    bands = np.array([_band(layer, n_layers) for layer in layers])

    distinct_steps = np.unique(steps)
    third = max(1, math.ceil(len(distinct_steps) / 3))
    early_steps, late_steps = distinct_steps[:third], distinct_steps[-third:]
    early, late = np.isin(steps, early_steps), np.isin(steps, late_steps)

    summary = {
        "steps_recorded": int(len(distinct_steps)),
        "by_module": _shares(modules, squared),
        "by_group": _shares(groups, squared),
        "by_layer_band": {
            band: {"share": share, "layers": _band_layers(band, n_layers)}
            for band, share in _shares(bands, squared).items()
        },
        "over_training": {
            "early": {"steps": [int(early_steps[0]), int(early_steps[-1])], "by_group": _shares(groups[early], squared[early])},
            "late": {"steps": [int(late_steps[0]), int(late_steps[-1])], "by_group": _shares(groups[late], squared[late])},
        },
    }
    summary["sentence"] = _sentence(summary, modules, groups, bands, squared, len(distinct_steps))
    return summary


def _module_types(paths: list[str]) -> list[str]:
    """Leaf names (q_proj, down_proj) where unambiguous; the in-layer path where a leaf repeats (GPT-2's c_proj)."""
    leaves_of: dict[str, set[str]] = {}
    for path in set(paths):
        leaves_of.setdefault(path.rsplit(".", 1)[-1], set()).add(path)
    return [path.rsplit(".", 1)[-1] if len(leaves_of[path.rsplit(".", 1)[-1]]) == 1 else path for path in paths]


def _band(layer: int, n_layers: int) -> str:
    """early / middle / late by relative depth, so a 2-layer model has an early and a late layer."""
    if layer < 0 or n_layers <= 0:
        return "outside layers"
    depth = min(layer, n_layers - 1) / max(n_layers - 1, 1)
    return "early" if depth < 1 / 3 else "late" if depth > 2 / 3 else "middle"


def _band_layers(band: str, n_layers: int) -> list[int] | None:
    members = [layer for layer in range(max(n_layers, 0)) if _band(layer, n_layers) == band]
    return [members[0], members[-1]] if members else None


def _shares(keys: np.ndarray, squared: np.ndarray) -> dict[str, float]:
    total = float(squared.sum())
    names, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=squared, minlength=len(names))
    order = np.argsort(-sums, kind="stable")
    return {str(names[i]): (float(sums[i] / total) if total > 0 else 0.0) for i in order}


def _sentence(summary, modules, groups, bands, squared, n_steps: int) -> str:
    by_group = summary["by_group"]
    ranked = list(by_group.items())
    top_group, top_share = ranked[0]
    if top_share >= CONCENTRATED_SHARE or len(ranked) == 1:
        lead = f"Training pressure concentrated in {GROUP_LABELS.get(top_group, top_group)} ({_pct(top_share)} of squared gradient norm)"
    else:
        second_group, second_share = ranked[1]
        lead = (f"Training pressure was split between {GROUP_LABELS.get(top_group, top_group)} ({_pct(top_share)}) "
                f"and {GROUP_LABELS.get(second_group, second_group)} ({_pct(second_share)})")
    in_group = groups == top_group
    module_shares = _shares(modules[in_group], squared[in_group])
    top_module = next(iter(module_shares))
    of_module = modules == top_module
    band_shares = _shares(bands[of_module], squared[of_module])
    top_band, band_share = next(iter(band_shares.items()))
    where = f" in the {top_band} layers" if len(band_shares) > 1 and band_share >= 0.5 and top_band in BAND_NAMES else ""
    detail = f", mostly {top_module}{where}"
    return f"{lead}{detail}; {_shift_clause(summary, n_steps)}."


def _shift_clause(summary, n_steps: int) -> str:
    if n_steps < 3:
        return "too few steps were recorded to see a shift over training"
    early, late = summary["over_training"]["early"]["by_group"], summary["over_training"]["late"]["by_group"]
    early_top, late_top = next(iter(early)), next(iter(late))
    if early_top != late_top:
        return f"it shifted from {GROUP_LABELS.get(early_top, early_top)} to {GROUP_LABELS.get(late_top, late_top)} over training"
    before, after = early.get(late_top, 0.0), late.get(late_top, 0.0)
    if abs(after - before) >= NOTABLE_SHIFT:
        direction = "rose" if after > before else "fell"
        return f"the share of {GROUP_LABELS.get(late_top, late_top)} {direction} from {_pct(before)} to {_pct(after)} over training"
    return "the balance held steady over training"


def _pct(share: float) -> str:
    return f"{round(100 * share)} %"
