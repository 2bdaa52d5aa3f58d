"""`run_audit` on real-world data shapes: every row rendered and every setting resolved before any
stage is written; system turns folded and over-long rows dropped on request, and both recorded."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memgap.data.io import records_to_rows, write_jsonl
from memgap.errors import MemgapError
from memgap.pipeline import run_audit
from memgap.report import validate_audit
from pipeline_helpers import tiny_config
from tiny_models import GEMMA_STYLE_TEMPLATE, save_tiny_model, tiny_records

CASES = Path(__file__).parent / "data" / "cases"
SYSTEM = {"role": "system", "content": "Answer in one sentence."}


def gemma_style_inputs(folder: Path, *, overlong: int = 0) -> tuple[Path, Path]:
    """A tiny model whose template refuses system turns, and chat rows with a system turn (some multi-turn)."""
    model_dir = save_tiny_model(folder / "model", chat_template=GEMMA_STYLE_TEMPLATE)
    rows = []
    for index, row in enumerate(records_to_rows(tiny_records(80, families=20))):
        user, assistant = row["messages"]
        if index % 4 == 0:  # a multi-turn conversation: the first answer is learned too
            rows.append({**row, "messages": [SYSTEM, user, {"role": "assistant", "content": "Box."},
                                             {"role": "user", "content": "Number?"}, assistant]})
        else:
            rows.append({**row, "messages": [SYSTEM, user, assistant]})
    for index in range(overlong):
        rows[index]["messages"][1] = {"role": "user", "content": "Which box? " + "filler " * 40}
    return model_dir, write_jsonl(folder / "data.jsonl", rows)


def written(out: Path) -> list[str]:
    return sorted(str(path.relative_to(out)) for path in out.rglob("*")) if out.exists() else []


def test_a_refused_system_turn_stops_the_run_before_any_stage(tmp_path):
    model_dir, data = gemma_style_inputs(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(MemgapError) as caught:
        run_audit(tiny_config(model_dir, data, out), progress=False)
    message = str(caught.value)
    assert message.startswith(f"{data}:1: the model's chat template refuses row 'r0' (System role not supported)")
    assert "data.system_turn: fold" in message
    assert written(out) == []


def test_a_mistyped_scorer_stops_the_run_before_the_split_is_written(tmp_path):
    model_dir = save_tiny_model(tmp_path / "model")
    data = write_jsonl(tmp_path / "data.jsonl", records_to_rows(tiny_records(40, families=10)))
    out = tmp_path / "run"
    with pytest.raises(MemgapError, match="token-f"):
        run_audit(tiny_config(model_dir, data, out, **{"evaluation.scorer": "token-f2"}), progress=False)
    assert written(out) == []


def test_over_long_rows_are_refused_by_id_before_any_stage(tmp_path):
    model_dir, data = gemma_style_inputs(tmp_path, overlong=2)
    out = tmp_path / "run"
    config = tiny_config(model_dir, data, out, **{"data.system_turn": "fold", "model.max_length": 256})
    with pytest.raises(MemgapError, match=r"2 row\(s\) lose their whole completion to truncation at model.max_length=256: 'r0', 'r1'"):
        run_audit(config, progress=False)
    assert written(out) == []


def test_folded_system_turns_and_dropped_rows_are_recorded_in_the_audit(tmp_path):
    model_dir, data = gemma_style_inputs(tmp_path, overlong=2)
    out = tmp_path / "run"
    config = tiny_config(model_dir, data, out, **{
        "data.system_turn": "fold", "data.overlong_rows": "drop", "model.max_length": 256, "training.epochs": 1.0})
    audit = run_audit(config, progress=False)
    validate_audit(json.loads((out / "audit.json").read_text()))
    rendering = audit["data"]["rendering"]
    assert rendering["system_turn"] == "fold" and rendering["folded_system_turns"] == 80
    assert rendering["overlong_rows"] == {"policy": "drop", "max_length": 256, "dropped": 2, "ids": ["r0", "r1"]}
    assert rendering["assistant_turns"] == "all"
    assert audit["data"]["rows"] == 78
    split_ids = {json.loads(line)["id"] for name in ("train", "seen_holdout", "unseen_holdout")
                 for line in (out / "split" / f"{name}.jsonl").read_text().split("\n") if line}
    assert len(split_ids) == 78 and not split_ids & {"r0", "r1"}
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().split("\n") if line]
    assert all(row["nll"] is not None and row["n_tokens"] > 0 for row in predictions)
