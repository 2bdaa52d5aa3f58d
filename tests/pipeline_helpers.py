"""Shared set-up for pipeline tests: a tiny model folder, a tiny family data set, small settings."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from memgap.config import load_config
from memgap.data.io import records_to_rows, write_jsonl
from tiny_models import save_tiny_model, tiny_records

# Keys whose values measure the machine, not the audit.
VOLATILE = ("created_utc", "timings", "seconds", "runtime", "per_second", "tokens_per_s", "total_flos")


def make_inputs(folder: Path, *, families: int = 20, rows: int = 80) -> tuple[Path, Path]:
    model_dir = save_tiny_model(folder / "model")
    data = write_jsonl(folder / "data.jsonl", records_to_rows(tiny_records(rows, families=families)))
    return model_dir, data


def tiny_settings(model_dir: Path, data: Path, out: Path, **extra: Any) -> dict[str, Any]:
    settings = {
        "out": str(out), "model.name": str(model_dir), "data.path": str(data), "seed": 0,
        "model.max_length": 64, "training.epochs": 2.0, "training.batch_size": 4, "training.save_steps": 4,
        "evaluation.max_new_tokens": 6, "evaluation.generation_batch_size": 8, "evaluation.nll_batch_size": 8,
        "evaluation.membership_train_rows": 8, "evaluation.scorer": "token-f1",
        "split.max_train_rows": None, "split.max_holdout_items": None, "stats.n_resamples": 200,
        # figures compared across runs are pinned to one precision: `auto` would follow the CPU's flags
        "training.precision": "fp32",
    }
    settings.update(extra)
    return settings


def tiny_config(model_dir: Path, data: Path, out: Path, **extra: Any):
    return load_config(overrides=tiny_settings(model_dir, data, out, **extra))


def comparable(value: Any) -> Any:
    """The audit without the figures that measure time, so two runs can be compared."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if not any(word in k for word in VOLATILE)}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    return value

