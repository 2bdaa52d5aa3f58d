"""Pick the checkpoint a killed training run resumes from.

A run killed while the Trainer writes checkpoint-N leaves a directory without `trainer_state.json`
(the Trainer writes that file last). transformers' `get_last_checkpoint` picks the highest number
whatever its state and the resume then fails; here only complete checkpoints count, and the
incomplete ones above the pick are removed so the run writes them again from scratch.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "trainer_state.json"
WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors")  # the Trainer saves safetensors


def checkpoint_step(directory: Path) -> int | None:
    """The step in a `checkpoint-N` directory name, or None for any other name."""
    match = CHECKPOINT_NAME.match(directory.name)
    return int(match.group(1)) if match and directory.is_dir() else None


def is_complete(directory: Path) -> bool:
    """Weights are there and the trainer state, written last, parses and names the same step."""
    if not any((directory / name).is_file() for name in WEIGHT_FILES):
        return False
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("global_step") == checkpoint_step(directory)


def last_complete_checkpoint(checkpoints: Path, *, remove_incomplete: bool = True) -> Path | None:
    """The complete checkpoint with the highest step, or None; incomplete ones above it are removed."""
    if not checkpoints.is_dir():
        return None
    numbered = sorted(
        ((step, path) for path in checkpoints.iterdir() if (step := checkpoint_step(path)) is not None), reverse=True
    )
    for step, path in numbered:
        if is_complete(path):
            return path
        log.warning("checkpoint %s is incomplete (the run stopped while writing it); %s", path,
                    "removing it" if remove_incomplete else "skipping it")
        if remove_incomplete:
            shutil.rmtree(path, ignore_errors=True)
    return None
