"""`memgap train` as a function: read records, load the model, train LoRA with the gradient-norm
callback, then write the realised update table and summarise where training pressure went.

Works the same in one process and under `accelerate launch` (DDP): every rank trains, only the main
process writes the tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap import splits
from memgap.config import AuditConfig


@dataclass
class TrainingRun:
    """What `memgap train` wrote and the figures it prints."""

    out_dir: Path
    adapter_dir: Path
    gradnorms_csv: Path
    updates_csv: Path
    steps: int
    seconds: float
    tokens_per_s: float
    truncated_rows: int
    train_loss_first: float | None
    train_loss_last: float | None
    gradients: dict[str, Any]
    updates: dict[str, Any]
    is_main_process: bool
    family_gap_csv: Path | None = None
    curves: dict[str, Any] | None = None
    stopping: dict[str, Any] | None = None  # under training.stop_at: trained to step N of M, restored step K, why


def train_adapter(config: AuditConfig, data_path: str | Path, out_dir: str | Path, *, progress: bool = True,
                  seen_holdout: str | Path | None = None, unseen_holdout: str | Path | None = None) -> TrainingRun:
    """Train a LoRA adapter on every record of `data_path` with the settings of `config`.

    With both `seen_holdout` and `unseen_holdout` (record files with families), a `FamilyGapCallback`
    records their completion NLL (and a training sample's) at step 0 and `training.curve_points`
    evenly spaced steps into out_dir/family_gap.csv; `curves` then holds `memgap.curves.training_curves`.
    Raises MemgapError when only one hold-out is given, before any model is loaded.
    """
    from accelerate import PartialState

    from memgap.data.io import read_records
    from memgap.models import load_configured_model
    from memgap.preflight import apply_system_turn, render_every_row
    from memgap.training.pressure import gradient_summary
    from memgap.training.sft import train_lora
    from memgap.training.updates import realised_updates, update_summary

    out_dir = Path(out_dir)
    records = read_records(data_path, family_field=config.data.family_field)
    callbacks = []
    holdouts = _read_holdouts(config, seen_holdout, unseen_holdout)
    if holdouts is not None:  # built before the model loads, so bad hold-out records fail at once
        from memgap.training.curves_callback import FamilyGapCallback

        seen, unseen = holdouts
        size = config.training.curve_holdout_items
        callbacks.append(FamilyGapCallback(
            splits.spread_over_families(seen, size, config.seed), splits.spread_over_families(unseen, size, config.seed),
            train_sample=splits.spread_over_families(records, config.training.curve_train_items, config.seed)
            if config.training.curve_train_items else [],
            path=out_dir / "family_gap.csv", max_length=config.model.max_length,
            eval_points=config.training.curve_points,
            alpha=config.stats.alpha, stop_at=config.training.stop_at, patience=config.training.stop_patience,
            min_generalization_ratio=config.verdict.min_generalization_ratio))
    loaded = load_configured_model(config.model, progress=progress)
    for callback in callbacks:
        callback.tokenizer = loaded.tokenizer
    # The audit's rules for system turns and over-long rows (data.system_turn, data.overlong_rows).
    records, folded = apply_system_turn(records, config.data.system_turn)
    rendered = render_every_row(
        loaded.tokenizer, records, max_length=config.model.max_length, assistant_turns=config.training.assistant_turns,
        overlong_rows=config.data.overlong_rows, system_turn=config.data.system_turn, folded_system_turns=folded,
    )
    gradnorms_csv, updates_csv = out_dir / "gradnorms.csv", out_dir / "updates.csv"
    result = train_lora(  # records gradnorms.csv and writes updates.csv
        loaded, rendered.records, lora=config.lora, training=config.training, max_length=config.model.max_length,
        output_dir=out_dir, seed=config.seed, progress=progress, callbacks=callbacks,
        examples=[rendered.examples[record.id] for record in rendered.records],
    )
    is_main = PartialState().is_main_process
    update_rows = realised_updates(result.model)
    n_layers = int(getattr(loaded.model.config, "num_hidden_layers", 0) or 0)
    gradients = gradient_summary(gradnorms_csv, n_layers) if is_main else {}
    losses = result.train_losses
    return TrainingRun(
        out_dir=out_dir,
        adapter_dir=out_dir / "adapter",
        gradnorms_csv=gradnorms_csv,
        updates_csv=updates_csv,
        steps=result.steps,
        seconds=result.seconds,
        tokens_per_s=result.tokens_per_s,
        truncated_rows=result.truncated_rows,
        train_loss_first=losses[0] if losses else None,
        train_loss_last=losses[-1] if losses else None,
        gradients=gradients,
        updates=update_summary(update_rows),
        is_main_process=is_main,
        family_gap_csv=out_dir / "family_gap.csv" if callbacks else None,
        curves=callbacks[0].curves(min_generalization_ratio=config.verdict.min_generalization_ratio, seed=config.seed)
        if callbacks and is_main else None,
        stopping=result.stopping,
    )


def _read_holdouts(config: AuditConfig, seen_path, unseen_path):
    """Both hold-outs' records, None when neither is given; a MemgapError when only one is."""
    from memgap.data.io import read_records
    from memgap.errors import MemgapError

    if seen_path is None and unseen_path is None:
        if config.training.stop_at != "end":
            raise MemgapError(f"training.stop_at {config.training.stop_at!r} decides on the hold-outs' loss: give "
                              "--seen-holdout and --unseen-holdout, or set training.stop_at: end")
        return None
    if seen_path is None or unseen_path is None:
        raise MemgapError("the loss curves need both hold-outs: give --seen-holdout and --unseen-holdout together")
    if config.training.curve_points < 1:
        raise MemgapError("training.curve_points is 0, so the hold-outs would not be used; set it to 1 or more")
    return (read_records(seen_path, family_field=config.data.family_field),
            read_records(unseen_path, family_field=config.data.family_field))
