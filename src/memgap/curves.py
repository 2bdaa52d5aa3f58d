"""Seen- and unseen-family loss over training: the statistics at each point, the onset and the best step.

While an adapter learns a behaviour, the completion NLL of held-out members of trained families
(`seen_holdout`) and of families held out whole (`unseen_holdout`) fall together; once it starts
memorizing families, the seen-family NLL keeps falling while the unseen-family NLL stalls or rises.
`training_curves(rows)` turns per-item NLLs at evaluation points (the rows of family_gap.csv, written
by `memgap.FamilyGapCallback`) into:

- per point: the mean NLL of each hold-out (and a training sample) with a family-clustered interval,
  the seen-minus-unseen gap in NLL reduction from the first point (the base model at step 0), with
  the same family-clustered Welch interval as the final audit's gap (`memgap.stats.memorization_gap`),
  and the unseen-family NLL reduction from the base (`memgap.stats.paired_delta`, family sign-flip);
- the onset: the first evaluation point from which further training helps mostly the trained
  families, and keeps doing so (the rule is in `onset` and docs/curves.md);
- the best step: the point with the lowest mean unseen-family NLL.

Pure numpy and scipy apart from reading and writing family_gap.csv.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from memgap.atomic import csv_text, write_csv_atomic
from memgap.columns import FAMILY_GAP_COLUMNS
from memgap.errors import MemgapError, where_in_file
from memgap.stats import memorization_gap, paired_delta
from memgap.stats.families import family_sums
from memgap.stats.gap import clustered_mean

SEEN, UNSEEN, TRAIN = "seen_holdout", "unseen_holdout", "train_sample"
CURVE_SETS = (SEEN, UNSEEN, TRAIN)
CSV_FIELDS = tuple(FAMILY_GAP_COLUMNS)
ONSET_RULE = (
    "onset: the first evaluation point a such that, from a to every later point b, the seen-family NLL falls, "
    "the unseen-family NLL falls by less than min_generalization_ratio times the seen-family fall (or rises), and "
    "the gap of the two falls is significantly positive (family-clustered Welch t); at least min_points_after "
    "later points must confirm it. Best step: the lowest mean unseen-family NLL."
)


@dataclass(frozen=True)
class CurveRow:
    """One item's mean completion NLL (nats per token) at one training step.

    `holdout` is one of `seen_holdout`, `unseen_holdout`, `train_sample`.
    """

    step: int
    holdout: str
    id: str
    family: str
    nll: float
    n_tokens: int


# -- family_gap.csv -------------------------------------------------------------------------------


def family_gap_csv_text(rows: Iterable[CurveRow]) -> str:
    """The CSV text of `rows` (header `step,holdout,id,family,nll,n_tokens`)."""
    return csv_text(CSV_FIELDS, _family_gap_cells(rows))


def write_family_gap(path: str | Path, rows: Iterable[CurveRow]) -> Path:
    """Write family_gap.csv atomically; returns the path."""
    return write_csv_atomic(path, CSV_FIELDS, _family_gap_cells(rows))


def _family_gap_cells(rows: Iterable[CurveRow]) -> Iterable[list[Any]]:
    return ([row.step, row.holdout, row.id, row.family, repr(float(row.nll)), row.n_tokens] for row in rows)


def read_family_gap(path: str | Path) -> list[CurveRow]:
    """Read a family_gap.csv written by `FamilyGapCallback` (or `write_family_gap`).

    Parameters: `path`, the CSV file. Returns its rows in file order.
    Raises `MemgapError` naming the file, line and field for a missing file, a missing column, a file
    with no rows, a row with more or fewer fields than the header, a step that is not a whole number
    of 0 or more, an unknown hold-out name, an empty id or family, an NLL that is not a finite number,
    a token count that is not a positive whole number, or a second row for the same step, hold-out
    and item.
    """
    path = Path(path)
    if not path.exists():
        raise MemgapError("family_gap.csv not found; train with memgap.FamilyGapCallback to write it", where=str(path))
    rows: list[CurveRow] = []
    first_line: dict[tuple[int, str, str], int] = {}
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream, restkey=_EXTRA, restval=None)
        missing = [name for name in CSV_FIELDS if name not in (reader.fieldnames or [])]
        if missing:
            raise MemgapError(f"columns {missing} are missing; the header must be {','.join(CSV_FIELDS)}",
                              where=where_in_file(path, 1))
        for raw in reader:
            line = reader.line_num
            row = _parse_row(raw, path, line)
            key = (row.step, row.holdout, row.id)
            if key in first_line:
                raise MemgapError(f"a second row for item {row.id!r} of {row.holdout} at step {row.step} (first at line "
                                  f"{first_line[key]}); rewrite the file with memgap.FamilyGapCallback",
                                  where=where_in_file(path, line, "id"))
            first_line[key] = line
            rows.append(row)
    if not rows:
        raise MemgapError("holds a header but no rows; train with memgap.FamilyGapCallback to write them",
                          where=str(path))
    return rows


_EXTRA = "\0extra"  # DictReader's key for fields beyond the header


def _parse_row(raw: dict[str, str | None], path: Path, line: int) -> CurveRow:
    def fail(field: str, what: str) -> MemgapError:
        return MemgapError(f"{what}; rewrite the file with memgap.FamilyGapCallback", where=where_in_file(path, line, field))

    if raw.get(_EXTRA) is not None:
        raise fail(CSV_FIELDS[-1], f"{len(CSV_FIELDS) + len(raw[_EXTRA])} fields where the header has {len(CSV_FIELDS)}")
    absent = [name for name in CSV_FIELDS if raw.get(name) is None]
    if absent:
        raise fail(absent[0], f"{len(CSV_FIELDS) - len(absent)} fields where the header has {len(CSV_FIELDS)}")
    def parsed(field: str, kind: type, what: str):
        try:
            return kind(raw[field])
        except ValueError:
            raise fail(field, f"{field} {raw[field]!r} is not {what}") from None

    step = parsed("step", int, "a whole number")
    if step < 0:
        raise fail("step", f"step {step} is negative")
    if raw["holdout"] not in CURVE_SETS:
        raise fail("holdout", f"holdout {raw['holdout']!r} is not one of {', '.join(CURVE_SETS)}")
    for name in ("id", "family"):
        if not raw[name].strip():
            raise fail(name, f"empty {name}")
    nll = parsed("nll", float, "a number")
    if not math.isfinite(nll):
        raise fail("nll", f"nll {raw['nll']!r} is not finite")
    n_tokens = parsed("n_tokens", int, "a whole number")
    if n_tokens < 1:
        raise fail("n_tokens", f"n_tokens {n_tokens} is not positive (an item with no completion token has no NLL)")
    return CurveRow(step, raw["holdout"], raw["id"], raw["family"], nll, n_tokens)


# -- statistics -----------------------------------------------------------------------------------


def training_curves(rows: Sequence[CurveRow], *, alpha: float = 0.05, min_generalization_ratio: float = 0.5,
                    min_points_after: int = 2, n_resamples: int = 2000, seed: int = 0) -> dict[str, Any] | None:
    """The curves' statistics, onset and best step from per-item NLLs at evaluation points.

    Parameters:
        rows: per-item completion NLLs (nats per token), any order; items are matched across steps by
            id within a hold-out, and only items present at every step are used.
        alpha: level of every interval and test.
        min_generalization_ratio: the verdict's threshold; between two points, an unseen-family fall
            below this share of the seen-family fall counts as training that helps mostly trained families.
        min_points_after: later evaluation points that must confirm an onset.
        n_resamples, seed: for the family sign-flip interval of the unseen-family reduction.

    Returns None when the rows hold fewer than two steps with both hold-outs, else a JSON-ready dict:
    `points` (per step: `step`, `seen_holdout`/`unseen_holdout`/`train_sample` mean NLL blocks
    `{mean, ci_low, ci_high, n, n_families}`, `gap` and `unseen_reduction` S blocks measured from the
    first point, `increment` the gap of the falls since the previous point), `onset` (None or
    `{step, index, to_step, seen_fall, unseen_fall, gap}`), `best_step`, `best_unseen_nll`,
    `total_steps`, `sentence` and `rule`.
    """
    tables = {name: _table(rows, name) for name in CURVE_SETS}
    steps = sorted(set(tables[SEEN]) & set(tables[UNSEEN]))
    if len(steps) < 2:
        return None
    seen_ids = _common_ids(tables[SEEN], steps)
    unseen_ids = _common_ids(tables[UNSEEN], steps)
    if not seen_ids or not unseen_ids:
        return None
    seen = _Matrix(tables[SEEN], steps, seen_ids)
    unseen = _Matrix(tables[UNSEEN], steps, unseen_ids)
    train_steps = [step for step in steps if step in tables[TRAIN]]
    points = []
    for index, step in enumerate(steps):
        point: dict[str, Any] = {
            "step": step,
            SEEN: _mean_block(seen.values[index], seen.families, alpha),
            UNSEEN: _mean_block(unseen.values[index], unseen.families, alpha),
            TRAIN: _mean_block(*_train_values(tables[TRAIN], step), alpha) if step in train_steps else None,
            "gap": _falls_gap(seen, unseen, 0, index, alpha),
            "unseen_reduction": paired_delta(unseen.values[0], unseen.values[index], unseen.families,
                                             n_resamples=n_resamples, alpha=alpha, seed=seed).to_dict(),
            "increment": _falls_gap(seen, unseen, index - 1, index, alpha) if index else None,
        }
        points.append(point)
    onset = find_onset(seen, unseen, steps, alpha=alpha, min_generalization_ratio=min_generalization_ratio,
                       min_points_after=min_points_after)
    unseen_means = [point[UNSEEN]["mean"] for point in points]
    best = int(np.argmin(unseen_means))
    result = {
        "points": points,
        "onset": onset,
        "best_step": steps[best],
        "best_unseen_nll": unseen_means[best],
        "total_steps": steps[-1],
        "rule": {"alpha": alpha, "min_generalization_ratio": min_generalization_ratio,
                 "min_points_after": min_points_after, "text": ONSET_RULE},
    }
    result["sentence"] = curves_sentence(result)
    return result


def find_onset(seen: _Matrix, unseen: _Matrix, steps: Sequence[int], *, alpha: float,
               min_generalization_ratio: float, min_points_after: int) -> dict[str, Any] | None:
    """The first point from which every later point shows training helping mostly trained families.

    From point a to each later point b: seen fall = mean(NLL_a - NLL_b) on the seen hold-out > 0;
    unseen fall < min_generalization_ratio * seen fall; and the gap (seen fall - unseen fall) is
    significantly positive (delta > 0, p < alpha, lower bound > 0). The onset needs at least
    `min_points_after` later points, all satisfying this. None when no point qualifies.
    """
    last = len(steps) - 1
    for start in range(0, last - min_points_after + 1):
        checks = [_helps_trained_families(seen, unseen, start, end, alpha, min_generalization_ratio)
                  for end in range(start + 1, last + 1)]
        if all(ok for ok, _ in checks):
            seen_fall, unseen_fall, gap = checks[-1][1]
            return {"step": steps[start], "index": start, "to_step": steps[last],
                    "seen_fall": seen_fall, "unseen_fall": unseen_fall, "gap": gap}
    return None


def onset_of(rows: Sequence[CurveRow], *, alpha: float = 0.05, min_generalization_ratio: float = 0.5,
             min_points_after: int = 2) -> dict[str, Any] | None:
    """`find_onset` of the rows alone, without the per-point statistics `training_curves` adds.

    What a live stopping rule asks at every point (memgap.training.stopping): a few Welch tests,
    no resampling. None with fewer than two steps holding both hold-outs.
    """
    matrices = _holdout_matrices(rows)
    if matrices is None:
        return None
    seen, unseen, steps = matrices
    return find_onset(seen, unseen, steps, alpha=alpha, min_generalization_ratio=min_generalization_ratio,
                      min_points_after=min_points_after)


def mean_nll_by_step(rows: Sequence[CurveRow], holdout: str) -> dict[int, float]:
    """The mean NLL of one hold-out at each step, over the items scored at every step."""
    table = _table(rows, holdout)
    steps = sorted(table)
    if not steps:
        return {}
    ids = _common_ids(table, steps)
    return {step: float(np.mean([table[step][item][1] for item in ids])) for step in steps} if ids else {}


def _holdout_matrices(rows: Sequence[CurveRow]) -> tuple[_Matrix, _Matrix, list[int]] | None:
    seen_table, unseen_table = _table(rows, SEEN), _table(rows, UNSEEN)
    steps = sorted(set(seen_table) & set(unseen_table))
    if len(steps) < 2:
        return None
    seen_ids, unseen_ids = _common_ids(seen_table, steps), _common_ids(unseen_table, steps)
    if not seen_ids or not unseen_ids:
        return None
    return _Matrix(seen_table, steps, seen_ids), _Matrix(unseen_table, steps, unseen_ids), steps


def curves_sentence(curves: dict[str, Any]) -> str:
    """'The gap opened at step S of T; the unseen-family loss was lowest at step B.' (or: did not open)."""
    total = curves["total_steps"]
    onset = curves.get("onset")
    best = curves["best_step"]
    if onset is None:
        first = f"Over training, no lasting gap opened between seen- and unseen-family loss ({total} steps)"
    else:
        first = (f"The gap opened at step {onset['step']} of {total}: from there the seen-family loss fell by "
                 f"{onset['seen_fall']:.2f} nats and the unseen-family loss by {onset['unseen_fall']:.2f}")
    if best == curves["points"][0]["step"]:
        second = "the unseen-family loss was lowest before training"
    else:
        second = f"the unseen-family loss was lowest at step {best}"
    return f"{first}; {second}."


def step_metrics(rows: Sequence[CurveRow], step: int, *, alpha: float = 0.05) -> dict[str, float]:
    """The figures logged at `step`: mean NLL per set, and (from the first step on) the gap and unseen reduction."""
    metrics: dict[str, float] = {}
    for holdout in (SEEN, UNSEEN, TRAIN):
        values = [row.nll for row in rows if row.step == step and row.holdout == holdout]
        if values:
            metrics[f"eval_{holdout}_nll"] = sum(values) / len(values)
    steps = sorted({row.step for row in rows if row.step <= step})
    if len(steps) >= 2:
        pair = [steps[0], step]
        seen_table, unseen_table = _table(rows, SEEN), _table(rows, UNSEEN)
        seen = _Matrix(seen_table, pair, _common_ids(seen_table, pair))
        unseen = _Matrix(unseen_table, pair, _common_ids(unseen_table, pair))
        gap = _falls_gap(seen, unseen, 0, 1, alpha)
        metrics["eval_family_gap"] = gap["delta"]
        for key in ("ci_low", "ci_high"):
            if gap[key] is not None:
                metrics[f"eval_family_gap_{key}"] = gap[key]
        metrics["eval_unseen_holdout_reduction"] = float((unseen.values[0] - unseen.values[1]).mean())
    return metrics


# -- helpers --------------------------------------------------------------------------------------


class _Matrix:
    """NLLs of one hold-out's common items: values[point index] is an array over items."""

    def __init__(self, table: dict[int, dict[str, tuple[str, float]]], steps: Sequence[int], ids: list[str]):
        self.families = [table[steps[0]][item][0] for item in ids]
        self.values = [np.array([table[step][item][1] for item in ids], dtype=float) for step in steps]


def _table(rows: Sequence[CurveRow], holdout: str) -> dict[int, dict[str, tuple[str, float]]]:
    table: dict[int, dict[str, tuple[str, float]]] = {}
    for row in rows:
        if row.holdout == holdout:
            table.setdefault(int(row.step), {})[row.id] = (row.family, float(row.nll))
    return table


def _common_ids(table: dict[int, dict[str, tuple[str, float]]], steps: Sequence[int]) -> list[str]:
    ids = set(table[steps[0]])
    for step in steps[1:]:
        ids &= set(table[step])
    return sorted(ids)


def _train_values(table: dict[int, dict[str, tuple[str, float]]], step: int) -> tuple[np.ndarray, list[str]]:
    items = sorted(table[step])
    return np.array([table[step][item][1] for item in items], dtype=float), [table[step][item][0] for item in items]


def _mean_block(values: np.ndarray, families: Sequence[str], alpha: float) -> dict[str, Any]:
    """Mean NLL with a family-clustered (CR2) t interval, df = families - 1."""
    clustered = clustered_mean(family_sums(values, np.zeros(len(values)), families, "training curve"))
    low = high = None
    if clustered.n_families >= 2 and math.isfinite(clustered.variance):
        half = float(scipy_stats.t.ppf(1 - alpha / 2, clustered.n_families - 1) * math.sqrt(clustered.variance))
        low, high = clustered.mean - half, clustered.mean + half
    return {"mean": clustered.mean, "ci_low": low, "ci_high": high, "n": len(values), "n_families": clustered.n_families}


def _falls_gap(seen: _Matrix, unseen: _Matrix, start: int, end: int, alpha: float) -> dict[str, Any]:
    """(seen NLL fall - unseen NLL fall) from point `start` to `end`, family-clustered: the audit's gap."""
    return memorization_gap(seen.values[start], seen.values[end], seen.families,
                            unseen.values[start], unseen.values[end], unseen.families, alpha=alpha).to_dict()


def _helps_trained_families(seen: _Matrix, unseen: _Matrix, start: int, end: int, alpha: float,
                            min_ratio: float) -> tuple[bool, tuple[float, float, dict[str, Any]]]:
    seen_fall = float(np.mean(seen.values[start] - seen.values[end]))
    unseen_fall = float(np.mean(unseen.values[start] - unseen.values[end]))
    gap = _falls_gap(seen, unseen, start, end, alpha)
    significant = (gap["delta"] is not None and gap["delta"] > 0 and gap["p_value"] is not None
                   and gap["p_value"] < alpha and gap["ci_low"] is not None and gap["ci_low"] > 0)
    ok = seen_fall > 0 and unseen_fall < min_ratio * seen_fall and significant
    return ok, (seen_fall, unseen_fall, gap)
