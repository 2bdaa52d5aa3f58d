"""The tokenizer and chat template an adapter was trained with, when its folder holds them.

TRL's `SFTTrainer.save_model`, Unsloth's notebooks and axolotl save the tokenizer beside the
adapter (tokenizer_config.json, tokenizer.json, chat_template.jinja), with the chat template that
rendered the training rows, which is often not the base model's (TRL's `setup_chat_format` sets
ChatML; Unsloth's `get_chat_template` sets the one the user picked). An audit renders every row,
for the base and for the adapter alike, with that tokenizer and template, so the adapter is scored
on the format it learnt; where the folder holds none, with the base's. Which one rendered the rows
is recorded in audit.json (`data.rendering.chat_template`), and a template that differs from the
base's is a warning.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.errors import first_line

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model")
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")


@dataclass(frozen=True)
class RowsTokenizer:
    """The tokenizer that renders every row of an audit, and where it and its chat template came from."""

    tokenizer: Any
    tokenizer_source: str  # adapter | base
    template_source: str  # adapter | base | none
    path: str  # the folder the template was read from (the adapter's or the base's)
    same_template_as_base: bool
    warnings: tuple[str, ...] = ()  # for the console and audit.json's `warnings`
    adapter_tokenizer_size: int | None = None  # len() of the tokenizer saved beside the adapter, if one loaded

    def facts(self) -> dict[str, Any]:
        """audit.json's `data.rendering.chat_template`."""
        template = getattr(self.tokenizer, "chat_template", None)
        text = template if isinstance(template, str) else json.dumps(template, sort_keys=True) if template else None
        return {
            "source": self.template_source,
            "tokenizer_source": self.tokenizer_source,
            "path": self.path,
            "same_as_base": self.same_template_as_base,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None,
        }


def rows_tokenizer(adapter_dir: str | Path, base_tokenizer, *, base_path: str = "the base model") -> RowsTokenizer:
    """The tokenizer beside the adapter (its template, else the base's), or the base's tokenizer where none lies there.

    A folder with only a template file (chat_template.jinja or .json) renders with the base's
    tokenizer and that template. Tokenizer files that do not load fall back the same way, with a
    warning that names the error. Never runs remote code and never downloads.
    """
    folder = Path(adapter_dir)
    base_template = getattr(base_tokenizer, "chat_template", None)
    tokenizer_files = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
    load_warning = None
    tokenizer = None
    if tokenizer_files:
        tokenizer, load_warning = _load_tokenizer(folder)
    tokenizer_source = "adapter" if tokenizer is not None else "base"
    if tokenizer is None:
        template = _template_file(folder)
        if template is None:
            return RowsTokenizer(base_tokenizer, "base", "base" if base_template else "none", base_path, True,
                                 warnings=(load_warning,) if load_warning else ())
        tokenizer = copy.deepcopy(base_tokenizer)
        tokenizer.chat_template = template
    own_template = getattr(tokenizer, "chat_template", None)
    if not own_template and base_template:
        tokenizer.chat_template = base_template  # a tokenizer saved without a template renders as the base did
    template_source = "adapter" if own_template else ("base" if base_template else "none")
    if tokenizer.pad_token_id is None:
        # as memgap.models does for the base: padding positions are masked, so eos serves
        tokenizer.pad_token = tokenizer.eos_token
    same = (tokenizer.chat_template or None) == (base_template or None)
    warnings = [load_warning] if load_warning else []
    if not same:
        warnings.append(f"the chat template saved beside the adapter ({folder}) differs from the base model's; every "
                        "row is rendered with the adapter's, the one it was trained with")
    size = len(tokenizer) if tokenizer_source == "adapter" else None
    path = str(folder) if template_source == "adapter" else base_path
    return RowsTokenizer(tokenizer, tokenizer_source, template_source, path, same, warnings=tuple(warnings),
                         adapter_tokenizer_size=size)


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False), None
    except Exception as error:  # any failure of a user's tokenizer files: fall back to the base's, and say so
        return None, (f"the tokenizer files beside the adapter did not load ({first_line(error)}); the base model's "
                      "tokenizer renders the rows")


def _template_file(folder: Path) -> str | dict | None:
    """A chat template saved on its own, as transformers writes it (chat_template.jinja, or the older chat_template.json)."""
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        try:
            value = json.loads((folder / "chat_template.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        template = value.get("chat_template") if isinstance(value, dict) else None
        return template if isinstance(template, (str, dict)) else None
    return None
