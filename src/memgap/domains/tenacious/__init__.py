"""The Tenacious domain: outreach emails from a hiring brief and a bench, its data set and its rubric.

A consulting firm places engineers with client companies; each task gives a prospect's hiring
brief, the firm's bench of available engineers and an instruction, and the completion is a short
outreach email in a fixed style (docs/tenacious_style.md). The package ships a generator of
augmented data (`generator.generate_rows`), a default data set made by it, and the `tenacious`
rubric scorer (`scorer.score_email`).
"""
from __future__ import annotations

import pathlib
from importlib import resources

DEFAULT_DATA_NAME = "tenacious_default.jsonl"


def default_data_path() -> pathlib.Path:
    """The bundled default data set (40 originals, 300 rows; see generator.DEFAULT_* for its settings)."""
    return pathlib.Path(str(resources.files("memgap.domains.tenacious").joinpath("data", DEFAULT_DATA_NAME)))
