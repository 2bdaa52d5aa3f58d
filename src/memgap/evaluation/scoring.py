"""The scorer contract: a function from (generated completion, record) to a score in [0, 1].

Every scorer, built in or a user's, answers the same call, so `memgap run` and `memgap score` treat
them alike. A user's scorer is any importable function `module:function` that returns a float, a
dict with a 'score' key, or a `ScoreResult`.
"""
from __future__ import annotations

import importlib
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.registry import Registry


@dataclass(frozen=True)
class ScoreResult:
    """A score in [0, 1] and the named checks behind it (each a number in [0, 1] or a bool)."""

    score: float
    checks: dict[str, float | bool] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


ScorerFunction = Callable[[str, Record], "ScoreResult | float | dict[str, Any]"]

SCORERS: Registry[ScorerFunction] = Registry("scorer")
# The built-in scorers by name, imported on first use: the registry knows the domains without importing them.
BUILTIN_SCORERS = {
    "token-f1": "memgap.evaluation.reference_scorers:token_f1",
    "tenacious": "memgap.domains.tenacious.scorer:tenacious",
}
ENTRY_POINT_GROUP = "memgap.scorers"  # other packages add scorers as entry points: name = "module:function"
for _name, _target in BUILTIN_SCORERS.items():
    SCORERS.add_lazy(_name, _target)


def resolve_scorer(name: str) -> ScorerFunction:
    """Find a scorer by registry name, or import `module:function` for a user's own.

    Registry names are the built-ins (`BUILTIN_SCORERS`) and any package's entry points in the
    `memgap.scorers` group. A `module:function` is found as `python -m` would find it: the current
    folder comes first on sys.path, so `--scorer my_scorer:score` works from the folder that holds
    my_scorer.py, also when memgap runs as the installed `memgap` command. Raises MemgapError for an
    unknown name (with the closest registered names), a module that cannot be imported, or an
    attribute that is not a function.
    """
    _load_plugin_scorers()
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        _current_folder_on_path()
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise MemgapError(f"cannot import scorer module '{module_name}' ({error})") from None
        function = getattr(module, attribute, None)
        if not callable(function):
            raise MemgapError(f"'{name}' is not a function in module '{module_name}'")
        return function
    return SCORERS.get(name)


def _current_folder_on_path() -> None:
    # `python -m` puts the current folder first on sys.path; an installed console script does not.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    importlib.invalidate_caches()  # a module written since the last import is found too


def score_one(scorer: ScorerFunction, completion: str, record: Record) -> ScoreResult:
    """Score one completion with `scorer` and normalise what it returns to a `ScoreResult`.

    Parameters:
        scorer: f(completion, record) returning a ScoreResult, a number, or a dict with `score` (and
            optional `checks` and `details`).
        completion: the generated text; record: the item it answers (its context included).
    Returns a `ScoreResult` with a score in [0, 1] and checks of numbers in [0, 1] or bools.
    Raises MemgapError when the scorer returns another type, or a score outside [0, 1] or not
    finite (naming the record).
    """
    result = scorer(completion, record)
    if isinstance(result, ScoreResult):
        normalised = result
    elif isinstance(result, dict) and "score" in result:
        normalised = ScoreResult(float(result["score"]), dict(result.get("checks", {})), dict(result.get("details", {})))
    elif isinstance(result, (int, float)):
        normalised = ScoreResult(float(result))
    else:
        raise MemgapError(f"scorer returned {type(result).__name__}; expected a float, a dict with 'score' or a ScoreResult")
    if not (math.isfinite(normalised.score) and 0.0 <= normalised.score <= 1.0):
        raise MemgapError(f"scorer returned {normalised.score!r} for record '{record.id}'; scores must lie in [0, 1]")
    return normalised


def _load_plugin_scorers() -> None:
    # Entry points are read, not imported: a plug-in's module loads only when its scorer is asked for.
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        SCORERS.add_lazy(entry.name, entry.value)
