"""The run folder: atomic writes and stage markers, so an interrupted audit resumes where it stopped.

Each stage writes its outputs atomically, then a marker `stages/<name>.json`. A marker records the
settings fingerprint, so a folder is never resumed under other settings.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from memgap.errors import MemgapError


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON so that a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2, sort_keys=True, allow_nan=False)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings_fingerprint(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


class Stages:
    """Completion markers of an audit's stages inside one run folder."""

    def __init__(self, run_dir: Path, fingerprint: str):
        self.folder = run_dir / "stages"
        self.fingerprint = fingerprint

    def check_compatible(self) -> None:
        """Refuse to resume a folder whose finished stages used other settings."""
        for marker in sorted(self.folder.glob("*.json")) if self.folder.exists() else []:
            recorded = json.loads(marker.read_text()).get("fingerprint")
            if recorded != self.fingerprint:
                raise MemgapError(
                    "holds an audit made with other settings; use another --out, or --fresh to start over",
                    where=str(self.folder.parent),
                )

    def done(self, name: str) -> dict[str, Any] | None:
        marker = self.folder / f"{name}.json"
        return json.loads(marker.read_text()) if marker.exists() else None

    def mark_done(self, name: str, seconds: float, **facts: Any) -> None:
        write_json_atomic(self.folder / f"{name}.json", {"fingerprint": self.fingerprint, "seconds": seconds, **facts})

    def seconds(self) -> dict[str, float]:
        if not self.folder.exists():
            return {}
        return {p.stem: json.loads(p.read_text())["seconds"] for p in sorted(self.folder.glob("*.json"))}
