"""Where a LoRA-adapted module sits in a transformer: its layer, its path inside the layer, its group.

The gradient-norm table and the realised-update table key every row by (layer, module, group), so that
"attention vs MLP" and "early vs late layers" read the same way for Llama, GPT-2, GPT-NeoX or Phi.
Module paths are matched by name, which is what PEFT's `target_modules` matches too. A module this map
does not know is reported in the group `other`, never dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from memgap.errors import MemgapError
from memgap.registry import Registry

# The leaf names LoRA adapts by default, per family: every attention and MLP projection.
ARCHITECTURES: Registry[tuple[str, ...]] = Registry("architecture")
ARCHITECTURES.add("llama", ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))
for _alias in ("mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "olmo", "olmo2", "granite", "smollm3"):
    ARCHITECTURES.add(_alias, ARCHITECTURES.get("llama"))
ARCHITECTURES.add("gpt2", ("c_attn", "c_proj", "c_fc"))
ARCHITECTURES.add("gpt_neox", ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"))
ARCHITECTURES.add("phi", ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"))
ARCHITECTURES.add("phi3", ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"))

# Container names that decide the group of everything below them (GPT-2's `attn.c_proj` vs `mlp.c_proj`).
_ATTENTION_CONTAINERS = {"self_attn", "attn", "attention", "self_attention", "mixer"}
_MLP_CONTAINERS = {"mlp", "feed_forward", "ffn", "block_sparse_moe", "experts"}
# Leaf names whose group is clear even without a container (some families put them at layer level).
_ATTENTION_LEAVES = {"q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", "query_key_value", "c_attn", "Wqkv", "out_proj"}
_MLP_LEAVES = {"gate_proj", "up_proj", "down_proj", "gate_up_proj", "fc1", "fc2", "c_fc", "dense_h_to_4h", "dense_4h_to_h", "w1", "w2", "w3"}
# The repeated block list: `model.layers.3.`, `transformer.h.3.`, `gpt_neox.layers.3.`, `encoder.block.3.`.
_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer|decoder_layers)\.(\d+)\.")
# Prefixes that wrappers add in front of the model's own names (PEFT, DDP, FSDP, torch.compile).
_WRAPPER_PARTS = {"module", "_fsdp_wrapped_module", "_orig_mod", "_checkpoint_wrapped_module"}


@dataclass(frozen=True)
class ModuleLocation:
    """The layer index (-1 outside the repeated blocks), the path inside the layer, and the group."""

    layer: int
    module: str  # e.g. self_attn.q_proj, mlp.c_proj
    group: str  # attention | mlp | other


def describe_module(path: str) -> ModuleLocation:
    """Locate a module path such as `base_model.model.model.layers.3.self_attn.q_proj`."""
    path = ".".join(part for part in path.split(".") if part not in _WRAPPER_PARTS)
    matches = list(_LAYER.finditer(path))
    if matches:
        last = matches[-1]
        layer, module = int(last.group(1)), path[last.end():]
    else:
        layer, module = -1, path.removeprefix("base_model.model.")
    return ModuleLocation(layer=layer, module=module, group=_group_of(module))


def _group_of(module: str) -> str:
    parts = module.split(".")
    for part in parts[:-1]:
        if part in _ATTENTION_CONTAINERS:
            return "attention"
        if part in _MLP_CONTAINERS:
            return "mlp"
    leaf = parts[-1]
    if leaf in _ATTENTION_LEAVES:
        return "attention"
    if leaf in _MLP_LEAVES:
        return "mlp"
    return "other"


def adaptable_modules(model) -> dict[str, str]:
    """Every module LoRA can adapt (Linear or GPT-2's Conv1D), as full name -> leaf name."""
    import torch
    from transformers.pytorch_utils import Conv1D

    found = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, Conv1D)) and name:
            found[name] = name.rsplit(".", 1)[-1]
    return found


def _inside_blocks(name: str) -> bool:
    return _LAYER.search(name) is not None


def default_lora_targets(model) -> list[str]:
    """The attention and MLP projections of the model's family that are present, as PEFT leaf names.

    Unknown families fall back to every linear leaf inside the repeated blocks (never the output head).
    """
    leaves_in_blocks = {leaf for name, leaf in adaptable_modules(model).items() if _inside_blocks(name)}
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type in ARCHITECTURES:
        wanted = ARCHITECTURES.get(model_type)
        present = [leaf for leaf in wanted if leaf in leaves_in_blocks]
        if present:
            return present
    known = {leaf for name in ARCHITECTURES for leaf in ARCHITECTURES.get(name)}
    present = sorted(leaves_in_blocks & known) or sorted(leaves_in_blocks)
    if not present:
        raise MemgapError(f"found no linear layers inside the transformer blocks of this {model_type or 'model'}; pass lora.target_modules")
    return present


def check_lora_targets(model, targets: list[str]) -> None:
    """Raise a MemgapError for a requested target that matches no module, listing the ones there are.

    Matching follows PEFT for a list of names: the full module name equals the target or ends in `.target`.
    """
    names = adaptable_modules(model)
    all_names = [name for name, _ in model.named_modules() if name]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in all_names)]
    if missing:
        available = sorted(set(names.values()))
        raise MemgapError(
            f"LoRA target(s) {', '.join(repr(t) for t in missing)} match no module of this model; "
            f"its linear modules are: {', '.join(available)}",
            where="lora.target_modules",
        )
