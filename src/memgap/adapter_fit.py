"""Whether a LoRA adapter fits a base, and whether it can be merged, asked of PEFT on a meta-device twin.

PEFT builds the adapter on a copy of the base made on the meta device (the base's class from its
config: no memory, no weights, milliseconds even for a large model) exactly as
`PeftModel.from_pretrained` injects it, then maps the saved tensor names to the twin's parameters
with its own `set_peft_model_state_dict`; the shapes from the safetensors header are compared with
the twin's. The same twin answers whether PEFT can merge the adapter, without touching real
weights. memgap.adapters turns the answers into one-line refusals and the load.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

from memgap.errors import first_line

_PEFT_PREFIX = "base_model.model."


def merge_blocker(model) -> str | None:
    """Why PEFT cannot merge `model`'s active LoRA adapter into the base weights, or None where it can.

    Asked of PEFT on a meta-device twin (PEFT's `merge_adapter`, which raises for `lora_bias=True` on a
    base layer without a bias, aLoRA, replicated layers, GPTQ), so the real weights are never touched:
    a merge that fails half-way in PEFT leaves some weights changed. A quantized (4-bit) base is
    reported too: merging into packed weights would re-quantize them and change the outputs.
    """
    if not hasattr(model, "merge_adapter") or not hasattr(model, "peft_config"):
        return "not a PEFT model"
    if getattr(model, "is_quantized", False):
        return "the base is quantized: merging would re-quantize its weights and change the outputs"
    config = model.peft_config[model.active_adapter]
    if getattr(config, "layer_replication", None):
        # PEFT's own _check_merge_allowed means to refuse this, but reads the setting off the dict of adapters
        return "Cannot merge LORA layers when base model layers are replicated (layer_replication)"
    try:
        twin = meta_twin(model.get_base_model(), config)
    except Exception as error:  # unmerged evaluation is always right, merged only faster
        return f"PEFT's merge could not be tried on a meta-device copy of the base ({first_line(error)})"
    try:
        model.base_model._check_merge_allowed()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twin.merge_adapter()
    except (RuntimeError, ValueError, NotImplementedError, TypeError, AttributeError) as error:
        return first_line(error)
    return None


@dataclass(frozen=True)
class Mismatch:
    """One way the saved adapter does not fit the base, as PEFT maps it."""

    kind: str  # unknown-module | unknown-tensor | missing | shape | unloadable
    name: str  # the tensor's name without PEFT's prefix and adapter name (for unloadable: PEFT's error)
    saved: tuple[int, ...] = ()
    expected: tuple[int, ...] = ()

    def message(self, base_name: str) -> str:
        trained = f"(the adapter was trained on {base_name})"
        if self.kind == "unknown-module":
            return f"the adapter saves '{self.name}', which this base model does not have: another architecture {trained}"
        if self.kind == "unknown-tensor":
            return (f"the adapter saves '{self.name}', which PEFT does not load onto this base: another architecture, or "
                    f"a PEFT feature this version lacks {trained}")
        if self.kind == "unloadable":
            return f"PEFT cannot load this adapter on this base ({self.name}) {trained}"
        if self.kind == "missing":
            return (f"the adapter's config adapts '{self.name}' in this base, but the adapter has no weights for it: a "
                    f"base with more layers or modules than the one it was trained on {trained}")
        return f"'{self.name}' is {list(self.saved)} in the adapter but {list(self.expected)} in this base: other shapes {trained}"


def meta_twin(base_model, lora_config, *, rows: int | None = None):
    """`base_model`'s class built from its config on the meta device (no memory), with the adapter
    injected by PEFT's `get_peft_model` as `PeftModel.from_pretrained` injects it."""
    return inject_adapter(meta_base(base_model, rows=rows), lora_config)


def meta_base(base_model, *, rows: int | None = None):
    """`base_model`'s class built from its config on the meta device, with `rows` embedding rows if given."""
    import torch

    config = copy.deepcopy(base_model.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the twin's layers have the float shapes PEFT's LoRA matrices follow
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    rows = rows or embedding_rows(base_model)
    if rows is not None and hasattr(text_config, "vocab_size"):
        text_config.vocab_size = rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            return type(base_model)._from_config(config)


def inject_adapter(meta_base, lora_config):
    from peft import get_peft_model

    lora_config = copy.deepcopy(lora_config)
    lora_config.inference_mode = True
    if lora_config.init_lora_weights is not False:
        # data-driven initialisations (PiSSA, OLoRA, LoftQ, EVA, CorDA) need real weights; none changes
        # which tensors an adapter has or their shapes
        lora_config.init_lora_weights = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_peft_model(meta_base, lora_config, low_cpu_mem_usage=True)


def peft_mismatches(twin, shapes: dict[str, tuple[int, ...]]) -> list[Mismatch]:
    """Every saved tensor PEFT would not load, load with another shape, or not find, in file order."""
    import torch
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import set_peft_model_state_dict
    from peft.utils.other import AuxiliaryTrainingWrapper

    placeholders = {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}
    saved_as = {id(tensor): name for name, tensor in placeholders.items()}
    mapped: dict[str, Any] = {}

    def capture(state_dict, strict=True, assign=False):  # PEFT's final mapping, without loading anything
        mapped.update(state_dict)
        return torch.nn.modules.module._IncompatibleKeys([], [])

    twin.load_state_dict = capture
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            set_peft_model_state_dict(twin, placeholders, adapter_name="default")
    except (KeyError, ValueError, RuntimeError) as error:  # as PEFT's own load would fail
        return [Mismatch("unloadable", first_line(error))]
    finally:
        del twin.load_state_dict
    expected = {name: tuple(tensor.shape) for name, tensor in twin.state_dict().items()}
    modules = dict(twin.named_modules())
    problems = []
    for key, tensor in mapped.items():
        name = _plain_name(saved_as.get(id(tensor), key))
        if key not in expected:
            owners = [modules[prefix] for prefix in _prefixes(key) if prefix in modules]
            if any(isinstance(owner, AuxiliaryTrainingWrapper) for owner in owners):
                continue  # a second copy PEFT writes of a wrapped module (modules_to_save) and loads from the other
            in_peft_layer = any(isinstance(owner, BaseTunerLayer) for owner in owners)
            problems.append(Mismatch("unknown-tensor" if in_peft_layer else "unknown-module", name))
        elif tuple(tensor.shape) != expected[key]:
            problems.append(Mismatch("shape", name, tuple(tensor.shape), expected[key]))
    prefix = getattr(twin.base_model, "prefix", "lora_")
    loaded = set(mapped)
    missing = [key for key in expected if prefix in key and ".default" in key and key not in loaded]
    problems += [Mismatch("missing", _plain_name(key).split(f".{prefix}")[0]) for key in missing[:1]]
    return problems


def _prefixes(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:index]) for index in range(len(parts) - 1, 0, -1)]


def _plain_name(key: str) -> str:
    """A tensor name as the user's base names it: PEFT's prefix and the adapter name removed."""
    return key.removeprefix(_PEFT_PREFIX).replace(".default.", ".").removesuffix(".default")


def trainable_token_rows(config: dict[str, Any], embeddings: set[str]) -> set[int]:
    """The input-embedding rows `trainable_token_indices` trains (a list for the input embedding, or a dict by module)."""
    indices = config.get("trainable_token_indices")
    if isinstance(indices, dict):
        chosen = [value for key, value in indices.items() if any(name.endswith(key) for name in embeddings)]
        indices = [index for value in chosen for index in value]
    return {int(index) for index in indices or [] if isinstance(index, int)}


def is_whole_layer(name: str, twin) -> bool:
    """A saved embedding or LM-head matrix (rather than LoRA matrices on it)."""
    prefix = getattr(twin.base_model, "prefix", "lora_")
    return prefix not in name and "trainable_tokens" not in name


def vocabulary_axis(problem: Mismatch, embeddings: set[str], rows: int | None) -> int | None:
    """The axis where a saved tensor of an embedding or LM head differs from this base by its vocabulary rows."""
    if rows is None or len(problem.saved) != len(problem.expected) or not any(
            problem.name == name or problem.name.startswith(f"{name}.") for name in embeddings):
        return None
    differing = [axis for axis, (a, b) in enumerate(zip(problem.saved, problem.expected)) if a != b]
    return differing[0] if len(differing) == 1 and problem.expected[differing[0]] == rows else None


def embedding_rows(model) -> int | None:
    """The rows of the base's input embedding matrix (its vocabulary as the weights hold it)."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    weight = getattr(embeddings, "weight", None)
    if weight is not None and weight.dtype.is_floating_point:
        return int(weight.shape[0])
    return getattr(getattr(model, "config", None), "vocab_size", None)


def embedding_module_names(model) -> set[str]:
    layers = [model.get_input_embeddings(), model.get_output_embeddings()] if hasattr(model, "get_input_embeddings") else []
    return {name for name, module in model.named_modules() if any(module is layer for layer in layers if layer is not None)}
