"""Build audit.json's content from what the stages produced: sizes, fingerprints, figures, sections.

Kept apart from `pipeline.py` so that the pipeline reads as the method and this file as the
document's layout (docs/architecture.md describes the keys).
"""
from __future__ import annotations

import json
import logging
import math
import platform
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from memgap import __version__
from memgap.atomic import sha256_file
from memgap.data.records import Record

SCHEMA_VERSION = "1"

log = logging.getLogger(__name__)


def assemble_audit(config, data_path, records, family_source, train, seen, unseen, loaded, scorer_name,
              train_result, figures, probes, run_dir, stages) -> dict[str, Any]:
    from memgap.families import concentration_report
    from memgap.leakage import leakage_audit
    from memgap.models import fingerprint_files
    from memgap.training.gradnorm import gradient_summary
    from memgap.training.updates import update_summary

    training_dir = run_dir / "training"
    adapter_file = training_dir / "adapter" / "adapter_model.safetensors"
    n_layers = getattr(loaded.model.config, "num_hidden_layers", None)
    audit: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "memgap_version": __version__,
        "protocol": "randomized-nested",
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "versions": package_versions(),
        "seed": config.seed,
        "seeds": config.seeds or [config.seed],
        "fingerprints": {
            "data": sha256_file(data_path),
            "model": fingerprint_files(loaded.weight_files),
            "adapter": sha256_file(adapter_file),
        },
        "model": {
            "name": loaded.name,
            "source": loaded.source,
            "n_parameters": loaded.n_parameters,
            "lora_targets": list(train_result.lora_targets),
            "trainable_parameters": train_result.trainable_parameters,
        },
        "data": {
            "path": str(data_path),
            "rows": len(records),
            "families": len({r.family for r in records}),
            "family_source": family_source,
            "scorer": scorer_name,
        },
        "families": concentration_report([r.family for r in records], [r.full_text for r in records]),
        "split": {
            "train": part_size(train),
            "seen_holdout": part_size(seen),
            "unseen_holdout": part_size(unseen),
            "leakage": {
                "seen_holdout": leakage_audit(train, seen),
                "unseen_holdout": leakage_audit(train, unseen),
            },
        },
        "training": training_section(train_result),
        **figures,
        "gradients": gradient_summary(training_dir / "gradnorms.csv", n_layers),
        "updates": update_summary(read_csv_rows(training_dir / "updates.csv")),
        "probes": probes,
        "timings": stages.seconds(),
    }
    return audit


def training_section(result) -> dict[str, Any]:
    """audit.json's `training` section from a TrainResult."""
    losses = [entry["loss"] for entry in result.log_history if "loss" in entry]
    return {
        "steps": result.steps,
        "epochs": result.epochs,
        "seconds": result.seconds,
        "tokens_per_s": result.tokens_per_s,
        "precision": result.precision,
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "truncated_rows": result.truncated_rows,
        "log_history": result.log_history,
    }


def part_size(records: Sequence[Record]) -> dict[str, int]:
    """Rows and families of one part of a split."""
    return {"rows": len(records), "families": len({r.family for r in records})}


def read_csv_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV file as dicts of strings; none when the file is absent."""
    import csv

    if not path.exists():
        return []
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def package_versions() -> dict[str, str]:
    """Versions of Python, memgap and the libraries an audit's figures depend on."""
    import importlib.metadata

    versions = {"python": platform.python_version(), "memgap": __version__}
    for package in ("torch", "transformers", "peft", "accelerate", "numpy", "scipy", "scikit-learn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def json_ready(audit: dict[str, Any]) -> dict[str, Any]:
    """The audit as plain JSON values: numpy scalars, arrays and paths converted, and any figure that
    came out undefined (NaN or infinite) written as null, with a warning naming it, since strict JSON
    has no NaN and a finished audit should not be lost at its last write."""
    return _finite(json.loads(json.dumps(audit, default=_json_default)), "audit")


def _finite(value: Any, path: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        log.warning("%s is %s; written as null", path, value)
        return None
    if isinstance(value, dict):
        return {key: _finite(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value
