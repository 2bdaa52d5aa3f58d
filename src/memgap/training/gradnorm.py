"""`GradNormCallback`: where did training pressure go? Per-LoRA-matrix gradient norms, before clipping.

A drop-in `TrainerCallback` for the transformers Trainer and TRL's SFTTrainer. At every optimizer step
(or every N) it records the norm of every LoRA A and B gradient into a tidy `gradnorms.csv`
(`step, layer, module, group, matrix, norm`) and adds aggregates (total, per module type, attention vs
MLP share) to the Trainer's logs, so they reach TensorBoard, W&B or MLflow through `report_to`.

Why before clipping: clipping rescales every gradient by one factor whenever the total norm exceeds
`max_grad_norm`, which flattens exactly the trend we want to see. The Trainer clips inside
`accelerator.clip_grad_norm_` and only then fires `on_pre_optimizer_step`, so the callback wraps that
method on the running Trainer's accelerator and measures just before the real clip. At that point the
gradients are complete: accumulated over the micro-batches of the step, and all-reduced under DDP.
"""
from __future__ import annotations

import csv
import inspect
import logging
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from transformers import TrainerCallback

from memgap.columns import GRADNORM_COLUMNS
from memgap.training.architectures import describe_module
from memgap.training.pressure import gradient_summary  # noqa: F401  (re-exported: the summary of this callback's table)

log = logging.getLogger(__name__)

COLUMNS = tuple(GRADNORM_COLUMNS)
GROUPS = ("attention", "mlp", "other")
_LORA_PARAMETER = re.compile(r"^(?P<module>.+)\.lora_(?:embedding_)?(?P<matrix>[AB])(?:\.[^.]+)?(?:\.weight)?$")


class GradNormCallback(TrainerCallback):
    """Record pre-clip gradient norms of every LoRA matrix at each optimizer step (or every N).

    Parameters:
        path: gradnorms.csv (columns `memgap.columns.GRADNORM_COLUMNS`: step, layer, module, group,
            matrix, norm); None: gradnorms.csv in the Trainer's `output_dir`.
        every_n_steps: record every N-th optimizer step (>= 1).
        trainer: the Trainer this callback is added to. Optional: without it the callback finds the
            running Trainer on the call stack when training begins (the callback API hands callbacks the
            model and optimizer, not the Trainer, and the Trainer is needed to measure before clipping
            and to log).
        log_aggregates: add the mean total and per-module norms and the attention/MLP shares of the
            squared norm (`aggregates`) to the Trainer's logs.
    Each norm is the L2 (Frobenius) norm of one LoRA A or B matrix's gradient, after gradient
    accumulation and, under DDP, the all-reduce, and before `max_grad_norm` clipping. If no Trainer is
    found (a custom loop driving callbacks by hand), the norms are taken in `on_pre_optimizer_step`,
    which is after clipping whenever `max_grad_norm` > 0, and a warning says so.
    Raises ValueError for every_n_steps < 1. A resumed run keeps the rows up to its checkpoint.
    """

    def __init__(self, path: str | Path | None = None, *, every_n_steps: int = 1, trainer=None, log_aggregates: bool = True):
        if every_n_steps < 1:
            raise ValueError("every_n_steps must be at least 1")
        self.path = Path(path) if path is not None else None
        self.every_n_steps = every_n_steps
        self.trainer = trainer
        self.log_aggregates = log_aggregates
        self._entries: list[tuple[int, str, str, str, str]] = []  # (layer, module, group, matrix, parameter name)
        self._parameters: list = []
        self._last_recorded_step = 0
        self._pending: list[np.ndarray] = []  # squared norms of steps recorded since the last log
        self._writer = None
        self._file = None
        self._restore: list[tuple[object, str, object]] = []
        self._warned_post_clip = False

    # ---- wiring -------------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.trainer = self.trainer or _find_running_trainer()
        named = _lora_parameters(model if model is not None else self.trainer.model)
        if not named:
            log.warning("GradNormCallback found no trainable LoRA parameters; nothing will be recorded")
        self._parameters = [parameter for _, parameter in named]
        self._entries = []
        for name, _ in named:
            match = _LORA_PARAMETER.match(name)
            where = describe_module(match["module"])
            self._entries.append((where.layer, where.module, where.group, match["matrix"], name))
        self._index = _AggregateIndex(self._entries)
        self._last_recorded_step = state.global_step
        self._pending = []
        if self.trainer is not None:
            self._wrap(self.trainer.accelerator, "clip_grad_norm_", self._measuring_clip)
            if self.log_aggregates:
                self._wrap(self.trainer, "log", self._logging_with_aggregates)
            self._sharded = _shards_parameters(self.trainer.accelerator)
            if _uses_deepspeed(self.trainer.accelerator):
                log.warning("GradNormCallback: DeepSpeed keeps gradients outside parameter.grad; the norms it records read 0")
        else:
            self._sharded = False
            log.warning(
                "GradNormCallback could not find the running Trainer; pass trainer=... to measure before "
                "clipping and to send aggregates to every report_to integration"
            )
        if state.is_world_process_zero:
            self._open(Path(self.path or Path(args.output_dir) / "gradnorms.csv"), resumed_at=state.global_step)

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        # Reached without a clip call when no Trainer was found, or when a Trainer version skips the
        # norm entirely for max_grad_norm == 0; then the gradients here are the raw ones.
        step = state.global_step + 1
        if self._due(step) and self._last_recorded_step < step:
            if args.max_grad_norm and args.max_grad_norm > 0 and not self._warned_post_clip:
                log.warning("GradNormCallback is measuring after clipping (no Trainer clip call seen); norms are scaled down")
                self._warned_post_clip = True
            self._record(step, state.is_world_process_zero)

    def on_log(self, args, state, control, logs=None, **kwargs):
        # Only without a Trainer to wrap: the logs dict reaches the integrations that run after us.
        if self.trainer is None and self.log_aggregates and logs is not None and "loss" in logs:
            aggregates = self._take_aggregates()
            logs.update(aggregates)
            if state.log_history:
                state.log_history[-1].update(aggregates)
        self._flush()

    def on_save(self, args, state, control, **kwargs):
        self._flush()  # a checkpoint must not be ahead of the table it resumes

    def on_train_end(self, args, state, control, **kwargs):
        for owner, name, previous in reversed(self._restore):
            if previous is None:
                vars(owner).pop(name, None)
            else:
                setattr(owner, name, previous)
        self._restore = []
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None

    def _wrap(self, owner, name: str, make):
        previous = vars(owner).get(name)
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._restore.append((owner, name, previous))

    def _measuring_clip(self, original):
        def clip_grad_norm_(parameters, max_norm, *args, **kwargs):
            step = self.trainer.state.global_step + 1
            if self._due(step) and self._last_recorded_step < step:
                self._record(step, self.trainer.state.is_world_process_zero)
            return original(parameters, max_norm, *args, **kwargs)

        return clip_grad_norm_

    def _logging_with_aggregates(self, original):
        def log_with_aggregates(logs, *args, **kwargs):
            if "loss" in logs:  # a training log, not an evaluation
                logs.update(self._take_aggregates())
            return original(logs, *args, **kwargs)

        return log_with_aggregates

    def _due(self, step: int) -> bool:
        return (step - 1) % self.every_n_steps == 0

    # ---- measuring --------------------------------------------------------------------------

    def _record(self, step: int, is_main: bool) -> None:
        self._last_recorded_step = step
        if not self._parameters:
            return
        squared = self._squared_norms()
        self._pending.append(squared)
        if is_main and self._writer is not None:
            norms = np.sqrt(squared)
            self._writer.writerows(
                (step, layer, module, group, matrix, f"{norm:.8g}")
                for (layer, module, group, matrix, _), norm in zip(self._entries, norms)
            )

    def _squared_norms(self) -> np.ndarray:
        """One fused norm kernel per device and one device-to-host copy for all LoRA gradients."""
        import torch

        grads = [_local(parameter.grad) for parameter in self._parameters]
        devices = {grad.device for grad in grads if grad is not None}
        if len(devices) == 1 and all(grad is not None for grad in grads):
            squared = torch.stack(torch._foreach_norm(grads)).float().square()  # the common case: one kernel
        else:  # model split over devices, or parameters without a gradient this step
            squared = self._squared_norms_scattered(grads, torch)
        if self._sharded:
            # FSDP shards each gradient across ranks: the squared norms of the shards add up.
            torch.distributed.all_reduce(squared)
        scale = _loss_scale(self.trainer)
        if scale != 1.0:
            squared = squared / (scale * scale)  # fp16 gradients are still multiplied by the loss scale here
        return squared.cpu().numpy().astype(np.float64)

    def _squared_norms_scattered(self, grads, torch):
        present = [index for index, grad in enumerate(grads) if grad is not None]
        first_device = grads[present[0]].device if present else torch.device("cpu")
        squared = torch.zeros(len(grads), dtype=torch.float32, device=first_device)
        by_device: dict = defaultdict(list)
        for index in present:
            by_device[grads[index].device].append(index)
        for indices in by_device.values():
            norms = torch.stack(torch._foreach_norm([grads[i] for i in indices])).float()
            squared[torch.tensor(indices, device=first_device)] = norms.to(first_device).square()
        return squared

    def _take_aggregates(self) -> dict[str, float]:
        if not self._pending:
            return {}
        steps, self._pending = np.stack(self._pending), []
        return self._index.aggregates(steps)

    # ---- the table --------------------------------------------------------------------------

    def _open(self, path: Path, resumed_at: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        kept: list[list[str]] = []
        if resumed_at > 0 and path.exists():
            # Resuming from a checkpoint: keep the rows up to it, drop those of the lost steps after it.
            with open(path, newline="", encoding="utf-8") as stream:
                reader = csv.reader(stream)
                header = next(reader, None)
                if header == list(COLUMNS):
                    kept = [row for row in reader if _complete_row(row) and int(row[0]) <= resumed_at]
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(COLUMNS)
        self._writer.writerows(kept)
        self.path = path

    def _flush(self) -> None:
        if self._file is not None:
            self._file.flush()


def _complete_row(row: list[str]) -> bool:
    """A whole table row; a kill can tear the last line, and "1" torn from "13,..." must not pass as step 1."""
    if len(row) != len(COLUMNS) or not row[0].isdigit():
        return False
    try:
        float(row[-1])
    except ValueError:
        return False
    return True


class _AggregateIndex:
    """Precomputed groupings of the parameter list, so per-log aggregates are a few bincounts."""

    def __init__(self, entries):
        self.modules = sorted({module for _, module, _, _, _ in entries})
        self.module_of = np.array([self.modules.index(module) for _, module, _, _, _ in entries], dtype=np.int64)
        self.group_of = np.array([GROUPS.index(group) for _, _, group, _, _ in entries], dtype=np.int64)

    def aggregates(self, squared_by_step: np.ndarray) -> dict[str, float]:
        """Means over the recorded steps: total norm, norm per module type, share per group."""
        totals = squared_by_step.sum(axis=1)
        result = {"gradnorm/total": float(np.sqrt(totals).mean())}
        per_module = np.stack([np.bincount(self.module_of, weights=row, minlength=len(self.modules)) for row in squared_by_step])
        for index, module in enumerate(self.modules):
            result[f"gradnorm/{module}"] = float(np.sqrt(per_module[:, index]).mean())
        per_group = np.stack([np.bincount(self.group_of, weights=row, minlength=len(GROUPS)) for row in squared_by_step])
        safe_totals = np.where(totals > 0, totals, 1.0)
        for index, group in enumerate(GROUPS):
            if (self.group_of == index).any():
                result[f"gradnorm/{group}_share"] = float((per_group[:, index] / safe_totals).mean())
        return {key: value for key, value in result.items() if math.isfinite(value)}


def _lora_parameters(model) -> list[tuple[str, object]]:
    """The trainable LoRA A/B parameters of a PEFT model, by name, in model order."""
    return [
        (name, parameter)
        for name, parameter in model.named_parameters()
        if parameter.requires_grad and _LORA_PARAMETER.match(name)
    ]


def _find_running_trainer():
    """The Trainer whose training loop is calling us, found on the call stack (None outside one)."""
    from transformers import Trainer

    frame = inspect.currentframe()
    try:
        while frame is not None:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, Trainer):
                return candidate
            frame = frame.f_back
    finally:
        del frame
    return None


def _local(grad):
    """The local shard of a DTensor gradient (FSDP2), the gradient itself otherwise."""
    if grad is None:
        return None
    to_local = getattr(grad, "to_local", None)
    return to_local() if callable(to_local) else grad


def _shards_parameters(accelerator) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.FSDP


def _uses_deepspeed(accelerator) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type == DistributedType.DEEPSPEED


def _loss_scale(trainer) -> float:
    scaler = getattr(getattr(trainer, "accelerator", None), "scaler", None)
    if scaler is None or not getattr(scaler, "is_enabled", lambda: False)():
        return 1.0
    return float(scaler.get_scale())
