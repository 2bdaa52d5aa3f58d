"""The documents the code points to exist, and docs/configuration.md covers every setting."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from memgap.config import QUICK_OVERRIDES, AuditConfig

ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = re.compile(r"docs/[\w./-]+?\.md")


def test_every_document_the_code_mentions_exists():
    mentioned = {(match.group(0), path.relative_to(ROOT).as_posix())
                 for path in (ROOT / "src").rglob("*") if path.suffix in (".py", ".j2", ".json", ".yaml")
                 for match in DOC_PATH.finditer(path.read_text(encoding="utf-8"))}
    assert any(doc == "docs/configuration.md" for doc, _ in mentioned)  # the scan finds what it should
    missing = sorted((doc, where) for doc, where in mentioned if not (ROOT / doc).is_file())
    assert missing == []


def _keys(config, prefix: str = "") -> list[str]:
    """Every setting's dotted key, from the dataclass tree itself."""
    keys = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        keys += _keys(value, f"{prefix}{field.name}.") if dataclasses.is_dataclass(value) else [prefix + field.name]
    return keys


def test_configuration_doc_lists_every_setting_and_the_quick_preset():
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([\w.]+)` \|", text, flags=re.MULTILINE))
    keys = set(_keys(AuditConfig()))
    assert {"training.learning_rate", "verdict.primary_metric", "seed"} <= keys
    assert keys - documented == set(), "document these settings in docs/configuration.md"
    assert documented - keys == set(), "docs/configuration.md lists settings the config does not have"
    presets = text[text.index("## Size presets"):]
    for key in QUICK_OVERRIDES:
        assert f"| `{key}` |" in presets
