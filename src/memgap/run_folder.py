"""The run folder: atomic writes and stage markers, so an interrupted audit resumes where it stopped.

Each stage writes its outputs atomically, then a marker `stages/<name>.json`. A marker records the
settings fingerprint, so a folder is never resumed under other settings.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memgap.atomic import sha256_text, write_json_atomic
from memgap.errors import MemgapError


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """SHA-256 of the settings as key-sorted JSON: equal settings, equal fingerprint."""
    return sha256_text(json.dumps(settings, sort_keys=True))


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
