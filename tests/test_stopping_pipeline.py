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


def test_memgap_train_takes_the_rule_and_says_what_it_restored(tmp_path, capsys):
    from safetensors.torch import load_file

    parts = code_families()
    model_dir = save_tiny_model(tmp_path / "model", initializer_range=0.3)
    paths = {name: write_jsonl(tmp_path / f"{name}.jsonl", records_to_rows(parts[name])) for name in parts}
    config = tmp_path / "audit.yaml"
    config.write_text("model: {max_length: 64}\ntraining: {batch_size: 8, learning_rate: 0.02, warmup_ratio: 0.0, "
                      "curve_points: 6, curve_holdout_items: 8, stop_at: best-unseen, keep_checkpoints: true, "
                      "save_steps: 8}\n")
    common = ["train", "--data", str(paths["train"]), "--model", str(model_dir), "--config", str(config),
              "--max-steps", "48", "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "out"), "--seen-holdout", str(paths["seen"]),
                 "--unseen-holdout", str(paths["unseen"])]) == 0
    printed = capsys.readouterr().out
    record = json.loads((tmp_path / "out" / "train_result.json").read_text())["stopping"]
    assert record == json.loads((tmp_path / "out" / "stopping.json").read_text())
    restored = record["restored_step"]
    assert f"restored step {restored}" in printed and record["stopped_at_step"] < 48
    saved = load_file(str(tmp_path / "out" / "adapter" / "adapter_model.safetensors"))
    kept = load_file(str(tmp_path / "out" / "checkpoints" / f"checkpoint-{restored}" / "adapter_model.safetensors"))
    assert saved.keys() == kept.keys() and all((saved[name] == kept[name]).all() for name in saved)
    # without the hold-outs the rule has nothing to decide on
    with pytest.raises(SystemExit):
        main([*common, "--out", str(tmp_path / "none")])
    assert "training.stop_at" in capsys.readouterr().err
