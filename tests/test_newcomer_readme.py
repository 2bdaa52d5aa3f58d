"""The README's Python block runs as written (the one name it takes from the reader is `trainer`), and the
components it shows take plain dicts (rows from `json.loads`) as well as memgap's records."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memgap.data.io import read_records, records_to_rows, write_jsonl
from memgap.errors import MemgapError
from memgap.splits import grouped_split, nested_split
from memgap.training.curves_callback import FamilyGapCallback
from tiny_models import tiny_model, tiny_records

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)


def test_the_readme_python_block_runs_as_written(tmp_path, monkeypatch, capsys):
    from transformers import Trainer, TrainingArguments

    blocks = python_blocks()
    assert blocks  # the pattern finds the README's block
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "rows.jsonl", records_to_rows(tiny_records(40, families=10)))  # the reader's rows.jsonl
    trainer = Trainer(model=tiny_model(), args=TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True,
                                                                 report_to=[]))
    namespace = {"trainer": trainer}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # a NameError here is a snippet that cannot run
    assert len(namespace["split"].unseen_holdout) > 0 and namespace["lift"].delta == pytest.approx(0.1)
    assert namespace["curves"] in trainer.callback_handler.callbacks
    assert str(namespace["lift"].delta)[:4] in capsys.readouterr().out


@pytest.fixture
def rows_file(tmp_path):
    return write_jsonl(tmp_path / "rows.jsonl", records_to_rows(tiny_records(40, families=10)))


def test_nested_split_takes_dicts_from_json_loads_as_it_takes_records(rows_file):
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()]
    from_dicts, from_file = nested_split(rows, seed=3), nested_split(read_records(rows_file), seed=3)
    for part in ("train", "seen_holdout", "unseen_holdout"):
        assert [r.id for r in getattr(from_dicts, part)] == [r.id for r in getattr(from_file, part)]
    assert [r.id for r in grouped_split(rows, seed=1).holdout] == [r.id for r in grouped_split(read_records(rows_file), seed=1).holdout]


def test_family_gap_callback_takes_dicts(rows_file):
    split = nested_split(read_records(rows_file), seed=0)
    as_rows = {part: records_to_rows(getattr(split, part)) for part in ("seen_holdout", "unseen_holdout")}
    callback = FamilyGapCallback(as_rows["seen_holdout"], as_rows["unseen_holdout"], path=None)
    assert [r.id for r in callback.sets["seen_holdout"]] == [r.id for r in split.seen_holdout]


def test_rows_that_are_not_rows_get_one_line_naming_the_item():
    rows = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "family": "f"}]
    with pytest.raises(MemgapError, match=r"records\[1\] is a str.*memgap.read_records"):
        nested_split([*rows, "rows.jsonl"])
    with pytest.raises(MemgapError) as caught:  # a bad row is refused as read_records refuses it, with its index
        nested_split([*rows, {"prompt": "only a prompt", "family": "g"}])
    assert str(caught.value).startswith("records[1]")
    with pytest.raises(MemgapError, match=r"duplicate id 'x' \(first at records\[0\]\)"):
        nested_split([{**rows[0], "id": "x"}, {**rows[0], "id": "x"}])
    with pytest.raises(MemgapError, match=r"seen_holdout\[0\] is a int"):
        FamilyGapCallback([1], rows, path=None)


def test_the_readme_says_what_leakage_fail_above_exits_with(tmp_path):
    from memgap.cli import main

    text = README.read_text(encoding="utf-8")
    assert re.search(r"`--fail-above X` it exits with status 1", text)
    rows = records_to_rows(tiny_records(8, families=2))
    train, evaluation = write_jsonl(tmp_path / "train.jsonl", rows[:6]), write_jsonl(tmp_path / "eval.jsonl", rows[6:])
    assert main(["leakage", "--train", str(train), "--eval", str(evaluation), "--fail-above", "0"]) == 1
