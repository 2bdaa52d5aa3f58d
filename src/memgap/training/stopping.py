"""When to stop training: the rule `FamilyGapCallback` applies at its evaluation points, and the LoRA weights it keeps.

Two rules stop a run before its last step (docs/curves.md, "Stopping"):

- `best-unseen`: the unseen-family loss has not improved for `patience` evaluation points;
- `onset`: the onset rule of `memgap.curves` confirms, with the points measured so far, that the gap
  between seen- and unseen-family loss opened.

`end` (the default) trains to the last step and keeps the last weights. With either rule the
callback keeps the LoRA weights of the evaluation point with the lowest unseen-family loss and
restores them when training ends, so the adapter saved afterwards is that point's. Step 0 (the base
model) is the reference, never a candidate: its LoRA weights change nothing.

The decision is a pure function of the curve rows (`stop_reason`); the weights and the state a
resumed run needs go into each checkpoint folder beside the Trainer's own files (`save_state`),
so `save_total_limit` rotates them away with their checkpoint.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.atomic import write_text_atomic
from memgap.curves import SEEN, UNSEEN, CurveRow, mean_nll_by_step, onset_of
from memgap.errors import MemgapError

STOP_RULES = ("end", "best-unseen", "onset")
DEFAULT_PATIENCE = 2  # evaluation points without a better unseen-family loss before `best-unseen` stops
STATE_FILE = "memgap_stopping.json"  # in each checkpoint-N folder: the rule's state at that step
WEIGHTS_FILE = "memgap_best_lora.safetensors"  # in each checkpoint-N folder: the best point's LoRA weights so far


def check_stop_rule(stop_at: str, patience: int, *, where: str | None = None) -> None:
    """Raise `MemgapError` for an unknown rule or a patience below 1."""
    if stop_at not in STOP_RULES:
        raise MemgapError(f"stop_at must be one of {', '.join(STOP_RULES)}, got {stop_at!r}", where=where)
    if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
        raise MemgapError(f"stop_patience must be a whole number of evaluation points, at least 1, got {patience!r}",
                          where=where)


def best_trained_step(rows: Sequence[CurveRow]) -> int | None:
    """The evaluation step after step 0 with the lowest mean unseen-family NLL (the earliest on a tie); None before any."""
    means = {step: value for step, value in mean_nll_by_step(rows, UNSEEN).items() if step > 0}
    if not means:
        return None
    return min(means, key=lambda step: (means[step], step))


def points_since_best(rows: Sequence[CurveRow]) -> int:
    """Evaluation points after the best trained step (0 while the last point is the best)."""
    best = best_trained_step(rows)
    if best is None:
        return 0
    return sum(1 for step in mean_nll_by_step(rows, UNSEEN) if step > best)


def stop_reason(rows: Sequence[CurveRow], *, stop_at: str, patience: int = DEFAULT_PATIENCE, alpha: float = 0.05,
                min_generalization_ratio: float = 0.5, min_points_after: int = 2) -> dict[str, Any] | None:
    """Whether `stop_at` stops training after the points in `rows`: None to go on, else the reason.

    Returns `{"reason": "patience", "best_step", "points_since_best", "text"}` or
    `{"reason": "onset", "onset_step", "confirmed_at_step", "text"}`. Under `onset`, the rule of
    `memgap.curves.find_onset` is applied to the points so far; a gap it confirms now might not
    have lasted, which is the price of deciding live.
    """
    if stop_at == "best-unseen":
        since = points_since_best(rows)
        if since >= patience:
            best = best_trained_step(rows)
            return {"reason": "patience", "best_step": best, "points_since_best": since,
                    "text": f"the unseen-family loss did not improve for {since} evaluation points after step {best}"}
    elif stop_at == "onset":
        onset = onset_of(rows, alpha=alpha, min_generalization_ratio=min_generalization_ratio,
                         min_points_after=min_points_after)
        if onset is not None:
            return {"reason": "onset", "onset_step": onset["step"], "confirmed_at_step": onset["to_step"],
                    "text": f"the seen-unseen gap opened at step {onset['step']}, confirmed at step {onset['to_step']}"}
    return None


def point_figures(rows: Sequence[CurveRow], step: int | None) -> dict[str, Any] | None:
    """`{step, seen_holdout_nll, unseen_holdout_nll}` at one evaluation step (None where it was not scored)."""
    if step is None:
        return None
    figures: dict[str, Any] = {"step": step}
    for holdout in (SEEN, UNSEEN):
        figures[f"{holdout}_nll"] = mean_nll_by_step(rows, holdout).get(step)
    return figures


@dataclass
class KeptWeights:
    """The trainable (LoRA) weights of one evaluation point, on the CPU."""

    step: int
    tensors: dict[str, Any]

    @classmethod
    def of(cls, model, step: int) -> KeptWeights:
        return cls(step, {name: parameter.detach().to("cpu", copy=True)
                          for name, parameter in model.named_parameters() if parameter.requires_grad})

    def restore(self, model) -> None:
        """Copy the kept weights back into `model` in place (its dtype and device)."""
        import torch

        parameters = dict(model.named_parameters())
        missing = sorted(set(self.tensors) - set(parameters))
        if missing:
            raise RuntimeError(f"kept LoRA weights {missing[:3]} are not parameters of the model being restored")
        with torch.no_grad():
            for name, tensor in self.tensors.items():
                parameters[name].copy_(tensor.to(parameters[name].device, parameters[name].dtype))


def save_state(folder: Path, state: dict[str, Any], kept: KeptWeights | None) -> None:
    """Write the rule's state (and the kept weights) into a checkpoint folder."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if kept is not None:
        save_file({name: tensor.contiguous() for name, tensor in kept.tensors.items()}, str(folder / WEIGHTS_FILE))
    write_text_atomic(folder / STATE_FILE, json.dumps({**state, "kept_step": kept.step if kept else None}, indent=1))


def load_state(folder: Path) -> tuple[dict[str, Any], KeptWeights | None] | None:
    """The state `save_state` wrote into a checkpoint folder, or None where it is absent."""
    from safetensors.torch import load_file

    state_file = folder / STATE_FILE
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text(encoding="utf-8"))
    kept = None
    if state.get("kept_step") is not None and (folder / WEIGHTS_FILE).exists():
        kept = KeptWeights(int(state["kept_step"]), load_file(str(folder / WEIGHTS_FILE)))
    return state, kept


def rows_to_lists(rows: Sequence[CurveRow]) -> list[list[Any]]:
    return [[row.step, row.holdout, row.id, row.family, row.nll, row.n_tokens] for row in rows]


def rows_from_lists(items: Sequence[Sequence[Any]]) -> list[CurveRow]:
    return [CurveRow(int(step), str(holdout), str(item), str(family), float(nll), int(n_tokens))
            for step, holdout, item, family, nll, n_tokens in items]


def stopping_summary(stopping: dict[str, Any]) -> dict[str, Any]:
    """The stopping record with the sentence the report and the console quote.

    "Trained to step N of M (reason); restored step K: unseen-family NLL a, seen-family NLL b. The final
    adapter would have scored unseen c, seen d." The figures are the curve points' means (nats per token).
    """
    summary = dict(stopping)
    stopped, planned, restored = stopping.get("stopped_at_step"), stopping.get("max_steps"), stopping.get("restored_step")
    text = f"Trained to step {stopped} of {planned} ({stopping.get('reason_text')})"
    best, final = stopping.get("restored") or {}, stopping.get("final") or {}
    if restored is None:
        text += "; no trained point was scored, so the last weights were kept."
    else:
        text += (f"; restored step {restored}: unseen-family NLL {_nats(best.get('unseen_holdout_nll'))}, "
                 f"seen-family {_nats(best.get('seen_holdout_nll'))}.")
        if final and restored != stopped:
            text += (f" The final adapter (step {stopped}) would have scored unseen {_nats(final.get('unseen_holdout_nll'))}, "
                     f"seen {_nats(final.get('seen_holdout_nll'))}.")
    summary["sentence"] = text
    return summary


def _nats(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "not scored"
