"""Seen- and unseen-family curves scored post hoc from the `checkpoint-N/` adapters a Trainer run leaves.

Every Trainer run with `save_strategy="steps"` leaves `checkpoint-N/adapter_config.json` and
`adapter_model.safetensors` in its output folder. `memgap audit --training-dir DIR` scores each one
on both hold-outs (reference NLL only, the audit's scorer `completion_token_stats`), on the one
PeftModel already in memory: each checkpoint is loaded beside the audited adapter with PEFT's
`load_adapter`, made active with `set_adapter`, scored, and removed with `delete_adapter`. Step 0 is
the audit's own base-model evaluation. The rows are `CurveRow`s, so the statistics, onset and best
step are those of the live `FamilyGapCallback` (`memgap.curves.training_curves`), and the
checkpoint to ship is the one at the best step (docs/curves.md, "After training, from checkpoints").
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.curves import SEEN, UNSEEN, CurveRow, training_curves
from memgap.data.records import Record
from memgap.errors import MemgapError

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
NO_CHECKPOINTS_NOTE = (
    "no checkpoint-N folders with an adapter (adapter_config.json and adapter_model.safetensors) here: to draw the "
    "seen- and unseen-family curves after training, train with save_strategy='steps' and keep the checkpoints "
    "(save_total_limit unset), or add memgap.FamilyGapCallback to write family_gap.csv"
)


@dataclass(frozen=True)
class CheckpointAdapter:
    """One `checkpoint-N` folder holding a LoRA adapter."""

    step: int
    path: Path


def find_checkpoint_adapters(folder: str | Path) -> list[CheckpointAdapter]:
    """The `checkpoint-N` folders under `folder` that hold an adapter, by step; empty when there are none.

    In a folder memgap trained (`memgap train --out DIR`, a run's `training/`), they are under
    `checkpoints/`, kept with `training.keep_checkpoints: true`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    if not any(_CHECKPOINT.match(path.name) for path in folder.iterdir()) and (folder / "checkpoints").is_dir():
        folder = folder / "checkpoints"
    found = []
    for path in folder.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir() and all((path / name).is_file() for name in ADAPTER_FILES):
            found.append(CheckpointAdapter(int(match[1]), path))
    return sorted(found, key=lambda checkpoint: checkpoint.step)


def score_checkpoints(model, tokenizer, checkpoints: Sequence[CheckpointAdapter], holdouts: dict[str, Sequence[Record]],
                      *, max_length: int, batch_size: int = 4, precision: str | None = None) -> tuple[list[CurveRow], float]:
    """Per-item completion NLL of each checkpoint's adapter on `holdouts` (`seen_holdout`, `unseen_holdout`).

    `model` is a PeftModel; its active adapter is active again afterwards. Returns the rows and the
    seconds spent. Raises MemgapError naming a checkpoint PEFT cannot load onto this model.
    """
    import torch

    from memgap.evaluation.nll import completion_token_stats
    from memgap.training.precision import scoring_precision

    active = model.active_adapter
    items = [(holdout, record) for holdout, records in holdouts.items() for record in records]
    rows: list[CurveRow] = []
    started = time.perf_counter()
    for checkpoint in checkpoints:
        name = f"memgap-checkpoint-{checkpoint.step}"
        try:
            model.load_adapter(str(checkpoint.path), adapter_name=name, is_trainable=False)
        except (RuntimeError, ValueError, KeyError, TypeError, OSError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise MemgapError(f"PEFT cannot load this checkpoint's adapter onto the audited model ({first})",
                              where=str(checkpoint.path)) from None
        try:
            model.set_adapter(name)
            model.eval()
            with torch.no_grad(), scoring_precision(model, precision):
                stats = completion_token_stats(model, tokenizer, [record for _, record in items], max_length=max_length,
                                               batch_size=batch_size, spread=False)
            rows += [CurveRow(checkpoint.step, holdout, record.id, str(record.family), s.nll, s.n_tokens)
                     for (holdout, record), s in zip(items, stats) if s.n_tokens]
        finally:
            model.set_adapter(active)
            model.delete_adapter(name)
    return rows, time.perf_counter() - started


def checkpoint_curves(rows: Sequence[CurveRow], checkpoints: Sequence[CheckpointAdapter], *,
                      live_rows: Sequence[CurveRow] = (), seconds: float | None = None, **statistics: Any) -> dict[str, Any] | None:
    """`training_curves` of the checkpoint rows (with step 0), with `source`, the checkpoint to ship and,
    where the live callback's family_gap.csv is given too, how the two agree.

    `statistics`: `training_curves`' keyword arguments (alpha, min_generalization_ratio, n_resamples, seed).
    `checkpoints` in the result: `steps`, `folder`, `ship` (`{step, path}` at the best step; None when
    no checkpoint lowered the unseen-family loss below the base's), `seconds_per_checkpoint`, `agreement`,
    `sentence`.
    """
    curves = training_curves(rows, **statistics)
    if curves is None:
        return None
    by_step = {checkpoint.step: checkpoint for checkpoint in checkpoints}
    best = curves["best_step"]
    ship = {"step": best, "path": str(by_step[best].path)} if best in by_step else None
    agreement = live_agreement(rows, live_rows, **statistics) if live_rows else None
    if ship is not None:
        sentence = (f"Scored {len(checkpoints)} checkpoints on both hold-outs: ship {by_step[best].path.name}, "
                    f"whose unseen-family loss ({curves['best_unseen_nll']:.3f}) is the lowest.")
    else:
        sentence = (f"Scored {len(checkpoints)} checkpoints on both hold-outs: none has a lower unseen-family loss "
                    "than the base model.")
    if agreement is not None:
        sentence += (" The live curves (family_gap.csv) agree at the steps both scored."
                     if agreement["agree"] else
                     " The live curves (family_gap.csv) disagree with them at the steps both scored (see "
                     "training_curves.checkpoints.agreement).")
    curves["source"] = "checkpoints"
    curves["checkpoints"] = {
        "folder": str(Path(checkpoints[0].path).parent) if checkpoints else None,
        "steps": [checkpoint.step for checkpoint in checkpoints],
        "ship": ship,
        "seconds_per_checkpoint": seconds / len(checkpoints) if seconds is not None and checkpoints else None,
        "agreement": agreement,
        "sentence": sentence,
    }
    return curves


# Two scorings of the same weights and items differ by float rounding only (batch composition and padding);
# a gap above this is a different model or different items.
AGREEMENT_NLL_TOLERANCE = 1e-3


def live_agreement(checkpoint_rows: Sequence[CurveRow], live_rows: Sequence[CurveRow], **statistics: Any) -> dict[str, Any]:
    """How the live curves (family_gap.csv) compare with the checkpoint curves at the steps and items both scored.

    `agree`: every common item's NLL within `AGREEMENT_NLL_TOLERANCE` nats, at at least one common
    trained step. Also returns the largest difference, the common steps and items, and each side's
    best step and onset over the common steps.
    """
    live = {(row.step, row.holdout, row.id): row.nll for row in live_rows if row.holdout in (SEEN, UNSEEN)}
    common: dict[tuple[int, str, str], tuple[float, float]] = {}
    for row in checkpoint_rows:
        key = (row.step, row.holdout, row.id)
        if key in live:
            common[key] = (row.nll, live[key])
    steps = sorted({key[0] for key in common})
    largest = max((abs(a - b) for a, b in common.values()), default=None)

    def on_common(rows):
        keys = set(common)
        kept = [row for row in rows if (row.step, row.holdout, row.id) in keys]
        curves = training_curves(kept, **statistics) if len(steps) >= 2 else None
        return None if curves is None else {"best_step": curves["best_step"],
                                            "onset_step": (curves["onset"] or {}).get("step")}

    return {
        "common_steps": steps,
        "common_items": len({key[1:] for key in common}),
        "largest_nll_difference": largest,
        "tolerance": AGREEMENT_NLL_TOLERANCE,
        "agree": largest is not None and any(step > 0 for step in steps) and largest <= AGREEMENT_NLL_TOLERANCE,
        "checkpoints": on_common(checkpoint_rows),
        "live": on_common(live_rows),
    }
