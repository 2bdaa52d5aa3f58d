"""audit.json's content for an adapter trained elsewhere: the same keys as `memgap run` writes.

The differences are where the facts come from: the model section from the adapter's own config
and tensors, the training section from the user's `trainer_state.json` (or null), the gradient
section from their `gradnorms.csv` (or null), and the realised update from the adapter weights
alone. An observational audit adds `comparability` and the partition's counts.
"""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from math import prod
from pathlib import Path
from typing import Any

from memgap import __version__
from memgap.atomic import sha256_file
from memgap.audit_document import SCHEMA_VERSION, package_versions, part_size
from memgap.evaluation.rows import EvaluationRow
from memgap.training.precision import weights_dtype


def assemble_adapter_audit(config, *, data, loaded, n_base_parameters: int, model, folder, scorer: str, trainer_output,
                           figures: dict[str, Any], probes: dict[str, Any], rows: Sequence[EvaluationRow],
                           run_dir: Path, stages, loading: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit dict before the verdict (memgap.stages.finish_audit adds it and writes the files).

    `loading`: how the adapter went onto the base (`adapter_loading`), recorded as `model.adapter_loading`.
    """
    from memgap.families import concentration_report
    from memgap.leakage import leakage_audit
    from memgap.models import fingerprint_files

    records = [*data.train, *data.seen, *data.unseen]
    n_layers = getattr(loaded.model.config, "num_hidden_layers", None)
    observational = data.protocol == "observational"
    split: dict[str, Any] = {
        "train": part_size(data.train),
        "seen_holdout": part_size(data.seen),
        "unseen_holdout": part_size(data.unseen),
        "leakage": {
            "seen_holdout": leakage_audit(data.train, data.seen),
            "unseen_holdout": leakage_audit(data.train, data.unseen),
        },
    }
    if observational:
        split["partition"] = {
            "eval_rows": len(data.seen) + len(data.unseen),
            "with_training_sibling": len(data.seen),
            "without_training_sibling": len(data.unseen),
            "family_source": data.family_source,
        }
    audit: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "memgap_version": __version__,
        "protocol": data.protocol,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": adapter_audit_config(config, folder.config, trainer_output),
        "versions": package_versions(),
        "seed": config.seed,
        "seeds": config.seeds or [config.seed],
        "fingerprints": {
            "data": fingerprint_files(data.files),
            "model": fingerprint_files(loaded.weight_files) if loaded.weight_files else None,
            "adapter": sha256_file(folder.weights),
        },
        "model": {
            "name": loaded.name,
            "source": loaded.source,
            "n_parameters": n_base_parameters,
            "adapter": str(folder.path),
            "lora_targets": _targets(folder.config),
            "trainable_parameters": sum(prod(shape) for shape in folder.shapes.values()),
            "adapter_settings": _settings(folder.config),
            "device": str(model.device),
            "dtype": weights_dtype(model),
            "adapter_loading": loading,
        },
        "data": {
            "path": ", ".join(str(file) for file in data.files),
            "rows": len(records),
            "families": len({r.family for r in records}),
            "family_source": data.family_source,
            "scorer": scorer,
        },
        "families": concentration_report([r.family for r in records], [r.full_text for r in records]),
        "split": split,
        "training": trainer_output.training_section() if trainer_output else None,
        **figures,
        "gradients": _gradients(trainer_output, n_layers, run_dir),
        "updates": _updates(model, run_dir),
        "probes": probes,
        "timings": stages.seconds(),
    }
    if observational:
        from memgap.observational import comparability

        audit["comparability"] = comparability(rows, alpha=config.stats.alpha)
    return audit


def adapter_loading(folder, fit, unmerged_because: str | None) -> dict[str, Any]:
    """audit.json's `model.adapter_loading`: the PEFT versions, the config keys the installed PEFT ignored, a
    resize of the base's embeddings to the adapter's vocabulary, and whether evaluation merged the adapter."""
    import peft

    return {
        "peft_version_saved": folder.peft_version,
        "peft_version_installed": peft.__version__,
        "ignored_config_keys": list(folder.ignored_keys),
        "embedding_rows": {"base": fit.base_embedding_rows, "resized_to": fit.embedding_rows},
        "merged_for_evaluation": unmerged_because is None,
        "unmerged_because": unmerged_because,
    }


def adapter_audit_config(config, adapter_config: dict[str, Any], trainer_output) -> dict[str, Any]:
    """audit.json's `config` for an adapter trained elsewhere: memgap's evaluation settings as used, and, in
    place of memgap's own training and LoRA defaults (which did not train this adapter), the adapter's own.

    `lora`: from adapter_config.json. `training`: what the Trainer's trainer_state.json records when
    --training-dir gave one, else every value "unknown".
    """
    settings = config.to_dict()
    settings["lora"] = {
        "source": "adapter_config.json",
        "r": adapter_config.get("r"),
        "alpha": adapter_config.get("lora_alpha"),
        "dropout": adapter_config.get("lora_dropout"),
        "target_modules": _targets(adapter_config) or None,
        **{key: value for key, value in _settings(adapter_config).items()
           if key not in ("r", "lora_alpha", "base_model_name_or_path")},
    }
    if trainer_output is not None and trainer_output.state_file is not None:
        settings["training"] = trainer_output.hyperparameters()
    else:
        settings["training"] = {"source": None, "note": "unknown: the adapter was trained outside memgap and no "
                                "trainer_state.json was given (--training-dir)"}
    return settings


def _targets(adapter_config: dict[str, Any]) -> list[str]:
    targets = adapter_config.get("target_modules") or []
    return [targets] if isinstance(targets, str) else sorted(targets)


def _settings(adapter_config: dict[str, Any]) -> dict[str, Any]:
    """The adapter_config.json keys that change what the adapter computes."""
    keys = ("r", "lora_alpha", "use_rslora", "use_dora", "rank_pattern", "alpha_pattern", "modules_to_save",
            "base_model_name_or_path", "layers_to_transform", "lora_bias", "trainable_token_indices", "target_parameters")
    return {key: adapter_config.get(key) for key in keys if adapter_config.get(key) not in (None, {}, [])}


def _gradients(trainer_output, n_layers, run_dir: Path) -> dict[str, Any] | None:
    """The training-pressure summary from the user's gradnorms.csv, copied beside the audit for the report."""
    if trainer_output is None or trainer_output.gradnorms_csv is None:
        return None
    from memgap.training.pressure import gradient_summary

    target = run_dir / "training" / "gradnorms.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(trainer_output.gradnorms_csv, target)
    return gradient_summary(target, int(n_layers or 0))


def _updates(model, run_dir: Path) -> dict[str, Any]:
    """The realised update per module, from the adapter weights alone (training/updates.csv)."""
    from memgap.training.updates import realised_updates, update_summary, write_updates_csv

    rows = realised_updates(model)
    write_updates_csv(run_dir / "training" / "updates.csv", rows)
    return update_summary(rows)
