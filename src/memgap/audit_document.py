"""Build audit.json's content from what the stages produced: sizes, fingerprints, figures, sections.

Kept apart from `pipeline.py` so that the pipeline reads as the method and this file as the
document's layout (docs/architecture.md describes the keys).
"""
from __future__ import annotations

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


def assemble_audit(config, *, data_path: Path, records: Sequence[Record], family_source: str, parts, loaded,
                   scorer_name: str, train_result, figures: dict[str, Any], probes: dict[str, Any], run_dir: Path,
                   stages) -> dict[str, Any]:
    """audit.json's content for `memgap run` before the verdict (memgap.stages.finish_audit adds it and
    writes the files). `parts`: the split (memgap.stages.SplitParts); `train_result`: training's TrainResult;
    `figures`: memgap.analysis.analyse's sections; `probes`: memgap.probes.run_probes's section."""
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
            "train": part_size(parts.train),
            "seen_holdout": part_size(parts.seen_holdout),
            "unseen_holdout": part_size(parts.unseen_holdout),
            "leakage": {
                "seen_holdout": leakage_audit(parts.train, parts.seen_holdout),
                "unseen_holdout": leakage_audit(parts.train, parts.unseen_holdout),
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


def json_ready(value: Any, *, name: str = "audit", warn: bool = True) -> Any:
    """`value` as plain JSON values: numpy scalars and arrays, tuples and paths converted, keys made
    strings, and any figure that came out undefined (NaN or infinite) written as null, since strict
    JSON has no NaN and a finished audit should not be lost at its last write. With `warn`, each such
    figure is logged with its place (`name.key[index]`). Raises TypeError for a value JSON cannot hold.
    """
    if isinstance(value, dict):
        return {str(key): json_ready(item, name=f"{name}.{key}", warn=warn) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item, name=f"{name}[{index}]", warn=warn) for index, item in enumerate(value)]
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value):
            return float(value)
        if warn:
            log.warning("%s is %s; written as null", name, value)
        return None
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__} at {name}")
