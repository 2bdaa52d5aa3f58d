"""Which floating-point precision training runs in: float32, or bfloat16 autocast where the hardware has it.

Autocast keeps the weights (and the LoRA matrices the optimizer updates) in their own dtype and runs
the matrix products in bfloat16; the Trainer does it with `TrainingArguments(bf16=True)` on a GPU and
on a CPU alike (through accelerate's `torch.autocast`). A CPU without native bfloat16 instructions
(AVX512_BF16 or AMX) emulates them and runs many times slower than float32, so `auto` keeps float32 there.
"""
from __future__ import annotations

import logging
from pathlib import Path

from memgap.errors import MemgapError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


def cpu_has_native_bf16(flags: set[str] | None = None) -> bool:
    """True when the CPU computes bfloat16 products in hardware (AVX512_BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def bf16_supported(*, use_cuda: bool, flags: set[str] | None = None) -> bool:
    """Whether bfloat16 autocast runs natively on the device training will use."""
    if use_cuda:
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_native_bf16(flags)


def resolve_precision(requested: str, *, use_cuda: bool, flags: set[str] | None = None) -> str:
    """`fp32` or `bf16`: the precision `requested` (auto, fp32, bf16) means on this device.

    Raises MemgapError for an unknown name, or for bf16 on a GPU without bfloat16 support.
    An explicit bf16 on a CPU without native instructions is honoured (it is correct, only slow), with a warning.
    """
    if requested not in PRECISIONS:
        raise MemgapError(f"'training.precision' must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    supported = bf16_supported(use_cuda=use_cuda, flags=flags)
    if requested == "auto":
        return "bf16" if supported else "fp32"
    if requested == "bf16" and not supported:
        if use_cuda:
            raise MemgapError("training.precision is bf16 but this GPU has no bfloat16 support; use fp32 or auto")
        log.warning("this CPU has no native bfloat16 instructions (AVX512_BF16/AMX): bf16 training is emulated and slow")
    return requested
