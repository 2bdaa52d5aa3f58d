"""Adapters as people save them: check a PEFT adapter folder and its fit to a base, then load it.

Any PEFT LoRA folder (`adapter_config.json` + `adapter_model.safetensors`, as PEFT's
`save_pretrained`, TRL, Unsloth and axolotl write it) loads through PEFT's own
`PeftModel.from_pretrained`, so `rank_pattern`/`alpha_pattern`, rsLoRA, DoRA, `modules_to_save` and
partial target lists mean what PEFT means by them. The checks here exist only to turn the mistakes
users make into one line before the long work: a folder without adapter files, pickle-only weights
(refused: safetensors only), and a base the adapter was not trained on (missing modules, other
shapes, other vocabulary size), found from the safetensors header without loading the weights.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.errors import MemgapError, first_line

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_PEFT_PREFIX = "base_model.model."
_LORA_KEY = re.compile(r"^(?P<module>.+)\.(?P<kind>lora_A|lora_B|lora_embedding_A|lora_embedding_B|lora_magnitude_vector)"
                       r"(?:\.[^.]+)?(?:\.weight)?$")


@dataclass(frozen=True)
class AdapterFolder:
    """A checked adapter folder: its config and the shapes of its saved tensors."""

    path: Path
    config: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]  # tensor name in the file -> shape

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS_FILE


def read_adapter_folder(path: str | Path) -> AdapterFolder:
    """Check that `path` holds a PEFT LoRA adapter in safetensors and read its config and tensor shapes.

    Raises MemgapError for a missing folder, a folder without adapter files, pickle-only weights
    (`adapter_model.bin`) and a PEFT method other than LoRA.
    """
    from safetensors import safe_open

    path = Path(path).expanduser()
    if not path.is_dir():
        raise MemgapError("no such adapter folder", where=str(path))
    config_file, weights = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not weights.exists():
        pickled = sorted(p.name for p in (*path.glob("*.bin"), *path.glob("*.pt"), *path.glob("*.pth")))
        if pickled:
            raise MemgapError(f"only pickle weights here ({', '.join(pickled)}); pickle is refused: re-save the adapter "
                              "with save_pretrained(..., safe_serialization=True)", where=str(path))
        if not config_file.exists():
            raise MemgapError(f"not an adapter folder (no {CONFIG_FILE} and no {WEIGHTS_FILE}); pass the folder that "
                              "save_pretrained wrote (for a Trainer run: its output_dir or a checkpoint-N inside)",
                              where=str(path))
        raise MemgapError(f"no {WEIGHTS_FILE} beside {CONFIG_FILE}", where=str(path))
    if not config_file.exists():
        raise MemgapError(f"no {CONFIG_FILE} beside {WEIGHTS_FILE}; the adapter's settings are needed to load it", where=str(path))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MemgapError(f"unparsable JSON ({error.msg})", where=f"{config_file}:{error.lineno}") from None
    peft_type = str(config.get("peft_type", "")).upper()
    if peft_type != "LORA":
        raise MemgapError(f"peft_type is '{config.get('peft_type')}'; memgap audits LoRA adapters (LoRA, rsLoRA, DoRA, QLoRA)",
                          where=f"{config_file}: field 'peft_type'")
    with safe_open(weights, framework="pt") as stream:
        shapes = {name: tuple(stream.get_slice(name).get_shape()) for name in stream.keys()}
    return AdapterFolder(path=path, config=config, shapes=shapes)


def check_fits_base(adapter: AdapterFolder, base_model) -> None:
    """Raise MemgapError naming the first mismatch between the adapter's tensors and the base model.

    Every adapted module must exist in the base (else: another architecture), each LoRA matrix must
    match its base layer's input and output sizes (else: other shapes), and every fully saved module
    (`modules_to_save`, resized embeddings) must have the base's shape (else, for embeddings and the
    LM head: another vocabulary size).
    """
    modules = dict(base_model.named_modules())
    parameters = dict(base_model.named_parameters())
    base_name = adapter.config.get("base_model_name_or_path") or "its base"
    where = str(adapter.path)
    for key, shape in adapter.shapes.items():
        name = key[len(_PEFT_PREFIX):] if key.startswith(_PEFT_PREFIX) else key
        match = _LORA_KEY.match(name)
        if match is None:  # a whole saved module (modules_to_save, embeddings): shapes must agree
            plain = name.replace(".modules_to_save.default", "").replace(".original_module", "")
            if plain not in parameters:
                raise MemgapError(f"the adapter saves '{plain}', which this base model does not have: another "
                                  f"architecture (the adapter was trained on {base_name})", where=where)
            expected = tuple(parameters[plain].shape)
            if expected != shape and not _packed(parameters[plain]):
                what = "vocabulary size" if len(shape) == 2 and shape[1:] == expected[1:] else "shape"
                raise MemgapError(f"'{plain}' is {list(shape)} in the adapter but {list(expected)} in this base: another "
                                  f"{what} (the adapter was trained on {base_name})", where=where)
            continue
        module_name, kind = match["module"], match["kind"]
        module = modules.get(module_name)
        if module is None:
            raise MemgapError(f"the adapter adapts '{module_name}', which this base model does not have: another "
                              f"architecture (the adapter was trained on {base_name})", where=where)
        sizes = _layer_sizes(module)
        if sizes is None:
            continue
        in_size, out_size = sizes
        expected_size, actual = {
            "lora_A": (in_size, shape[-1]), "lora_B": (out_size, shape[0]),
            "lora_embedding_A": (in_size, shape[-1]), "lora_embedding_B": (out_size, shape[0]),
            "lora_magnitude_vector": (out_size, shape[0]),
        }[kind]
        if expected_size != actual:
            side = "input" if kind in ("lora_A", "lora_embedding_A") else "output"
            raise MemgapError(f"'{module_name}' has {side} size {expected_size} in this base but {actual} in the adapter: "
                              f"other shapes (the adapter was trained on {base_name})", where=where)


def load_adapter(base_model, adapter: AdapterFolder):
    """The base wrapped by PEFT's `PeftModel.from_pretrained` (one model in memory), in eval mode.

    `with model.disable_adapter():` evaluates the base; outside it, the adapter.
    """
    from peft import PeftModel

    check_fits_base(adapter, base_model)
    try:
        model = PeftModel.from_pretrained(base_model, adapter.path, is_trainable=False)
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        first = first_line(error)
        raise MemgapError(f"PEFT cannot load this adapter on this base ({first})", where=str(adapter.path)) from None
    model.eval()
    return model


def _layer_sizes(module) -> tuple[int, int] | None:
    """(input size, output size) of a Linear, GPT-2 Conv1D, Embedding or 4-bit Linear; None otherwise."""
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return int(module.in_features), int(module.out_features)
    if hasattr(module, "num_embeddings") and hasattr(module, "embedding_dim"):
        return int(module.num_embeddings), int(module.embedding_dim)
    if type(module).__name__ == "Conv1D":  # GPT-2: weight is in x out
        return int(module.weight.shape[0]), int(module.nf)
    return None


def _packed(parameter) -> bool:
    """A quantized (4-bit) parameter, whose stored shape is not the layer's."""
    return not parameter.dtype.is_floating_point
