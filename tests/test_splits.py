"""Every splitter keeps its invariants (one shared checker), is deterministic, and refuses the impossible."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.splits import check_split, grouped_split, nested_split, random_split, write_split


def make_records(family_sizes: list[int], labels: list[str] | None = None) -> list[Record]:
    records = []
    for family, size in enumerate(family_sizes):
        for member in range(size):
            index = len(records)
            row = {"id": f"r{index}", "prompt": f"p{index}", "completion": f"c{index}", "family": f"fam{family}"}
            if labels is not None:
                row["label"] = labels[family % len(labels)]
            records.append(Record(row["id"], row["completion"], prompt_text=row["prompt"], family=row["family"], row=row))
    return records


family_sizes = st.lists(st.integers(min_value=1, max_value=6), min_size=2, max_size=25)
fractions = st.floats(min_value=0.1, max_value=0.6)
seeds = st.integers(min_value=0, max_value=2**16)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family_sizes, fractions, seeds)
def test_grouped_split_keeps_families_whole(sizes, holdout, seed):
    records = make_records(sizes)
    split = grouped_split(records, holdout=holdout, seed=seed)
    check_split(records, split)
    assert split.train and split.holdout
    again = grouped_split(records, holdout=holdout, seed=seed)
    assert [r.id for r in again.train] == [r.id for r in split.train]
    assert [r.id for r in again.holdout] == [r.id for r in split.holdout]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(family_sizes, fractions, st.integers(min_value=1, max_value=3), seeds)
def test_nested_split_invariants(sizes, unseen_fraction, seen_per_family, seed):
    records = make_records(sizes)
    training_could_have_siblings = sum(size >= 2 for size in sizes) >= 1
    try:
        split = nested_split(records, unseen_fraction=unseen_fraction, seen_per_family=seen_per_family, seed=seed)
    except MemgapError as error:
        assert "2 or more rows" in str(error)
        return
    assert training_could_have_siblings
    check_split(records, split)
    assert split.unseen_holdout and split.seen_holdout and split.train
    n_families = len(sizes)
    unseen_families = {r.family for r in split.unseen_holdout}
    assert len(unseen_families) == min(max(1, round(unseen_fraction * n_families)), n_families - 1)
    train_sizes = {}
    for record in split.train:
        train_sizes[record.family] = train_sizes.get(record.family, 0) + 1
    for family, size in enumerate(sizes):
        name = f"fam{family}"
        if name in unseen_families:
            continue
        held = sum(r.family == name for r in split.seen_holdout)
        assert held == (min(seen_per_family, size - 1) if size >= 2 else 0)
        assert train_sizes[name] == size - held
    again = nested_split(records, unseen_fraction=unseen_fraction, seen_per_family=seen_per_family, seed=seed)
    assert [[r.id for r in part] for part in again.parts().values()] == [[r.id for r in part] for part in split.parts().values()]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=60), fractions, seeds)
def test_random_split_places_every_row_once(n_rows, holdout, seed):
    records = make_records([1] * n_rows)
    split = random_split(records, holdout=holdout, seed=seed)
    check_split(records, split)
    assert split.train and split.holdout


def test_check_split_catches_a_family_on_both_sides():
    records = make_records([3, 3])
    split = grouped_split(records, holdout=0.5, seed=0)
    broken = type(split)(train=split.train + split.holdout[:1], holdout=split.holdout[1:], strategy="grouped", seed=0)
    with pytest.raises(ValueError, match="both sides"):
        check_split(records, broken)
    lost = type(split)(train=split.train, holdout=split.holdout[1:], strategy="grouped", seed=0)
    with pytest.raises(ValueError, match="lost or repeated"):
        check_split(records, lost)


def test_different_seeds_give_different_nested_splits():
    records = make_records([3] * 30)
    splits = {tuple(r.id for r in nested_split(records, seed=seed).unseen_holdout) for seed in range(5)}
    assert len(splits) > 1


def test_stratified_grouped_split_keeps_both_classes_in_holdout():
    records = make_records([2] * 40, labels=["yes", "no"])
    split = grouped_split(records, holdout=0.25, seed=1, stratify="label")
    check_split(records, split)
    assert {r.row["label"] for r in split.holdout} == {"yes", "no"}
    share = sum(r.row["label"] == "yes" for r in split.holdout) / len(split.holdout)
    assert 0.3 <= share <= 0.7


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: grouped_split(make_records([4]), holdout=0.3), "at least 2 families"),
        (lambda: nested_split(make_records([4])), "at least 2 families"),
        (lambda: nested_split(make_records([1, 1, 1])), "2 or more rows"),
        (lambda: random_split(make_records([1]), holdout=0.3), "at least 2"),
        (lambda: grouped_split(make_records([2, 2]), holdout=1.2), "between 0 and 1"),
        (lambda: grouped_split(make_records([2, 2, 2]), stratify="label"), "label"),
    ],
)
def test_impossible_splits_are_refused(make, message):
    with pytest.raises(MemgapError, match=message):
        make()


def test_missing_family_is_refused():
    records = [Record("a", "x", prompt_text="p"), Record("b", "y", prompt_text="q", family="f")]
    with pytest.raises(MemgapError, match="--infer"):
        grouped_split(records)


def test_write_split_is_byte_identical_per_seed(tmp_path):
    records = make_records([3] * 12)
    manifests = []
    for folder in ("one", "two"):
        manifests.append(write_split(nested_split(records, seed=4), tmp_path / folder, input_sha256="abc"))
    for name in ("train.jsonl", "seen_holdout.jsonl", "unseen_holdout.jsonl", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest == manifests[0]
    assert sum(entry["rows"] for entry in manifest["files"].values()) == len(records)
    assert manifest["seed"] == 4 and manifest["strategy"] == "nested"
    written = [json.loads(line)["id"] for line in (tmp_path / "one" / "train.jsonl").read_text().splitlines()]
    assert len(written) == manifest["files"]["train.jsonl"]["rows"]
