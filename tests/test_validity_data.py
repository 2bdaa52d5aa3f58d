"""The validity experiment's data sets must have the answer they claim, or its verdicts prove nothing."""
from __future__ import annotations

import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from memgap.data.io import read_records, write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks" / "validity"))

from scorers import code_recall, house_format  # noqa: E402
from validity_data import CODE_WORDS, WORDS, make_rows  # noqa: E402


@pytest.fixture(params=["learnable", "memorizable"])
def records(request, tmp_path):
    return request.param, read_records(write_jsonl(tmp_path / "rows.jsonl", make_rows(request.param, seed=3)))


def by_family(records):
    families = defaultdict(list)
    for record in records:
        families[record.family].append(record)
    return families


def test_code_words_never_occur_in_any_prompt():
    assert not set(CODE_WORDS) & set(WORDS)
    for row in make_rows("memorizable", seed=1):
        prompt_words = set(re.findall(r"[a-z]+", " ".join(m["content"] for m in row["messages"][:-1]).lower()))
        assert not prompt_words & set(CODE_WORDS)


def test_every_family_shares_one_completion_and_siblings_differ_in_prompt(records):
    _, records = records
    for members in by_family(records).values():
        assert len({record.completion for record in members}) == 1
        assert len({record.prompt_plain for record in members}) > 1


def test_memorizable_codes_differ_between_families_and_each_family_has_its_own_project():
    rows = make_rows("memorizable", seed=2)
    codes = {row["family"]: row["messages"][-1]["content"] for row in rows}
    assert len(set(codes.values())) == len(codes)
    projects = {re.search(r"Project (\w+):", row["messages"][1]["content"]).group(1): row["family"] for row in rows}
    assert len(projects) == len(codes)


def test_gold_scores_one_and_another_familys_answer_scores_low(records):
    kind, records = records
    scorer = house_format if kind == "learnable" else code_recall
    families = list(by_family(records).values())
    for own, other in zip(families, families[1:]):
        assert scorer(own[0].completion, own[0])["score"] == 1.0
        assert scorer(other[0].completion, own[0])["score"] < 0.75


def test_code_recall_gives_nothing_for_the_format_alone():
    record = first_record(make_rows("memorizable", seed=0)[:1])
    assert code_recall("CODE", record)["score"] == 0.0
    code = record.completion.split()[1:]
    assert code_recall(f"CODE {code[0]}", record)["score"] == pytest.approx(1 / len(code))


def test_house_format_needs_the_prompts_own_items():
    record = first_record(make_rows("learnable", seed=0)[:1])
    assert house_format("ITEMS: FOO | BAR | BAZ END", record)["score"] == 0.5
    assert house_format("items foo bar baz", record)["score"] == 0.0


def first_record(rows):
    with tempfile.TemporaryDirectory() as folder:
        return read_records(write_jsonl(Path(folder) / "rows.jsonl", rows))[0]
