"""examples/trl_sft.py end to end on a tiny model: memgap's nested split loaded by `datasets`, TRL's
SFTTrainer and its adapter files, memgap's GradNormCallback, then `memgap audit` on the result."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from memgap.cli import main as memgap  # noqa: E402
from memgap.data.io import records_to_rows, write_jsonl  # noqa: E402
from tiny_models import save_tiny_model, tiny_records  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trl_sft.py"


def _example():
    spec = importlib.util.spec_from_file_location("trl_sft_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_files_load_with_datasets_without_edits(tmp_path):
    from datasets import load_dataset

    write_jsonl(tmp_path / "data.jsonl", records_to_rows(tiny_records(24, families=6)))
    assert memgap(["split", str(tmp_path / "data.jsonl"), "--strategy", "nested", "--out", str(tmp_path / "split")]) == 0
    for part in ("train", "seen_holdout", "unseen_holdout"):
        rows = load_dataset("json", data_files=str(tmp_path / "split" / f"{part}.jsonl"), split="train")
        assert {"messages", "id", "family"} <= set(rows.column_names) and len(rows) > 0


def test_trl_sft_example_trains_and_audits(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "model")
    write_jsonl(tmp_path / "data.jsonl", records_to_rows(tiny_records(48, families=12)))
    split, run = tmp_path / "split", tmp_path / "run"
    assert memgap(["split", str(tmp_path / "data.jsonl"), "--strategy", "nested", "--out", str(split)]) == 0
    settings = tmp_path / "small.yaml"
    settings.write_text("model: {max_length: 64}\nevaluation: {max_new_tokens: 4, membership_train_rows: 4, "
                        "scorer: token-f1}\nstats: {n_resamples: 200}\n")
    _example().main(["--model", str(model), "--split", str(split), "--out", str(run), "--max-steps", "6",
                     "--max-length", "64", "--learning-rate", "5e-3", "--audit", "--audit-config", str(settings)])
    # TRL's own adapter files, memgap's callback table, the Trainer's state.
    assert (run / "adapter" / "adapter_config.json").exists() and (run / "adapter" / "adapter_model.safetensors").exists()
    assert (run / "gradnorms.csv").read_text().count("\n") > 6
    audit = json.loads((run / "audit" / "audit.json").read_text())
    assert audit["protocol"] == "randomized-nested"
    for holdout in ("seen", "unseen"):
        assert audit["lifts"]["nll"][holdout]["n"] > 0
    assert audit["lifts"]["nll"]["seen"]["delta"] > 0  # six steps at 5e-3 on repeated sentences lower the NLL
    assert audit["training"]["steps"] == 6 and audit["training"]["train_loss_first"] is not None
    assert audit["gradients"]["steps_recorded"] == 6
    assert audit["updates"]["modules"] == 8  # q/k/v/o in two layers
    curves = audit["training_curves"]  # FamilyGapCallback's family_gap.csv, read by --training-dir
    assert [point["step"] for point in curves["points"]][0] == 0 and curves["points"][-1]["step"] == 6
    assert curves["best_step"] in [point["step"] for point in curves["points"]]
    assert (run / "audit" / "report.md").exists()
    assert "verdict:" in capsys.readouterr().out
