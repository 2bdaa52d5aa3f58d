"""The Tenacious data generator: deterministic, valid rows, requested family sizes, facts kept per family."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgap.data.io import read_records, write_jsonl
from memgap.domains.tenacious import default_data_path
from memgap.domains.tenacious.brief import is_low_confidence
from memgap.domains.tenacious.generator import (
    MAX_FAMILY_SIZE, SYSTEM_PROMPT, family_sizes, generate_rows, size_summary,
)
from memgap.domains.tenacious.gold import count_word, offered_bench
from memgap.errors import MemgapError

FAMILY_FACTS = ("company", "segment", "funding", "open_roles", "signals", "ai_maturity", "news", "bench", "instruction", "contact")


def _jsonl_bytes(rows, tmp_path, name="rows.jsonl") -> bytes:
    return write_jsonl(tmp_path / name, rows).read_bytes()


def test_shipped_default_data_is_regenerated_byte_for_byte(tmp_path):
    assert _jsonl_bytes(generate_rows(), tmp_path) == default_data_path().read_bytes()


def test_default_data_is_concentrated_with_families_of_at_least_two():
    rows = [json.loads(line) for line in default_data_path().read_text().splitlines()]
    sizes = Counter(row["family"] for row in rows)
    summary = size_summary(rows)
    assert len(rows) == 300 and len(sizes) == 40
    assert min(sizes.values()) >= 2
    assert summary["top_decile_share"] > 0.5  # most rows in the largest 4 families
    assert len({row["id"] for row in rows}) == len(rows)


@settings(max_examples=15, deadline=None)
@given(originals=st.integers(1, 6), variants=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_same_seed_same_bytes_and_requested_sizes(tmp_path_factory, originals, variants, seed):
    tmp_path = tmp_path_factory.mktemp("gen")
    first = generate_rows(originals, variants=variants, seed=seed)
    again = generate_rows(originals, variants=variants, seed=seed)
    assert _jsonl_bytes(first, tmp_path, "a.jsonl") == _jsonl_bytes(again, tmp_path, "b.jsonl")
    assert sorted(Counter(row["family"] for row in first).values()) == [variants] * originals


def test_different_seeds_give_different_prospects():
    names = [{row["context"]["company"]["name"] for row in generate_rows(5, variants=1, seed=seed)} for seed in range(4)]
    assert len({frozenset(n) for n in names}) == 4


@settings(max_examples=40, deadline=None)
@given(originals=st.integers(1, 60), extra=st.integers(0, 400), concentration=st.floats(0, 4), seed=st.integers(0, 1000))
def test_concentrated_sizes_sum_to_rows_and_respect_minimum(originals, extra, concentration, seed):
    rows = 2 * originals + extra
    if rows > MAX_FAMILY_SIZE * originals:  # more rows than the families may hold: refused, by name
        with pytest.raises(MemgapError, match=f"--rows {rows} is too many for {originals} originals"):
            family_sizes(originals, concentration=concentration, rows=rows, seed=seed)
        return
    sizes = family_sizes(originals, concentration=concentration, rows=rows, seed=seed)
    assert len(sizes) == originals and sum(sizes) == rows and min(sizes) >= 2
    assert max(sizes) <= MAX_FAMILY_SIZE


def test_higher_concentration_puts_more_rows_in_the_largest_families():
    shares = []
    for concentration in (0.0, 0.5, 1.0, 1.5, 2.5):
        sizes = sorted(family_sizes(40, concentration=concentration, rows=300), reverse=True)
        shares.append(sum(sizes[:4]) / 300)
    assert shares == sorted(shares) and shares[0] < 0.15 and shares[-1] > 0.6


def test_size_arguments_are_checked():
    with pytest.raises(MemgapError, match="not both"):
        family_sizes(4, variants=2, concentration=1.0)
    with pytest.raises(MemgapError, match="too few"):
        family_sizes(10, concentration=1.0, rows=15, min_family_size=2)
    with pytest.raises(MemgapError, match="originals"):
        generate_rows(0, variants=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_row_reads_back_as_a_valid_record(tmp_path, seed):
    rows = generate_rows(8, concentration=1.0, rows=30, seed=seed)
    records = read_records(write_jsonl(tmp_path / "d.jsonl", rows), require_family=True)
    assert len(records) == 30
    for record, row in zip(records, rows):
        assert record.family == row["family"]
        assert [m["role"] for m in record.prompt_messages] == ["system", "user"]
        assert record.prompt_messages[0]["content"] == SYSTEM_PROMPT
        assert record.context["company"]["name"] in record.prompt_messages[1]["content"]


@pytest.mark.parametrize("seed", [0, 5, 11])
def test_variants_keep_the_family_facts_and_differ_in_surface(seed):
    rows = generate_rows(6, variants=8, seed=seed)
    families = defaultdict(list)
    for row in rows:
        families[row["family"]].append(row)
    for members in families.values():
        first = members[0]["context"]
        for row in members:
            assert all(row["context"][key] == first[key] for key in FAMILY_FACTS)
            email = row["messages"][2]["content"]
            for entry in offered_bench(row["context"]):
                assert f"{count_word(entry['count'])} {entry['seniority']} {entry['stack']} engineer" in email
        texts = {(row["messages"][1]["content"], row["messages"][2]["content"]) for row in members}
        assert len(texts) == len(members)
        assert all(row["augmentation"] for row in members[1:])


def test_families_are_genuinely_different_prospects():
    rows = generate_rows(40, variants=1, seed=3)
    assert len({row["context"]["company"]["name"] for row in rows}) == 40
    assert len({row["context"]["company"]["name"].split()[0] for row in rows}) == 40
    assert len({row["context"]["segment"] for row in rows}) == 4
    assert len({json.dumps(row["context"]["bench"]) for row in rows}) >= 35  # a one-entry bench may recur
    assert len({row["context"]["instruction"]["kind"] for row in rows}) == 3


def test_low_confidence_signals_are_asked_and_prompts_stay_short():
    for row in generate_rows(30, variants=2, seed=9):
        user, email = row["messages"][1]["content"], row["messages"][2]["content"]
        assert len(user.split()) < 170
        assert 60 <= len(email.split("\n", 2)[2].split()) <= 180
        for signal in row["context"]["signals"]:
            sentences = [s for s in re.split(r"(?<=[.?!])\s+|\n", email) if signal["text"] in s]
            if is_low_confidence(signal["confidence"]):
                assert sentences and all(s.endswith("?") for s in sentences)
