"""`memgap run` with training.stop_at: the audit evaluates the restored adapter, says trained to step N of M,
restored step K and what the final adapter scored; `memgap audit` of training/adapter gives the same figures."""
from __future__ import annotations

import json

import pytest

from memgap.cli import main
from memgap.config import load_config
from memgap.data.io import records_to_rows, write_jsonl
from memgap.errors import MemgapError
from test_stopping import code_families
from tiny_models import save_tiny_model


def _evaluated(folder, label):
    return [(row["id"], row["nll"]) for row in
            (json.loads(line) for line in (folder / "evaluation" / f"{label}.jsonl").read_text().splitlines())]


def test_run_stops_restores_and_audit_of_the_adapter_agrees(tmp_path, capsys):
    model_dir = save_tiny_model(tmp_path / "model", initializer_range=0.3)  # logits free to move: memorizes fast
    parts = code_families(trained=20, unseen=0)  # the run splits the 20 code families itself
    data = write_jsonl(tmp_path / "data.jsonl", records_to_rows([*parts["train"], *parts["seen"]]))
    settings = tmp_path / "small.yaml"
    settings.write_text(
        "model: {max_length: 64}\nevaluation: {max_new_tokens: 4, scorer: token-f1, membership_train_rows: 8}\n"
        "stats: {n_resamples: 200}\n"
        "training: {precision: fp32, epochs: 8, learning_rate: 0.02, curve_points: 8, stop_at: best-unseen, "
        "stop_patience: 2, save_steps: 4}\n")
    run, audit = tmp_path / "run", tmp_path / "audit"
    assert main(["run", "--data", str(data), "--model", str(model_dir), "--config", str(settings),
                 "--out", str(run), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    ran = json.loads((run / "audit.json").read_text())
    stopping = ran["training_curves"]["stopping"]
    points = {point["step"]: point for point in ran["training_curves"]["points"]}
    restored, stopped = stopping["restored_step"], stopping["stopped_at_step"]
    assert stopping["rule"] == "best-unseen" and stopped == ran["training"]["steps"] == max(points)
    assert restored == min((step for step in points if step > 0), key=lambda step: points[step]["unseen_holdout"]["mean"])
    assert stopping["final"]["unseen_holdout_nll"] == pytest.approx(points[stopped]["unseen_holdout"]["mean"])
    assert f"Trained to step {stopped} of {stopping['max_steps']}" in stopping["sentence"]
    assert stopping["sentence"] in printed
    assert json.loads((run / "training" / "train_result.json").read_text())["stopping"]["restored_step"] == restored
    assert stopping["sentence"] in (run / "report.md").read_text()
    # the data are built so the unseen-family loss turns up: the rule stopped early and restored an earlier step
    assert restored < stopped < stopping["max_steps"] and "would have scored" in stopping["sentence"]
    assert stopping["final"]["unseen_holdout_nll"] > stopping["restored"]["unseen_holdout_nll"]

    assert main(["audit", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                 "--split", str(run / "split"), "--config", str(settings), "--out", str(audit), "--no-progress"]) == 0
    audited = json.loads((audit / "audit.json").read_text())
    for label in ("base", "adapter"):  # bit for bit: the run evaluated the adapter as saved
        assert _evaluated(run, label) == _evaluated(audit, label), label
    for key in ("metrics", "lifts", "gap"):
        assert audited[key] == ran[key], key


def test_stop_settings_are_validated():
    with pytest.raises(MemgapError, match="training.stop_at"):
        load_config(overrides={"training.stop_at": "best"})
    with pytest.raises(MemgapError, match="training.stop_patience"):
        load_config(overrides={"training.stop_at": "best-unseen", "training.stop_patience": 0})
    with pytest.raises(MemgapError, match="training.curve_points"):
        load_config(overrides={"training.stop_at": "onset", "training.curve_points": 1})
