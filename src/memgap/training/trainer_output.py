"""What a user's own Trainer run left behind, read back for `memgap audit --training-dir DIR`.

The loss curve comes from `trainer_state.json` (the Trainer writes it into every checkpoint-N, and
into the output folder when the script calls `trainer.save_state()`); the training-pressure
sections come from `gradnorms.csv` where memgap's `GradNormCallback` ran, and the seen- and
unseen-family loss curves from `family_gap.csv` where `FamilyGapCallback` ran. Any may be absent.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgap.curves import CurveRow, read_family_gap
from memgap.errors import MemgapError

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class TrainerOutput:
    """The loss log of a Trainer run and where its gradient norms are, if recorded."""

    folder: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)
    steps: int | None = None
    epochs: float | None = None
    state_file: Path | None = None
    gradnorms_csv: Path | None = None
    state: dict[str, Any] = field(default_factory=dict)  # trainer_state.json less its log
    family_gap: tuple[CurveRow, ...] = ()  # FamilyGapCallback's per-item NLLs (family_gap.csv), read and checked up front

    def hyperparameters(self) -> dict[str, Any]:
        """The training settings trainer_state.json records (None where it does not).

        trainer_state.json holds the epoch count, the per-device batch size and the step budget, not
        the configured learning rate (training_args.bin is a pickle, never read): the largest learning
        rate in the log is given instead, under a name that says so.
        """
        rates = [entry["learning_rate"] for entry in self.log_history if isinstance(entry.get("learning_rate"), (int, float))]
        return {
            "source": str(self.state_file) if self.state_file else None,
            "num_train_epochs": self.state.get("num_train_epochs"),
            "per_device_train_batch_size": self.state.get("train_batch_size"),
            "max_steps": self.state.get("max_steps"),
            "global_step": self.steps,
            "largest_logged_learning_rate": max(rates) if rates else None,
        }

    def training_section(self) -> dict[str, Any]:
        """audit.json's `training` section: steps, epochs, first and last loss, the log."""
        losses = [entry["loss"] for entry in self.log_history if "loss" in entry]
        summary = next((entry for entry in reversed(self.log_history) if "train_runtime" in entry), {})
        return {
            "source": str(self.state_file) if self.state_file else None,
            "steps": self.steps,
            "epochs": self.epochs,
            "seconds": summary.get("train_runtime"),
            "tokens_per_s": summary.get("train_tokens_per_second"),
            "train_loss_first": losses[0] if losses else None,
            "train_loss_last": losses[-1] if losses else None,
            "truncated_rows": None,
            "log_history": self.log_history,
        }


def read_trainer_output(folder: str | Path) -> TrainerOutput:
    """Find trainer_state.json (the folder's own, else the latest checkpoint-N's) and gradnorms.csv.

    Raises MemgapError when the folder is missing or holds neither file.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise MemgapError("no such training folder", where=str(folder))
    state_file = folder / "trainer_state.json"
    if not state_file.exists():
        checkpoints = sorted((int(m[1]), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir())
        candidates = [p / "trainer_state.json" for _, p in reversed(checkpoints) if (p / "trainer_state.json").exists()]
        state_file = candidates[0] if candidates else None
    gradnorms = folder / "gradnorms.csv"
    gradnorms_csv = gradnorms if gradnorms.exists() else None
    family_gap_csv = folder / "family_gap.csv"
    family_gap = tuple(read_family_gap(family_gap_csv)) if family_gap_csv.exists() else ()
    if state_file is None and gradnorms_csv is None and not family_gap:
        raise MemgapError("no trainer_state.json (here or in a checkpoint-N folder), no gradnorms.csv and no "
                          "family_gap.csv; pass the Trainer's output_dir, and call trainer.save_state() at the end of "
                          "the script", where=str(folder))
    if state_file is None:
        return TrainerOutput(folder=folder, gradnorms_csv=gradnorms_csv, family_gap=family_gap)
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MemgapError(f"unparsable JSON ({error.msg})", where=f"{state_file}:{error.lineno}") from None
    history = [entry for entry in state.get("log_history") or [] if isinstance(entry, dict)]
    return TrainerOutput(folder=folder, log_history=history, steps=state.get("global_step"), epochs=state.get("epoch"),
                         state_file=state_file, gradnorms_csv=gradnorms_csv, family_gap=family_gap,
                         state={key: value for key, value in state.items() if key != "log_history"})
