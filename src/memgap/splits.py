"""Train / hold-out splits: random, grouped by family, and nested (seen vs unseen families).

A random split puts siblings of training rows in the hold-out, so a hold-out score measures recall
of the augmentation family as much as the behaviour. A grouped split keeps each family on one side.
The nested split is the one an audit needs: unseen families held out whole, plus a few members of
each training family held out, so the lift on seen families can be compared with the lift on unseen
ones. Every splitter is deterministic for a seed and keeps the input order inside each part;
`check_split` states the invariants all of them keep.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedGroupKFold

from memgap.atomic import sha256_file, write_json_atomic
from memgap.data.in_memory import as_records
from memgap.data.io import records_to_rows, write_jsonl
from memgap.data.records import Record
from memgap.data.values import require_families
from memgap.errors import MemgapError


@dataclass(frozen=True)
class HoldoutSplit:
    """A two-way split (random or grouped)."""

    train: list[Record]
    holdout: list[Record]
    strategy: str
    seed: int
    parameters: dict = field(default_factory=dict)

    def parts(self) -> dict[str, list[Record]]:
        return {"train": self.train, "holdout": self.holdout}


@dataclass(frozen=True)
class NestedSplit:
    """Training rows, held-out members of training families, and held-out whole families."""

    train: list[Record]
    seen_holdout: list[Record]
    unseen_holdout: list[Record]
    seed: int = 0
    parameters: dict = field(default_factory=dict)
    strategy: str = "nested"

    def parts(self) -> dict[str, list[Record]]:
        return {"train": self.train, "seen_holdout": self.seen_holdout, "unseen_holdout": self.unseen_holdout}


def random_split(records: Sequence[Record | dict], *, holdout: float = 0.3, seed: int = 0) -> HoldoutSplit:
    """Rows split at random, ignoring families (the leaky baseline).

    Parameters:
        records: the rows, shape (n_rows,): Records, or dicts read as a data file's rows are.
        holdout: the share of rows held out, in (0, 1); rounded, at least 1 row, leaving 1 to train.
        seed: sklearn's `random_state`.
    Returns a `HoldoutSplit` (train, holdout) in input order.
    Raises MemgapError for a share outside (0, 1) or fewer than 2 rows.
    Method: sklearn.model_selection.ShuffleSplit.
    """
    _check_fraction(holdout, "holdout")
    records = as_records(records)
    if len(records) < 2:
        raise MemgapError(f"cannot split {len(records)} row(s): need at least 2")
    splitter = ShuffleSplit(n_splits=1, test_size=_held_out_count(holdout, len(records)), random_state=seed)
    train_index, holdout_index = _one_split(splitter, np.zeros(len(records)))
    return HoldoutSplit(
        *_take(records, train_index, holdout_index), strategy="random", seed=seed, parameters={"holdout": holdout}
    )


def grouped_split(
    records: Sequence[Record | dict], *, holdout: float = 0.3, seed: int = 0, stratify: str | None = None
) -> HoldoutSplit:
    """Whole families held out, so no family is on both sides.

    Parameters:
        records: the rows, each with a family (shape (n_rows,)): Records, or dicts with a `family` key.
        holdout: the share of families held out, in (0, 1); rounded, at least 1, leaving 1 to train.
        seed: sklearn's `random_state`.
        stratify: a row field whose class balance the hold-out keeps; the hold-out is then one of
            round(1 / holdout) folds.
    Returns a `HoldoutSplit` in input order.
    Raises MemgapError for a row without a family, fewer than 2 families, a share outside (0, 1), too
    few families for the folds, or a missing `stratify` field.
    Method: sklearn.model_selection.GroupShuffleSplit, or StratifiedGroupKFold with `stratify`.
    """
    _check_fraction(holdout, "holdout")
    records = as_records(records)
    groups = _family_codes(records)
    if stratify is None:
        n_holdout = _held_out_count(holdout, int(groups.max()) + 1)
        splitter = GroupShuffleSplit(n_splits=1, test_size=n_holdout, random_state=seed)
        train_index, holdout_index = _one_split(splitter, np.zeros(len(records)), groups=groups)
    else:
        labels = _stratify_labels(records, stratify)
        n_folds = max(2, round(1 / holdout))
        if groups.max() + 1 < n_folds:
            raise MemgapError(f"stratified hold-out of {holdout} needs at least {n_folds} families, found {groups.max() + 1}")
        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        train_index, holdout_index = _one_split(splitter, np.zeros(len(records)), labels, groups)
    _require_sides(train_index, holdout_index, "grouped")
    return HoldoutSplit(
        *_take(records, train_index, holdout_index),
        strategy="grouped",
        seed=seed,
        parameters={"holdout": holdout, "stratify": stratify},
    )


def nested_split(
    records: Sequence[Record | dict], *, unseen_fraction: float = 0.3, seen_per_family: int = 1, seed: int = 0
) -> NestedSplit:
    """The audit's split: unseen families held out whole, then members of the training families held out.

    Parameters:
        records: the rows, each with a family (shape (n_rows,)): Records (`memgap.read_records`), or
            dicts (e.g. from `json.loads`) with a `family` key, read as a data file's rows are.
        unseen_fraction: the share of families held out whole, in (0, 1) (at least 1 family, leaving 1).
        seen_per_family: members held out of each training family with 2 or more rows (each keeps at
            least one row in training).
        seed: seeds the family draw (sklearn's `random_state`) and the member draw (numpy).
    Returns a `NestedSplit` (train, seen_holdout, unseen_holdout) of Records; no unseen family has a training row.
    Raises MemgapError for a row that is neither a Record nor a valid row, a row without a family, fewer than 2 families, a share outside (0, 1),
    seen_per_family < 1, or no training family with 2 or more rows.
    Method: sklearn.model_selection.GroupShuffleSplit for the families, then a seeded draw per family.
    """
    _check_fraction(unseen_fraction, "unseen_fraction")
    if seen_per_family < 1:
        raise MemgapError(f"seen_per_family must be at least 1, got {seen_per_family}")
    records = as_records(records)
    groups = _family_codes(records)
    n_families = int(groups.max()) + 1
    n_unseen = _held_out_count(unseen_fraction, n_families)
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_unseen, random_state=seed)
    train_family_rows, unseen_index = _one_split(splitter, np.zeros(len(records)), groups=groups)
    rng = np.random.default_rng(seed)
    seen_index = []
    train_groups = groups[train_family_rows]
    order = np.argsort(train_groups, kind="stable")
    boundaries = np.flatnonzero(np.diff(train_groups[order])) + 1
    for members in np.split(train_family_rows[order], boundaries):
        if len(members) >= 2:
            take = min(seen_per_family, len(members) - 1)  # a seen family keeps a member in training
            seen_index.extend(rng.choice(members, size=take, replace=False).tolist())
    if not seen_index:
        raise MemgapError(
            "no training family has 2 or more rows, so nothing can be held out of a seen family; "
            "families look like singletons (check the family field, or lower the inference threshold)"
        )
    seen_index = np.sort(np.asarray(seen_index, dtype=np.int64))
    train_index = np.setdiff1d(train_family_rows, seen_index)
    return NestedSplit(
        train=[records[i] for i in train_index],
        seen_holdout=[records[i] for i in seen_index],
        unseen_holdout=[records[i] for i in np.sort(unseen_index)],
        seed=seed,
        parameters={"unseen_fraction": unseen_fraction, "seen_per_family": seen_per_family},
    )


def check_split(records: Sequence[Record], split: HoldoutSplit | NestedSplit) -> None:
    """Raise ValueError unless every row lands in exactly one part and no family crosses sides
    (grouped: train and hold-out disjoint; nested: seen families within training families and
    unseen families disjoint from them). One checker for every splitter."""
    parts = split.parts()
    placed = [record.id for part in parts.values() for record in part]
    expected = sorted(record.id for record in records)
    if sorted(placed) != expected:
        raise ValueError(f"{split.strategy} split places {len(placed)} rows for {len(expected)} (lost or repeated rows)")
    if split.strategy == "random":
        return
    families = {name: {record.family for record in part} for name, part in parts.items()}
    if split.strategy == "grouped" and families["train"] & families["holdout"]:
        raise ValueError(f"families on both sides: {sorted(families['train'] & families['holdout'])[:5]}")
    if split.strategy == "nested":
        if not families["seen_holdout"] <= families["train"]:
            raise ValueError(f"seen hold-out families missing from train: {sorted(families['seen_holdout'] - families['train'])[:5]}")
        leaked = families["unseen_holdout"] & (families["train"] | families["seen_holdout"])
        if leaked:
            raise ValueError(f"unseen families also seen: {sorted(leaked)[:5]}")


def write_split(
    split: HoldoutSplit | NestedSplit,
    out_dir: str | os.PathLike[str],
    *,
    input_sha256: str | None = None,
    family_field: str = "family",
) -> dict:
    """Write each part as `<part>.jsonl` and `manifest.json` (rows, families and SHA-256 per file,
    input SHA-256, seed, strategy) into `out_dir`; byte-identical for the same split."""
    out_dir = Path(out_dir)
    files = {}
    for name, part in split.parts().items():
        path = write_jsonl(out_dir / f"{name}.jsonl", records_to_rows(part, family_field=family_field))
        files[f"{name}.jsonl"] = {
            "rows": len(part),
            "families": len({record.family for record in part if record.family is not None}),
            "sha256": sha256_file(path),
        }
    manifest = {
        "strategy": split.strategy,
        "seed": split.seed,
        "parameters": split.parameters,
        "input_sha256": input_sha256,
        "files": files,
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def split_data_file(data: str | os.PathLike[str], out: str | os.PathLike[str], *, strategy: str = "nested",
                    holdout: float = 0.3, seen_per_family: int = 1, stratify: str | None = None, infer: bool = False,
                    family_field: str = "family", seed: int = 0) -> dict:
    """What `memgap split` does: read a data file, give its rows families, split, and write the split.

    Parameters:
        data: a JSONL, JSON, CSV or Parquet file of records.
        out: the folder for train.jsonl and the hold-out file(s) with manifest.json (`write_split`).
        strategy: `random` (rows, families ignored), `grouped` (whole families held out) or `nested`
            (whole families held out, and `seen_per_family` members of each training family).
        holdout: the share held out, in (0, 1): of rows (random) or of families (grouped, nested).
        stratify: grouped only: a row field whose class balance both sides keep.
        infer: infer near-duplicate families instead of reading `family_field`.
        seed: the splitter's random state.
    Returns the manifest written. Raises MemgapError for a row without a family (grouped, nested),
    too few families, a share outside (0, 1), or `stratify` with another strategy than grouped.
    """
    from memgap.data.io import read_records
    from memgap.families import assign_families

    if stratify and strategy != "grouped":
        raise MemgapError("--stratify applies to --strategy grouped only")
    records = read_records(data, family_field=family_field)
    if strategy != "random" or infer:
        records, _ = assign_families(records, infer=infer, family_field=family_field)
    if strategy == "random":
        split = random_split(records, holdout=holdout, seed=seed)
    elif strategy == "grouped":
        split = grouped_split(records, holdout=holdout, seed=seed, stratify=stratify)
    elif strategy == "nested":
        split = nested_split(records, unseen_fraction=holdout, seen_per_family=seen_per_family, seed=seed)
    else:
        raise MemgapError(f"unknown split strategy '{strategy}'; one of random, grouped, nested")
    return write_split(split, out, input_sha256=sha256_file(data), family_field=family_field)


def cap_rows(
    records: Sequence[Record], limit: int | None, seed: int, *, keep_families: Iterable[str | None] = ()
) -> list[Record]:
    """A seeded random subset of at most `limit` rows, in input order.

    Parameters: records (n_rows,); limit: the most rows kept (None keeps all); seed: numpy's seed;
    keep_families: families of which one row is taken first.
    Taking one row of each of `keep_families` first means capping a training set never drops a family
    the seen-family hold-out relies on; the rest is drawn at random from what is left, which keeps the
    larger families' share of the data. Returns at most `limit` records; raises nothing.
    """
    if limit is None or len(records) <= limit:
        return list(records)
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(records))]
    wanted = set(keep_families)
    chosen: list[int] = []
    for index in order:
        if records[index].family in wanted:
            chosen.append(index)
            wanted.discard(records[index].family)
    chosen = chosen[:limit]
    taken = set(chosen)
    chosen += [index for index in order if index not in taken][: limit - len(chosen)]
    return [records[i] for i in sorted(chosen)]


def spread_over_families(records: Sequence[Record], limit: int | None, seed: int) -> list[Record]:
    """Up to `limit` items, one per family in random order before a second from any family.

    Parameters: records (n_rows,); limit: the most kept (None keeps all); seed: numpy's seed.
    Returns the chosen records in input order; the family count is as large as `limit` allows.
    """
    if limit is None or len(records) <= limit:
        return list(records)
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_family.setdefault(str(record.family), []).append(index)
    families = sorted(by_family)
    rng.shuffle(families)
    queues = {f: list(rng.permutation(by_family[f])) for f in families}
    chosen: list[int] = []
    while len(chosen) < limit:
        for family in families:
            if queues[family] and len(chosen) < limit:
                chosen.append(int(queues[family].pop(0)))
    return [records[i] for i in sorted(chosen)]


def _held_out_count(fraction: float, n_units: int) -> int:
    """Rows or families to hold out: the rounded share, at least 1, leaving at least 1 to train."""
    return min(max(1, round(fraction * n_units)), n_units - 1)


def _check_fraction(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise MemgapError(f"{name} must lie strictly between 0 and 1, got {value}")


def _family_codes(records: Sequence[Record]) -> np.ndarray:
    require_families(records)
    _, codes = np.unique(np.asarray([record.family for record in records], dtype=object).astype(str), return_inverse=True)
    if len(codes) == 0 or codes.max() < 1:
        found = 0 if len(codes) == 0 else 1
        raise MemgapError(f"a family split needs at least 2 families, found {found}; declare them in a field "
                          "(--family-field) or infer them (--infer); a split of rows at random "
                          "(memgap split --strategy random) needs none")
    return codes


def _stratify_labels(records: Sequence[Record], field_name: str) -> np.ndarray:
    from memgap.data.values import canonical_value

    labels = []
    for record in records:
        label = canonical_value(record.row.get(field_name))  # NaN is missing, 1.0 is 1, as for families
        if label is None:
            raise MemgapError(f"record '{record.id}' has no value to stratify on", where=f"field '{field_name}'")
        labels.append(label)
    return np.asarray(labels)


def _one_split(splitter, features, labels=None, groups=None) -> tuple[np.ndarray, np.ndarray]:
    try:
        train_index, holdout_index = next(splitter.split(features, labels, groups))
    except ValueError as error:  # sklearn refuses sizes that leave a side empty
        raise MemgapError(f"cannot make this split: {error}") from None
    _require_sides(train_index, holdout_index, type(splitter).__name__)
    return np.sort(train_index), np.sort(holdout_index)


def _require_sides(train_index: np.ndarray, holdout_index: np.ndarray, what: str) -> None:
    if len(train_index) == 0 or len(holdout_index) == 0:
        raise MemgapError(f"{what} split leaves one side empty; use more rows or families, or another hold-out size")


def _take(records: Sequence[Record], train_index: np.ndarray, holdout_index: np.ndarray):
    return [records[i] for i in train_index], [records[i] for i in holdout_index]
