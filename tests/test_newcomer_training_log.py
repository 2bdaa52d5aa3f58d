"""`memgap audit --training-dir`: a training log that says training broke gets a warning, and memgap's
own training folders (`memgap train --out DIR`, a run's `training/`) give their loss curve and facts."""
from __future__ import annotations

import json
import math
import shutil

import pytest
import yaml

from memgap.adapter_document import adapter_audit_config
from memgap.cli import main
from memgap.config import AuditConfig
from memgap.pipeline import run_audit
from memgap.report import validate_audit
from memgap.training.trainer_output import STUCK_ZERO_LOSSES, read_trainer_output, training_log_warnings
from pipeline_helpers import make_inputs, tiny_config, tiny_settings


def steps(losses, grad_norms=None) -> list[dict]:
    grad_norms = grad_norms or [1.0] * len(losses)
    return [{"step": i + 1, "loss": loss, "grad_norm": norm, "learning_rate": 1e-3}
            for i, (loss, norm) in enumerate(zip(losses, grad_norms))]


def write_state(folder, history) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # json.dumps writes NaN and Infinity as the Trainer's own trainer_state.json does
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": len(history), "epoch": 1.0,
                                                           "log_history": history}))


def test_a_healthy_log_gives_no_warning():
    assert training_log_warnings(steps([2.0, 1.5, 1.2, 0.9, 0.7])) == []
    # Fewer zero losses in a row than the rule asks for, and a closing train_loss summary of 0.0, are not a stuck loss.
    history = steps([2.0, 0.0, 1.0, *[0.0] * (STUCK_ZERO_LOSSES - 1), 1.0]) + [{"step": 7, "train_loss": 0.0}]
    assert training_log_warnings(history) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "NaN", "Infinity"])
def test_a_non_finite_gradient_norm_is_warned_about_with_its_count_and_first_step(tmp_path, bad):
    write_state(tmp_path, steps([2.0, 1.8, 1.7, 1.6], grad_norms=[1.0, 1.0, bad, bad]))
    output = read_trainer_output(tmp_path)
    (warning,) = output.warnings
    assert "grad_norm" in warning and " at 2 logged steps, first at step 3" in warning


def test_a_non_finite_loss_is_warned_about_too():
    (warning,) = training_log_warnings(steps([2.0, math.nan, 1.0]))
    assert "non-finite loss" in warning and "first at step 2" in warning


def test_a_loss_stuck_at_zero_is_warned_about_from_the_step_it_stuck():
    (warning,) = training_log_warnings(steps([2.0, 1.0, *[0.0] * STUCK_ZERO_LOSSES]))
    assert f"at {STUCK_ZERO_LOSSES} consecutive logged steps from step 3" in warning
    # A log with fewer entries than the rule's run, all of them 0.0, is stuck too.
    assert len(training_log_warnings(steps([0.0, 0.0]))) == 1


def _memgap_training_folder(folder, history, facts) -> None:
    """What memgap.training.sft.train_lora writes beside the adapter."""
    folder.mkdir(parents=True)
    (folder / "log_history.json").write_text(json.dumps(history))
    (folder / "train_result.json").write_text(json.dumps(facts))


def test_memgaps_own_training_folder_gives_the_loss_curve_and_its_facts(tmp_path):
    history = steps([3.0, 2.5, 2.0]) + [{"step": 3, "train_loss": 2.5, "train_runtime": 4.0}]
    facts = {"steps": 3, "epochs": 1.5, "seconds": 4.0, "tokens_per_s": 99.0, "truncated_rows": 2,
             "trainable_parameters": 1234, "lora_targets": ["q_proj", "v_proj"], "precision": "fp32"}
    _memgap_training_folder(tmp_path / "training", history, facts)
    output = read_trainer_output(tmp_path / "training")
    assert output.trained_by_memgap and output.warnings == ()
    section = output.training_section()
    assert (section["steps"], section["epochs"], section["train_loss_first"], section["train_loss_last"]) == (3, 1.5, 3.0, 2.0)
    assert (section["truncated_rows"], section["tokens_per_s"]) == (2, 99.0)
    training = adapter_audit_config(AuditConfig(), {"r": 8, "lora_alpha": 16}, output)["training"]
    assert training["source"] == str(tmp_path / "training" / "train_result.json") and "note" not in training
    assert (training["trained_by"], training["global_step"], training["epochs"]) == ("memgap", 3, 1.5)
    assert (training["precision"], training["lora_targets"], training["largest_logged_learning_rate"]) == \
        ("fp32", ["q_proj", "v_proj"], 1e-3)


def test_memgaps_own_training_log_is_checked_for_a_broken_run(tmp_path):
    _memgap_training_folder(tmp_path / "training", steps([2.0, 1.0], grad_norms=[math.inf, 1.0]), {"steps": 2})
    assert len(read_trainer_output(tmp_path / "training").warnings) == 1


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    inputs = make_inputs(tmp_path_factory.mktemp("inputs"))
    out = tmp_path_factory.mktemp("runs") / "run"
    run_audit(tiny_config(*inputs, out), progress=False)
    return inputs, out


def test_audit_of_a_run_folder_reads_its_training_and_warns_where_the_log_broke(trained_run, tmp_path, capsys):
    (model_dir, data), run_dir = trained_run
    training = shutil.copytree(run_dir / "training", tmp_path / "training")
    history = json.loads((training / "log_history.json").read_text())
    logged = [entry for entry in history if "grad_norm" in entry]
    assert len(logged) >= 2  # the tiny run logs every step
    logged[1]["grad_norm"] = math.nan
    (training / "log_history.json").write_text(json.dumps(history))
    config = tmp_path / "audit.yaml"
    settings = tiny_settings(model_dir, data, tmp_path / "audit")
    nested: dict = {}
    for key, value in settings.items():
        *parents, leaf = key.split(".")
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    config.write_text(yaml.safe_dump(nested))
    assert main(["audit", "--config", str(config), "--adapter", str(training / "adapter"), "--split",
                 str(run_dir / "split"), "--training-dir", str(training), "--out", str(tmp_path / "audit"),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    audit = json.loads((tmp_path / "audit" / "audit.json").read_text())
    validate_audit(audit)
    (warning,) = [w for w in audit["warnings"] or [] if "grad_norm" in w]
    assert f"warning: {warning}" in printed
    assert audit["training"]["train_loss_first"] == next(entry["loss"] for entry in history if "loss" in entry)
    assert audit["config"]["training"]["trained_by"] == "memgap" and "note" not in audit["config"]["training"]
