"""One precision story: what training, evaluation and the saved adapter weights run in, resolved once.

Three settings, each explicit in the config and recorded in audit.json with the reason it resolved so:

- `training.precision` (auto, fp32, bf16, fp16): mixed-precision autocast during training. Autocast keeps
  the weights (and the LoRA matrices the optimizer updates) in their own dtype and runs the matrix
  products in the lower precision; the Trainer does it with `TrainingArguments(bf16=True)` /
  `fp16=True` through accelerate's `torch.autocast`, on a GPU and on a CPU alike (fp16 on a GPU only).
  `auto` is bf16 where the device computes bfloat16 natively (a CPU with AVX512_BF16 or AMX-BF16, a
  GPU with bf16 support), fp16 on a GPU without bf16, float32 elsewhere: emulated bf16 is correct
  but many times slower than float32.
- `evaluation.precision` (auto, fp32, bf16, fp16): the reference NLL, generation and membership
  scores. `auto` computes in the weights' own dtype (`model.dtype`: float32 on a CPU, bfloat16 on a
  GPU that has it), with no autocast, so the figures of record do not depend on how training ran.
  A lower precision than the weights' runs under autocast; a higher one is refused (it would need
  another copy of the weights).
- `training.adapter_dtype` (auto, fp32, bf16, fp16): the dtype of the saved LoRA weights. `auto` is
  float32, the dtype PEFT trains LoRA matrices in (it up-casts them on half-precision bases).

`memgap run` evaluates its adapter as loaded back from the saved folder, exactly as `memgap audit`
loads it (memgap.pipeline), so the two give the same figures bit for bit under every precision.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.config import PRECISIONS
from memgap.errors import MemgapError

log = logging.getLogger(__name__)

_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
_TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
_SHORT = {dtype: short for short, dtype in _TORCH_DTYPES.items()}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is absent)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_has_native_bf16(flags: set[str] | frozenset[str] | None = None) -> bool:
    """True when the CPU computes bfloat16 products in hardware (AVX512_BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def weights_dtype(model) -> str:
    """torch's name of the dtype of `model`'s (first) weights: float32, bfloat16 or float16."""
    return str(next(model.parameters()).dtype).replace("torch.", "")


@dataclass(frozen=True)
class Hardware:
    """What the device training and evaluation run on offers, as far as precision goes.

    Tests build it directly (injected CPU flags, a stand-in for a CUDA GPU with or without bf16);
    `Hardware.detect` reads the machine.
    """

    device: str  # cpu | cuda | mps
    cpu_flags: frozenset[str] = frozenset()
    cuda_bf16: bool = False  # the GPU supports bfloat16 (compute capability 8.0 and later)

    @classmethod
    def detect(cls, device: str) -> "Hardware":
        """The hardware of `device` (cpu, cuda, mps or multi-gpu) on this machine."""
        device = "cuda" if device in ("cuda", "multi-gpu") else device
        cuda_bf16 = False
        if device == "cuda":
            import torch

            cuda_bf16 = bool(torch.cuda.is_bf16_supported())
        return cls(device=device, cpu_flags=frozenset(cpu_flags()), cuda_bf16=cuda_bf16)

    @property
    def native_bf16(self) -> bool:
        return self.cuda_bf16 if self.device == "cuda" else cpu_has_native_bf16(self.cpu_flags)

    def describe_bf16(self) -> str:
        if self.device == "cuda":
            return "this GPU supports bfloat16" if self.cuda_bf16 else "this GPU has no bfloat16 support"
        if self.device == "cpu":
            found = [flag.upper() for flag in _CPU_BF16_FLAGS if flag in self.cpu_flags]
            return (f"this CPU has {' and '.join(found)}" if found
                    else "this CPU has no native bfloat16 (no AVX512_BF16 or AMX-BF16)")
        return f"bfloat16 autocast is not used on {self.device}"


@dataclass(frozen=True)
class Resolved:
    """One resolved precision setting: the value (fp32, bf16 or fp16) and why it is that."""

    value: str
    requested: str
    reason: str

    @property
    def torch_dtype(self) -> str:
        """torch's name for the value: float32, bfloat16 or float16."""
        return _TORCH_DTYPES[self.value]

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "requested": self.requested, "reason": self.reason}


def _check_name(requested: str, setting: str) -> None:
    if requested not in PRECISIONS:
        raise MemgapError(f"'{setting}' must be one of {', '.join(PRECISIONS)}, got {requested!r}")


def resolve_training_precision(requested: str, hardware: Hardware) -> Resolved:
    """The autocast precision training runs in (`training.precision`) on `hardware`.

    Raises MemgapError for an unknown name, for bf16 on a GPU without bfloat16 support, and for fp16
    anywhere but a CUDA GPU. An explicit bf16 on a CPU without native instructions is honoured (it
    is correct, only slow), with a warning.
    """
    _check_name(requested, "training.precision")
    native = hardware.native_bf16
    if requested == "auto":
        if native:
            return Resolved("bf16", requested, f"auto: {hardware.describe_bf16()}")
        if hardware.device == "cuda":
            return Resolved("fp16", requested, f"auto: {hardware.describe_bf16()}, so float16 autocast")
        return Resolved("fp32", requested, f"auto: {hardware.describe_bf16()}")
    if requested == "fp16" and hardware.device != "cuda":
        raise MemgapError("training.precision is fp16, which needs a CUDA GPU (float16 autocast with loss scaling); "
                          "use bf16 or fp32 on this device")
    if requested == "bf16" and not native:
        if hardware.device == "cuda":
            raise MemgapError("training.precision is bf16 but this GPU has no bfloat16 support; use fp16, fp32 or auto")
        log.warning("this CPU has no native bfloat16 instructions (AVX512_BF16/AMX): bf16 training is emulated and slow")
        return Resolved("bf16", requested, f"set in the config; {hardware.describe_bf16()}, so it is emulated (slow)")
    return Resolved(requested, requested, "set in the config")


def resolve_evaluation_precision(requested: str, weights_dtype: str) -> Resolved:
    """The precision evaluation computes in (`evaluation.precision`), given the weights' torch dtype name.

    Raises MemgapError for an unknown name, or for a precision above the weights' (fp32 evaluation of
    bfloat16 weights).
    """
    _check_name(requested, "evaluation.precision")
    weights = _SHORT.get(weights_dtype, "fp32")
    if requested == "auto":
        return Resolved(weights, requested, f"auto: the weights' own dtype ({weights_dtype}), no autocast")
    if requested == weights:
        return Resolved(requested, requested, f"set in the config; the weights' own dtype ({weights_dtype})")
    if weights != "fp32":
        raise MemgapError(f"evaluation.precision is {requested} but the weights are {weights_dtype}; evaluation can only "
                          "autocast float32 weights down: set model.dtype to float32, or evaluation.precision to auto")
    return Resolved(requested, requested, f"set in the config; {_TORCH_DTYPES[requested]} autocast over float32 weights")


def resolve_adapter_dtype(requested: str) -> Resolved:
    """The dtype the trained LoRA weights are saved in (`training.adapter_dtype`)."""
    _check_name(requested, "training.adapter_dtype")
    if requested == "auto":
        return Resolved("fp32", requested, "auto: float32, the dtype PEFT trains LoRA weights in")
    return Resolved(requested, requested, "set in the config")


def saved_adapter_dtype(weights_file: Path) -> Resolved:
    """The dtype of a saved adapter's LoRA weights, read from the safetensors header (`mixed` when several)."""
    from safetensors import safe_open

    names = {"F32": "fp32", "BF16": "bf16", "F16": "fp16"}
    with safe_open(weights_file, framework="pt") as stream:
        found = {stream.get_slice(name).get_dtype() for name in stream.keys() if "lora_" in name}
    values = sorted(names.get(dtype, dtype.lower()) for dtype in found)
    value = values[0] if len(values) == 1 else "mixed"
    return Resolved(value, "as saved", f"read from {Path(weights_file).name}: {', '.join(sorted(found)) or 'no LoRA tensors'}")


@dataclass(frozen=True)
class PrecisionPlan:
    """The three resolved settings of one run or audit, as audit.json's `precision` records them.

    `training` and `adapter_weights` are None where memgap did not train (an adapter audited as given;
    its saved dtype is then in `adapter_weights` when read from the file).
    """

    evaluation: Resolved
    training: Resolved | None = None
    adapter_weights: Resolved | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"training": self.training.to_dict() if self.training else None,
                "evaluation": self.evaluation.to_dict(),
                "adapter_weights": self.adapter_weights.to_dict() if self.adapter_weights else None}

    def describe(self) -> str:
        """One line for the console: `precision: training bf16 (auto: ...); evaluation fp32 (...); ...`."""
        parts = [f"{name} {resolved.value} ({resolved.reason})" for name, resolved in
                 (("training", self.training), ("evaluation", self.evaluation), ("adapter weights", self.adapter_weights))
                 if resolved is not None]
        return "precision: " + "; ".join(parts)


def plan_precision(*, training: str | None, evaluation: str, adapter_dtype: str | None, weights_dtype: str,
                   hardware: Hardware) -> PrecisionPlan:
    """Resolve the three settings at once (None for the training ones where memgap does not train)."""
    return PrecisionPlan(
        evaluation=resolve_evaluation_precision(evaluation, weights_dtype),
        training=resolve_training_precision(training, hardware) if training is not None else None,
        adapter_weights=resolve_adapter_dtype(adapter_dtype) if adapter_dtype is not None else None,
    )


@contextlib.contextmanager
def evaluation_autocast(resolved: Resolved, weights_dtype: str, device_type: str) -> Iterator[None]:
    """Autocast to `resolved` where it is below the weights' dtype; otherwise run as the weights are."""
    if resolved.torch_dtype == weights_dtype:
        yield
        return
    import torch

    with torch.autocast(device_type=device_type, dtype=getattr(torch, resolved.torch_dtype)):
        yield



@contextlib.contextmanager
def scoring_precision(model, precision: str | None) -> Iterator[None]:
    """Score `model` mid-training in `precision` (None: the weights' own dtype), not in the training's autocast.

    accelerate's `prepare_model` wraps a model's forward in the mixed-precision autocast and keeps the
    unwrapped one as `model._original_forward`; the wrapped forward is put back on leaving the block,
    so training goes on as it was.
    """
    import torch

    patched = model.__dict__.get("forward")
    original = model.__dict__.get("_original_forward")
    if patched is not None and original is not None:
        model.forward = original
    dtype = weights_dtype(model)
    resolved = Resolved(precision or _SHORT.get(dtype, "fp32"), precision or "auto", "")
    try:
        with torch.autocast(device_type=model.device.type, enabled=False), \
                evaluation_autocast(resolved, dtype, model.device.type):
            yield
    finally:
        if patched is not None and original is not None:
            model.forward = patched
