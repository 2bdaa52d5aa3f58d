"""`memgap train` as a function: read records, load the model, train LoRA with the gradient-norm
callback, then write the realised update table and summarise where training pressure went.

Works the same in one process and under `accelerate launch` (DDP): every rank trains, only the main
process writes the tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def train_adapter(config: AuditConfig, data_path: str | Path, out_dir: str | Path, *, progress: bool = True) -> TrainingRun:
    """Train a LoRA adapter on every record of `data_path` with the settings of `config`."""
    from accelerate import PartialState

    from memgap.data.io import read_records
    from memgap.models import load_configured_model
    from memgap.preflight import apply_system_turn, render_every_row
    from memgap.training.pressure import gradient_summary
    from memgap.training.sft import train_lora
    from memgap.training.updates import realised_updates, update_summary

    out_dir = Path(out_dir)
    records = read_records(data_path, family_field=config.data.family_field)
    loaded = load_configured_model(config.model)
    # The audit's rules for system turns and over-long rows (data.system_turn, data.overlong_rows).
    records, folded = apply_system_turn(records, config.data.system_turn)
    rendered = render_every_row(
        loaded.tokenizer, records, max_length=config.model.max_length, assistant_turns=config.training.assistant_turns,
        overlong_rows=config.data.overlong_rows, system_turn=config.data.system_turn, folded_system_turns=folded,
    )
    gradnorms_csv, updates_csv = out_dir / "gradnorms.csv", out_dir / "updates.csv"
    result = train_lora(  # records gradnorms.csv and writes updates.csv
        loaded, rendered.records, lora=config.lora, training=config.training, max_length=config.model.max_length,
        output_dir=out_dir, seed=config.seed, progress=progress,
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
    )
