"""Capping a split to a time budget: subsets only, deterministic, and as many families as possible."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memgap.data.records import Record
from memgap.splits import cap_rows, spread_over_families


def make_records(family_sizes):
    return [Record(id=f"{f}-{i}", completion="x", prompt_text="p", family=f"f{f}")
            for f, size in enumerate(family_sizes) for i in range(size)]


sizes = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(sizes, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=3))
def test_cap_rows_keeps_order_and_is_deterministic(family_sizes, limit, seed):
    records = make_records(family_sizes)
    capped = cap_rows(records, limit, seed)
    assert len(capped) == min(limit, len(records))
    positions = [records.index(r) for r in capped]
    assert positions == sorted(positions)
    assert capped == cap_rows(records, limit, seed)
    assert cap_rows(records, None, seed) == records


@settings(max_examples=60, deadline=None)
@given(sizes, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=3))
def test_spread_takes_one_per_family_before_any_second(family_sizes, limit, seed):
    records = make_records(family_sizes)
    chosen = spread_over_families(records, limit, seed)
    assert len(chosen) == min(limit, len(records))
    assert set(r.id for r in chosen) <= set(r.id for r in records)
    assert len({r.family for r in chosen}) == min(limit, len(family_sizes))
    assert chosen == spread_over_families(records, limit, seed)


@settings(max_examples=60, deadline=None)
@given(sizes, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=3))
def test_cap_rows_keeps_one_row_of_every_family_asked_for(family_sizes, limit, seed):
    records = make_records(family_sizes)
    keep = {f"f{f}" for f in range(0, len(family_sizes), 2)}
    capped = cap_rows(records, limit, seed, keep_families=keep)
    assert len(capped) == min(limit, len(records))
    if limit >= len(keep):
        assert keep <= {r.family for r in capped}
