"""Each ecosystem data shape end to end on a tiny model, through the CLI verbs in-process: read by
`memgap families`, split by `memgap split`, trained on by `memgap train` and audited by `memgap audit`
(observational: the training rows and the evaluation rows both in the shape as the tool wrote them)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memgap.cli import main
from memgap.data.io import read_jsonl_rows, read_records, write_rows
from test_data_shapes import SHAPES
from tiny_models import CHATML_TOOLS_TEMPLATE, save_tiny_model

SETTINGS = """seed: 0
model: {max_length: 384}
training: {batch_size: 4, save_steps: 100}
evaluation: {max_new_tokens: 4, generation_batch_size: 16, nll_batch_size: 16, membership_train_rows: 4, scorer: token-f1}
stats: {n_resamples: 100}
"""
FAMILIES = 8


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model"), chat_template=CHATML_TOOLS_TEMPLATE)


def shape_file(folder: Path, shape: str, name: str, ids: set[str] | None = None) -> Path:
    """Three rows per family (the rows of one family differ only in their index), as the tool writes them."""
    rows = []
    for index in range(FAMILIES * 3):
        row, _ = SHAPES[shape](index % FAMILIES)
        row_id = f"r{index}"
        if ids is None or row_id in ids:
            rows.append({"id": row_id, "family": f"f{index % FAMILIES}", **row})
    return write_rows(folder / name, rows)


def run_verbs(tmp_path: Path, model_dir: Path, shape: str, capsys, *, name: str = "rows.jsonl") -> dict:
    data = shape_file(tmp_path, shape, name)
    config = tmp_path / "tiny.yaml"
    config.write_text(SETTINGS)

    assert main(["families", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["families"]) == (FAMILIES * 3, FAMILIES)

    split = tmp_path / "split"
    assert main(["split", str(data), "--strategy", "nested", "--holdout", "0.25", "--out", str(split)]) == 0
    parts = {part: read_jsonl_rows(split / f"{part}.jsonl") for part in ("train", "seen_holdout", "unseen_holdout")}
    by_id = {record.id: record for record in read_records(data)}
    for part, rows in parts.items():  # the split holds TRL rows that read back as the very records of the file
        assert all("messages" in row and "conversations" not in row and "instruction" not in row for row in rows), part
        assert read_records(split / f"{part}.jsonl") == [by_id[row["id"]] for row in rows], part

    # The training rows and the evaluation rows, each in the shape as written, for train and audit.
    train_ids = {row["id"] for row in parts["train"]}
    train_file = shape_file(tmp_path / "train", shape, name, train_ids)
    eval_file = shape_file(tmp_path / "eval", shape, name, set(by_id) - train_ids)
    trained = tmp_path / "trained"
    assert main(["train", "--data", str(train_file), "--model", str(model_dir), "--config", str(config),
                 "--max-steps", "2", "--out", str(trained), "--no-progress"]) == 0
    assert (trained / "adapter" / "adapter_config.json").is_file()
    capsys.readouterr()

    out = tmp_path / "audit"
    assert main(["audit", "--model", str(model_dir), "--adapter", str(trained / "adapter"), "--train", str(train_file),
                 "--eval", str(eval_file), "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    audit = json.loads((out / "audit.json").read_text())
    assert audit["protocol"] == "observational"
    partition = audit["split"]["partition"]
    assert partition["with_training_sibling"] + partition["without_training_sibling"] == len(by_id) - len(train_ids)
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines() if line]
    assert predictions and all(row["nll"] is not None and row["n_tokens"] > 0 for row in predictions)
    return audit


def test_sharegpt_with_tools_end_to_end(tmp_path, model_dir, capsys):
    """LLaMA-Factory's ShareGPT with function_call and observation turns, gzip-compressed."""
    run_verbs(tmp_path, model_dir, "sharegpt_function_call", capsys, name="rows.jsonl.gz")


@pytest.mark.parametrize("shape, name", [
    ("sharegpt", "rows.json"), ("sharegpt_in_messages", "rows.parquet"), ("alpaca", "rows.csv"),
    ("tool_call_without_content", "rows.jsonl"), ("reasoning", "rows.json.xz"),
])
def test_every_shape_end_to_end(tmp_path, model_dir, capsys, shape, name):
    run_verbs(tmp_path, model_dir, shape, capsys, name=name)
