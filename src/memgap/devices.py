"""Where the model's weights live and in which dtype: `model.device`, `model.dtype`, `model.load_in_4bit`.

One resolution for `memgap run`, `memgap train` and `memgap audit`, handed to transformers'
`from_pretrained` as `device_map`, `dtype` and `quantization_config`:

- device `auto`: CUDA when present, else the CPU (MPS only when asked for: its kernels still miss
  some training operations). With several GPUs in one process the model is spread over them by
  accelerate's device map (`device_map="auto"`, as transformers does); under `accelerate launch`
  (several processes) each process keeps a whole copy and the Trainer places it (DDP).
- dtype `auto`: bfloat16 on a CUDA GPU that supports it, float32 elsewhere (CPU training in half
  precision is slow and lossy). This is the dtype of the weights; mixed-precision autocast during
  training is a separate setting.
- `load_in_4bit`: an NF4 base through bitsandbytes for a QLoRA adapter; CUDA only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from memgap.errors import MemgapError


@dataclass(frozen=True)
class Placement:
    """The resolved device and dtype, and the keyword arguments `from_pretrained` takes for them."""

    device: str  # cpu | cuda | mps | multi-gpu
    dtype: str  # float32 | bfloat16 | float16
    load_in_4bit: bool = False

    def from_pretrained_kwargs(self) -> dict[str, Any]:
        """`dtype`, `device_map` and, for 4-bit, `quantization_config` for `AutoModel*.from_pretrained`."""
        import torch

        kwargs: dict[str, Any] = {"dtype": getattr(torch, self.dtype)}
        if self.device == "multi-gpu":
            kwargs["device_map"] = "auto"
        elif self.device == "cuda":
            kwargs["device_map"] = {"": _local_cuda_index()}
        elif self.device == "mps":
            kwargs["device_map"] = {"": "mps"}
        if self.load_in_4bit:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=getattr(torch, self.dtype),
            )
        return kwargs


def resolve_placement(device: str = "auto", dtype: str = "auto", *, load_in_4bit: bool = False) -> Placement:
    """Resolve `model.device` / `model.dtype` against the machine.

    Raises MemgapError (one line) when the named device is absent, when float16/bfloat16 is asked
    for where it cannot run, or when 4-bit loading is asked for without CUDA or without bitsandbytes.
    """
    import torch

    cuda = torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise MemgapError("model.device is 'cuda' but no CUDA GPU is visible; set model.device to auto or cpu")
    if device == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise MemgapError("model.device is 'mps' but this machine has no Apple-silicon GPU; set model.device to auto or cpu")
    if device == "auto":
        device = "cuda" if cuda else "cpu"
    if device == "cuda" and torch.cuda.device_count() > 1 and _processes() == 1:
        device = "multi-gpu"
    if dtype == "auto":
        dtype = "bfloat16" if device in ("cuda", "multi-gpu") and torch.cuda.is_bf16_supported() else "float32"
    if load_in_4bit:
        if device not in ("cuda", "multi-gpu"):
            raise MemgapError("model.load_in_4bit needs a CUDA GPU (bitsandbytes 4-bit kernels); none is visible here, "
                              "so load the base in bfloat16 or float32 instead (the QLoRA adapter loads on it unchanged)")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise MemgapError("model.load_in_4bit needs bitsandbytes; run `pip install bitsandbytes`") from None
    return Placement(device=device, dtype=dtype, load_in_4bit=load_in_4bit)


def _processes() -> int:
    """Processes of this job: more than one under `accelerate launch` / torchrun (DDP)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _local_cuda_index() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))
