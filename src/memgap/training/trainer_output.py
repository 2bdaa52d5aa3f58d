"""What a training run left behind, read back for `memgap audit --training-dir DIR`.

The loss curve comes from `trainer_state.json` (the Trainer writes it into every checkpoint-N, and
into the output folder when the script calls `trainer.save_state()`), or, in a folder memgap itself
trained (`memgap train --out DIR`, a `memgap run` folder's `training/`), from its `log_history.json`
with the run's facts in `train_result.json`; the training-pressure sections come from
`gradnorms.csv` where memgap's `GradNormCallback` ran, and the seen- and unseen-family loss curves
from `family_gap.csv` where `FamilyGapCallback` ran. Any may be absent. The `checkpoint-N` adapters
the folder keeps are scored for the same curves by `memgap.checkpoint_curves`, once the audit has
the model in memory.

The log is also read for signs that training broke (`training_log_warnings`): a non-finite gradient
norm or loss, or a loss stuck at exactly 0.0. An audit of such an adapter measures a broken run, so
the audit says so in its `warnings`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgap.curves import CurveRow, read_family_gap
from memgap.errors import MemgapError

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
MEMGAP_LOG_FILE = "log_history.json"  # memgap's own training (memgap.training.sft.train_lora) writes these two
MEMGAP_RESULT_FILE = "train_result.json"
# Logged losses of exactly 0.0 in a row that count as a loss stuck at zero: a language model's
# cross-entropy on real text is never exactly zero, so a run of them means nothing was learned from
# (labels all masked) or the arithmetic broke; one such value can be a rounding accident.
STUCK_ZERO_LOSSES = 3


@dataclass(frozen=True)
class TrainerOutput:
    """The loss log of a Trainer run and where its gradient norms are, if recorded."""

    folder: Path
    log_history: list[dict[str, Any]] = field(default_factory=list)
    steps: int | None = None
    epochs: float | None = None
    state_file: Path | None = None  # the log's file: trainer_state.json, or memgap's log_history.json
    gradnorms_csv: Path | None = None
    state: dict[str, Any] = field(default_factory=dict)  # trainer_state.json less its log
    family_gap: tuple[CurveRow, ...] = ()  # FamilyGapCallback's per-item NLLs (family_gap.csv), read and checked up front
    result: dict[str, Any] | None = None  # train_result.json, in a folder memgap trained; None otherwise
    warnings: tuple[str, ...] = ()  # where the log says training broke (training_log_warnings), for audit.json

    @property
    def trained_by_memgap(self) -> bool:
        """Whether the folder is memgap's own training output (log_history.json and train_result.json)."""
        return self.result is not None

    def hyperparameters(self) -> dict[str, Any]:
        """The training settings trainer_state.json records (None where it does not), or, for a folder
        memgap trained, what train_result.json records (precision, LoRA targets, trainable parameters).

        trainer_state.json holds the epoch count, the per-device batch size and the step budget, not
        the configured learning rate (training_args.bin is a pickle, never read): the largest learning
        rate in the log is given instead, under a name that says so.
        """
        rates = [entry["learning_rate"] for entry in self.log_history if isinstance(entry.get("learning_rate"), (int, float))]
        if self.result is not None:  # memgap's own run: train_result.json holds its facts
            return {
                "source": str(self.folder / MEMGAP_RESULT_FILE),
                "trained_by": "memgap",
                "epochs": self.epochs,
                "global_step": self.steps,
                "largest_logged_learning_rate": max(rates) if rates else None,
                **{key: self.result.get(key) for key in ("precision", "lora_targets", "trainable_parameters",
                                                         "truncated_rows")},
            }
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
        result = self.result or {}
        return {
            "source": str(self.state_file) if self.state_file else None,
            "steps": self.steps,
            "epochs": self.epochs,
            "seconds": result.get("seconds", summary.get("train_runtime")),
            "tokens_per_s": result.get("tokens_per_s", summary.get("train_tokens_per_second")),
            "train_loss_first": losses[0] if losses else None,
            "train_loss_last": losses[-1] if losses else None,
            "truncated_rows": result.get("truncated_rows"),
            "log_history": self.log_history,
        }


def training_log_warnings(log_history: list[dict[str, Any]]) -> list[str]:
    """Where a Trainer log (`trainer_state.json`'s `log_history`) says training broke, one sentence each.

    Looks at the logged `grad_norm` and `loss` entries (the closing `train_loss` summary and
    evaluation losses are not step losses): a NaN or infinite gradient norm or loss at any logged
    step, and `STUCK_ZERO_LOSSES` or more consecutive logged losses of exactly 0.0 (every logged loss,
    where fewer were logged). Returns an empty list for a healthy log.
    """
    warnings = []
    for key, name in (("grad_norm", "gradient norm"), ("loss", "loss")):
        bad = [(entry.get("step"), value) for entry in log_history
               if key in entry and (value := _number(entry[key])) is not None and not math.isfinite(value)]
        if bad:
            step, value = bad[0]
            warnings.append(
                f"the training log has a non-finite {name} ({key} {value}) at {len(bad)} logged "
                f"step{'' if len(bad) == 1 else 's'}, first at step {step}: the adapter's updates after it may be "
                "NaN or meaningless; lower the learning rate or max_grad_norm, or train in float32, and re-train")
    losses = [(entry.get("step"), _number(entry["loss"])) for entry in log_history if "loss" in entry]
    run, longest, start = 0, (0, None), None
    for step, value in losses:
        run, start = (run + 1, start if run else step) if value == 0.0 else (0, None)
        if run > longest[0]:
            longest = (run, start)
    if longest[0] >= min(STUCK_ZERO_LOSSES, len(losses)) and longest[0] > 0:
        warnings.append(
            f"the training loss is exactly 0.0 at {longest[0]} consecutive logged steps from step {longest[1]}: "
            "no real completion has zero loss, so nothing was learned from these steps (labels all masked, or "
            "broken arithmetic such as a float16 overflow); check the data's completions and the precision, "
            "and re-train")
    return warnings


def _number(value: Any) -> float | None:
    """A logged figure as a float (loggers write NaN and infinity as numbers or as strings); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def read_trainer_output(folder: str | Path) -> TrainerOutput:
    """Find trainer_state.json (the folder's own, else the latest checkpoint-N's), or memgap's own
    log_history.json and train_result.json, and gradnorms.csv and family_gap.csv.

    Logs a warning for each sign of broken training in the log (`training_log_warnings`); the
    returned `warnings` hold the same sentences. Raises MemgapError when the folder is missing or holds
    none of these files, or a JSON file in it is unparsable.
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
    if state_file is None and (folder / MEMGAP_LOG_FILE).exists() and (folder / MEMGAP_RESULT_FILE).exists():
        return _with_warnings(_read_memgap_training(folder, gradnorms_csv, family_gap))
    if state_file is None and gradnorms_csv is None and not family_gap:
        raise MemgapError("no trainer_state.json (here or in a checkpoint-N folder), no gradnorms.csv and no "
                          "family_gap.csv; pass the Trainer's output_dir, and call trainer.save_state() at the end of "
                          "the script", where=str(folder))
    if state_file is None:
        return TrainerOutput(folder=folder, gradnorms_csv=gradnorms_csv, family_gap=family_gap)
    state = _read_json(state_file)
    history = [entry for entry in state.get("log_history") or [] if isinstance(entry, dict)]
    return _with_warnings(TrainerOutput(
        folder=folder, log_history=history, steps=state.get("global_step"), epochs=state.get("epoch"),
        state_file=state_file, gradnorms_csv=gradnorms_csv, family_gap=family_gap,
        state={key: value for key, value in state.items() if key != "log_history"}))


def _read_memgap_training(folder: Path, gradnorms_csv: Path | None, family_gap: tuple[CurveRow, ...]) -> TrainerOutput:
    """A folder `memgap train` or `memgap run` trained: the log from log_history.json, the facts from train_result.json."""
    log_file = folder / MEMGAP_LOG_FILE
    history = _read_json(log_file)
    if not isinstance(history, list):
        raise MemgapError("expected a list of log entries", where=str(log_file))
    result = _read_json(folder / MEMGAP_RESULT_FILE)
    if not isinstance(result, dict):
        raise MemgapError("expected an object of training facts", where=str(folder / MEMGAP_RESULT_FILE))
    history = [entry for entry in history if isinstance(entry, dict)]
    return TrainerOutput(folder=folder, log_history=history, steps=result.get("steps"), epochs=result.get("epochs"),
                         state_file=log_file, gradnorms_csv=gradnorms_csv, family_gap=family_gap, result=result)


def _with_warnings(output: TrainerOutput) -> TrainerOutput:
    warnings = training_log_warnings(output.log_history)
    for warning in warnings:
        log.warning("%s (%s)", warning, output.state_file)
    return dataclasses.replace(output, warnings=tuple(warnings))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MemgapError(f"unparsable JSON ({error.msg})", where=f"{path}:{error.lineno}") from None
