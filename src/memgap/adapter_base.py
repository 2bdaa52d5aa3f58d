"""Which base an adapter was trained on, as far as its folder tells, and whether the given base is that kind.

Shapes alone cannot tell a Llama from a Qwen2 of the same sizes (same module names, same
matrices), so before any evaluation the base's architecture (`model_type`, model class) is compared
with what the adapter's folder says of its own base. The sources, in the order they are read:

- PEFT's `auto_mapping.base_model_class` in adapter_config.json (written for custom bases);
- the config.json of `base_model_name_or_path` when it is a local folder, or a hub id whose config
  is in the local Hugging Face cache (never downloaded);
- a config.json beside the adapter or in the Trainer's output folder (some Trainer and TRL set-ups
  save the base's config with the adapter);
- the model card's `base_model:` (README.md front matter), resolved like `base_model_name_or_path`.

Where a source is known and disagrees: MemgapError (one line, exit 2). Where none is known: a
warning for audit.json's `warnings`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.errors import MemgapError

_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<body>.*?)\n---", re.DOTALL)


@dataclass(frozen=True)
class KnownBase:
    """What one source says of the adapter's base."""

    source: str  # where it was read, for the message
    model_type: str | None  # config.json's model_type
    classes: tuple[str, ...]  # model class names (config.json's architectures, PEFT's base_model_class)


def check_base_architecture(adapter_dir: str | Path, adapter_config: dict[str, Any], base_config, base_class: str, *,
                            training_dir: str | Path | None = None) -> str | None:
    """Refuse a base of another architecture than the adapter's; return a warning where it cannot be known.

    `base_config`: the loaded base's transformers config (its `model_type`); `base_class`: the loaded
    base's class name (e.g. 'LlamaForCausalLM'). Raises MemgapError naming both architectures and the
    source of the adapter's where any source disagrees. Returns None when a source agrees, else a
    one-sentence warning.
    """
    actual_type = getattr(base_config, "model_type", None)
    actual_classes = {base_class, *(getattr(base_config, "architectures", None) or [])}
    known = known_bases(Path(adapter_dir), adapter_config, training_dir=training_dir)
    for base in known:
        other_type = base.model_type is not None and actual_type is not None and base.model_type != actual_type
        other_class = bool(base.classes) and not actual_classes & set(base.classes)
        if other_type or other_class:
            theirs = base.model_type or "/".join(base.classes)
            ours = actual_type if other_type else base_class
            raise MemgapError(f"the adapter was trained on a {theirs} base ({base.source}) but this base is a {ours}: "
                              "another architecture; pass the base model the adapter was trained on", where=str(adapter_dir))
    if known:
        return None
    name = adapter_config.get("base_model_name_or_path")
    named = f"base_model_name_or_path {name!r} is neither a local folder nor in the Hugging Face cache" if name \
        else "adapter_config.json names no base_model_name_or_path"
    return (f"the adapter's base architecture could not be checked ({named}, and no config.json lies beside the "
            "adapter): only shapes were compared")


def known_bases(adapter_dir: Path, adapter_config: dict[str, Any], *, training_dir: str | Path | None = None) -> list[KnownBase]:
    """Every statement the adapter's folder (and the Trainer's output folder) makes about its base's architecture."""
    known: list[KnownBase] = []
    mapping = adapter_config.get("auto_mapping")
    if isinstance(mapping, dict) and isinstance(mapping.get("base_model_class"), str):
        known.append(KnownBase("adapter_config.json auto_mapping", None, (mapping["base_model_class"],)))
    names = [adapter_config.get("base_model_name_or_path"), _card_base_model(adapter_dir / "README.md")]
    for name in dict.fromkeys(n for n in names if isinstance(n, str) and n):
        config = _resolve_config(name)
        if config is not None:
            known.append(_from_config(config, f"{name}/config.json"))
    for folder in (adapter_dir, Path(training_dir) if training_dir is not None else None):
        file = folder / "config.json" if folder is not None else None
        if file is not None and file.is_file():
            config = _read_json(file)
            if config is not None and (config.get("model_type") or config.get("architectures")):
                known.append(_from_config(config, str(file)))
    return known


def _from_config(config: dict[str, Any], source: str) -> KnownBase:
    classes = config.get("architectures") or []
    return KnownBase(source, config.get("model_type") if isinstance(config.get("model_type"), str) else None,
                     tuple(c for c in classes if isinstance(c, str)))


def _resolve_config(name: str) -> dict[str, Any] | None:
    """config.json of a local folder, or of a hub id from the local cache only; None where unknown."""
    local = Path(name).expanduser()
    if local.is_dir():
        return _read_json(local / "config.json") if (local / "config.json").is_file() else None
    if local.suffix == ".gguf" or name.count("/") > 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
    except Exception:  # an id that is not a valid repo name: nothing cached to read
        return None
    return _read_json(Path(cached)) if isinstance(cached, str) else None


def _card_base_model(readme: Path) -> str | None:
    """The model card's `base_model:` (front matter, as PEFT and TRL write it)."""
    if not readme.is_file():
        return None
    match = _FRONT_MATTER.match(readme.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        return None
    import yaml

    try:
        meta = yaml.safe_load(match["body"])
    except yaml.YAMLError:
        return None
    value = meta.get("base_model") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _read_json(file: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
