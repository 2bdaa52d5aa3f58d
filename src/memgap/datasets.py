"""Generated data sets by name (`memgap dataset NAME`): a registry that names the domains' generators
without importing them (a generator's module is imported when its name is asked for)."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from memgap.data.io import write_jsonl
from memgap.registry import Registry

DATASETS: Registry[Callable[..., list[dict[str, Any]]]] = Registry("dataset")
# name -> "module:function"; the function takes the options of `write_dataset` and returns JSON-ready rows.
BUILTIN_DATASETS = {"tenacious": "memgap.domains.tenacious.generator:generate_rows"}
for _name, _target in BUILTIN_DATASETS.items():
    DATASETS.add_lazy(_name, _target)


def write_dataset(name: str, out: str | os.PathLike[str], *, originals: int | None = None, variants: int | None = None,
                  concentration: float | None = None, rows: int | None = None, min_family_size: int | None = None,
                  seed: int | None = None) -> dict[str, Any]:
    """Generate the data set `name` into the JSONL file `out`; return its size summary.

    Options left None take the generator's own defaults (those of the shipped data set). `originals`:
    families (one original each); `variants`: rows per family, or `concentration` (Zipf exponent of
    family sizes) with `rows` in all and `min_family_size`. Raises MemgapError for an unknown name
    (with the closest known ones); the generator raises for options it cannot satisfy.
    """
    generate = DATASETS.get(name)
    given = {"originals": originals, "seed": seed}
    generated = generate(**{key: value for key, value in given.items() if value is not None}, variants=variants,
                         concentration=concentration, rows=rows, min_family_size=min_family_size)
    write_jsonl(out, generated)
    return {"out": str(out), **family_size_summary([row["family"] for row in generated])}


def family_size_summary(families: Sequence[Any]) -> dict[str, Any]:
    """How concentrated rows are, from each row's family: rows, families, the largest and smallest
    family (rows), and the share of rows in the largest 10% of families."""
    ordered = sorted(Counter(families).values(), reverse=True)
    top = ordered[: max(1, round(len(ordered) / 10))]
    return {
        "rows": len(families),
        "families": len(ordered),
        "largest_family": ordered[0] if ordered else 0,
        "smallest_family": ordered[-1] if ordered else 0,
        "top_decile_share": sum(top) / len(families) if families else 0.0,
    }
