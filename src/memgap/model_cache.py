"""A converted copy of the embedded GGUF model, so every audit after the first skips the GGUF parse.

transformers reads a GGUF file three times to load one model (for the config, the tokenizer and the
weights; each pass parses the file's metadata, SmolLM2's 49,152-token vocabulary included) and then
dequantizes every tensor: about 19 s for the embedded model on 2 CPU cores. The first load saves the
dequantized float32 model and the converted tokenizer as an ordinary safetensors folder under the
user's cache directory, named by the GGUF's SHA-256; later loads check every file against the
SHA-256 recorded when it was written and read the folder, in under a second. The tensors are the
same, bit for bit, and the tokenizer gives the same ids and chat template (tests/test_model_cache.py
checks both on the embedded model).

The cache lives in `$MEMGAP_CACHE_DIR`, else `$XDG_CACHE_HOME/memgap`, else `~/.cache/memgap`;
`MEMGAP_CACHE_DIR=off` turns it off. A cache that cannot be written is skipped with a warning.
Only the embedded model is cached: a user's own GGUF can be many gigabytes, and its float32 copy
four to eight times that.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from memgap.atomic import sha256_files
from memgap.errors import first_line

log = logging.getLogger(__name__)

COMPLETE_MARKER = "memgap-complete"


def cache_root() -> Path | None:
    """The cache directory (see the module docstring); None when `MEMGAP_CACHE_DIR=off`."""
    configured = os.environ.get("MEMGAP_CACHE_DIR", "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "memgap"


def converted_folder(source: Path, root: Path) -> Path:
    """Where the converted copy of `source` lives: named by its file name and the first 16 hex digits of its SHA-256."""
    return root / "models" / f"{source.stem}-{sha256_files([source])[:16]}"


def load_converted(folder: Path, from_pretrained_kwargs: dict[str, Any]) -> tuple[Any, Any] | None:
    """(model, tokenizer) from a complete converted folder; None where there is none.

    Every file's SHA-256 is checked against the one recorded when the folder was written (about
    0.5 s for the 538 MB of weights), so a copy cut short or changed on disk is never served. Such a
    folder, or one that does not load for any other reason, is removed with a warning, and the caller
    converts the GGUF again and writes a new copy: a damaged cache costs one conversion, never an audit.
    """
    marker = folder / COMPLETE_MARKER
    if not marker.exists():
        return None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        changed = sorted(name for name, digest in recorded.items() if sha256_files([folder / name]) != digest)
        if changed or not recorded:
            raise ValueError(f"{', '.join(changed) or 'no file'} differs from what was written")
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, **from_pretrained_kwargs)
    except Exception as error:  # noqa: BLE001 - safetensors, tokenizers and json raise their own types
        log.warning("the cached model in %s is damaged (%s); converting the GGUF again", folder, first_line(error))
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return model, tokenizer


def save_converted(folder: Path, model, tokenizer) -> None:
    """Write the model (safetensors) and tokenizer to `folder`, whole or not at all.

    They are written to a sibling folder first, marked complete, and renamed into place, so an
    interrupted write never leaves a folder that `load_converted` would read. An OSError (a
    read-only or full disk) is logged and swallowed: the cache only saves time.
    """
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        digests = {path.name: sha256_files([path]) for path in sorted(staging.iterdir()) if path.is_file()}
        (staging / COMPLETE_MARKER).write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
        if folder.exists():  # another process finished first; its copy is the same
            shutil.rmtree(staging, ignore_errors=True)
            return
        os.replace(staging, folder)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        log.warning("could not cache the converted model in %s (%s); the next run converts it again", folder, error)
