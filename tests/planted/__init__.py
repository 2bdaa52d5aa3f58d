"""Planted-family data generators, written independently of memgap's own code and of
tests/augmenter.py. Each ``generate(n_families, seed, shape, declare_family)`` returns a
``PlantedSet(rows, planted)``: rows in memgap's data shape, each with the true family in the
field ``planted``, and the same labels as a list in row order. See README.md beside this file.
"""
from __future__ import annotations

from . import arabic, chinese, it_support, web_english
from ._common import SHAPES, PlantedSet, family_sizes
from ._common import planned_sizes as _planned_sizes

GENERATORS = {
    "it_support": it_support.generate,
    "chinese": chinese.generate,
    "arabic": arabic.generate,
    "web_english": web_english.generate,
}

SMALL = 24  # n_families for quick tests: about 100 rows, one family of 20+ rows, one of 1 row


def generate(kind: str, n_families: int = 360, seed: int = 0, shape: str = "prompt_completion",
             declare_family: bool = True) -> PlantedSet:
    if kind not in GENERATORS:
        raise ValueError(f"unknown planted generator {kind!r}; choose from {sorted(GENERATORS)}")
    return GENERATORS[kind](n_families=n_families, seed=seed, shape=shape, declare_family=declare_family)


def planned_sizes(kind: str, n_families: int = 360, seed: int = 0) -> dict[str, int]:
    """The size each family of ``generate(kind, n_families, seed)`` was planned to have, by
    planted label, computed apart from the rows (for tests that count the rows)."""
    module = {"it_support": it_support, "chinese": chinese, "arabic": arabic, "web_english": web_english}[kind]
    prefix = {"it_support": "it", "chinese": "zh", "arabic": "ar", "web_english": "web"}[kind]
    width = len(str(n_families - 1))
    sizes = _planned_sizes(n_families, seed, module.SALT)
    return {f"{prefix}{f:0{width}d}": size for f, size in enumerate(sizes)}


__all__ = ["GENERATORS", "SHAPES", "SMALL", "PlantedSet", "family_sizes", "generate", "planned_sizes"]
