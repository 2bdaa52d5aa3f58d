"""`memgap audit` on tiny real models: the same lifts as `memgap run`, the observational partition,
and the one-line refusals (no adapter files, pickle weights, a base the adapter does not fit)."""
from __future__ import annotations

import json

import pytest

from memgap.adapter_audit import audit_adapter
from memgap.cli import main
from memgap.config import load_config
from memgap.data.io import records_to_rows, write_jsonl
from memgap.errors import MemgapError
from memgap.pipeline import run_audit
from memgap.report import validate_audit
from pipeline_helpers import comparable, make_inputs, tiny_config, tiny_settings
from tiny_models import save_tiny_model, tiny_records


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def trained_run(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    return out, run_audit(tiny_config(*inputs, out), progress=False)


def test_auditing_the_runs_adapter_on_its_split_reproduces_its_lifts(inputs, trained_run, tmp_path):
    run_dir, run = trained_run
    audit = audit_adapter(tiny_config(*inputs, tmp_path / "audit"), adapter=run_dir / "training" / "adapter",
                          split_dir=run_dir / "split", training_dir=run_dir / "training", progress=False)
    assert audit["protocol"] == "randomized-nested" == run["protocol"]
    for key in ("metrics", "lifts", "gap", "generalization_ratio", "per_family"):
        assert comparable(audit[key]) == comparable(run[key]), key
    assert comparable(audit["probes"]["membership"]) == comparable(run["probes"]["membership"])
    assert audit["verdict"]["label"] == run["verdict"]["label"]
    # The realised update comes from the adapter weights alone and matches the one measured after training.
    assert audit["updates"]["frobenius_norm_total"] == pytest.approx(run["updates"]["frobenius_norm_total"], rel=1e-5)
    assert audit["gradients"]["steps_recorded"] == run["gradients"]["steps_recorded"] > 0
    validate_audit(json.loads((tmp_path / "audit" / "audit.json").read_text()))
    report = (tmp_path / "audit" / "report.md").read_text()
    assert "Protocol: randomized nested hold-out" in report
    # The configuration records how this adapter was trained, not memgap's defaults.
    adapter_config = json.loads((run_dir / "training" / "adapter" / "adapter_config.json").read_text())
    assert audit["config"]["lora"]["r"] == adapter_config["r"] and audit["config"]["lora"]["alpha"] == adapter_config["lora_alpha"]
    assert audit["config"]["lora"]["source"] == "adapter_config.json"
    training = audit["config"]["training"]
    assert "learning_rate" not in training
    # RUN/training is memgap's own: its train_result.json and log_history.json, not "unknown".
    assert training["source"] == str(run_dir / "training" / "train_result.json") and "note" not in training
    assert training["global_step"] == run["training"]["steps"]
    assert audit["training"]["train_loss_first"] == run["training"]["train_loss_first"]
    assert '"source": "adapter_config.json"' in report  # the configuration appendix shows the adapter's own settings


def _write_pair(folder, *, with_ids: bool):
    """Six families of six identical rows: four train (five rows each), their sixth row to eval,
    and the two remaining families wholly to eval: 4 eval rows with a sibling, 12 without."""
    records = tiny_records(36, families=6)
    trained = {"f0", "f1", "f2", "f3"}
    train, evaluation, held = [], [], set()
    for record in records:
        if record.family in trained and record.family not in held:
            held.add(record.family)
            evaluation.append(record)
        elif record.family in trained:
            train.append(record)
        else:
            evaluation.append(record)
    rows = {name: records_to_rows(part) for name, part in (("train", train), ("eval", evaluation))}
    if not with_ids:
        for part in rows.values():
            for row in part:
                row.pop("id")
    return (write_jsonl(folder / "train.jsonl", rows["train"]), write_jsonl(folder / "eval.jsonl", rows["eval"]))


@pytest.mark.parametrize("infer", [False, True], ids=["declared", "inferred"])
def test_observational_audit_counts_eval_rows_with_a_training_sibling(inputs, trained_run, tmp_path, capsys, infer):
    model_dir, _ = inputs
    train, evaluation = _write_pair(tmp_path, with_ids=False)
    out = tmp_path / "observational"
    argv = ["audit", "--model", str(model_dir), "--adapter", str(trained_run[0] / "training" / "adapter"),
            "--train", str(train), "--eval", str(evaluation), "--out", str(out), "--scorer", "token-f1", "--no-progress",
            *(["--infer"] if infer else [])]
    config = out.parent / "small.yaml"
    config.write_text("model: {max_length: 64}\nevaluation: {max_new_tokens: 4, membership_train_rows: 4}\nstats: {n_resamples: 200}\n")
    assert main([*argv, "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "eval rows with a training sibling: 4, without: 12" in printed
    audit = json.loads((out / "audit.json").read_text())
    assert audit["protocol"] == "observational"
    assert audit["split"]["partition"] == {"eval_rows": 16, "with_training_sibling": 4, "without_training_sibling": 12,
                                           "family_source": "inferred" if infer else "declared"}
    assert audit["lifts"]["nll"]["seen"]["n"] == 4 and audit["lifts"]["nll"]["unseen"]["n"] == 12
    claim = audit["verdict"]["claim"]
    assert "observational partition" in claim and "not a randomized hold-out" in claim
    assert "families it never saw" not in claim
    base = audit["comparability"]["base"]
    assert set(base) == {"score", "nll"}
    assert base["nll"]["difference"]["delta"] == pytest.approx(base["nll"]["seen"] - base["nll"]["unseen"])
    report = (out / "report.md").read_text()
    assert "Protocol: observational" in report and "Comparability of the parts" in report


def _cli_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_folder_without_adapter_files_and_pickle_weights_are_one_line(inputs, trained_run, tmp_path, capsys):
    model_dir, _ = inputs
    split = str(trained_run[0] / "split")
    empty = tmp_path / "empty"
    empty.mkdir()
    message = _cli_error(capsys, ["audit", "--model", str(model_dir), "--adapter", str(empty), "--split", split,
                                  "--out", str(tmp_path / "a")])
    assert "not an adapter folder" in message and str(empty) in message
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "adapter_config.json").write_text((trained_run[0] / "training" / "adapter" / "adapter_config.json").read_text())
    (pickled / "adapter_model.bin").write_bytes(b"\x80\x04not really a pickle")
    message = _cli_error(capsys, ["audit", "--model", str(model_dir), "--adapter", str(pickled), "--split", split,
                                  "--out", str(tmp_path / "b")])
    assert "pickle" in message and "adapter_model.bin" in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(("family", "overrides", "expected"), [
    ("gpt2", {}, "another architecture"),
    ("llama", {"hidden_size": 48, "intermediate_size": 96}, "other shapes"),
])
def test_a_base_the_adapter_was_not_trained_on_is_one_line_before_evaluation(inputs, trained_run, tmp_path, capsys,
                                                                             family, overrides, expected):
    other = save_tiny_model(tmp_path / "other", family=family, **overrides)
    out = tmp_path / "audit"
    message = _cli_error(capsys, ["audit", "--model", str(other), "--adapter", str(trained_run[0] / "training" / "adapter"),
                                  "--split", str(trained_run[0] / "split"), "--out", str(out)])
    assert expected in message
    assert not (out / "stages").exists()


def test_other_vocabulary_size_is_named(inputs, tmp_path):
    import peft

    from memgap.adapters import check_fits_base, read_adapter_folder
    from tiny_models import tiny_model

    model = tiny_model("llama")
    config = peft.LoraConfig(r=2, target_modules=["q_proj"], modules_to_save=["lm_head"], task_type="CAUSAL_LM")
    peft.get_peft_model(model, config).save_pretrained(tmp_path / "adapter")
    from transformers import AutoModelForCausalLM

    import tiny_models

    bigger = AutoModelForCausalLM.from_config(tiny_models.tiny_config("llama", vocab_size=model.config.vocab_size + 32))
    with pytest.raises(MemgapError, match="another vocabulary size"):
        check_fits_base(read_adapter_folder(tmp_path / "adapter"), bigger)


def test_split_that_is_not_nested_is_refused(inputs, tmp_path):
    from memgap.cli import main as cli

    _, data = inputs
    assert cli(["split", str(data), "--strategy", "grouped", "--out", str(tmp_path / "grouped")]) == 0
    config = load_config(overrides=tiny_settings(*inputs, tmp_path / "audit"))
    from memgap.adapter_audit import read_audit_data

    with pytest.raises(MemgapError, match="--strategy nested"):
        read_audit_data(config, split_dir=tmp_path / "grouped")


def test_cli_audit_of_a_quick_run_folder_reproduces_its_lifts(inputs, tmp_path, capsys):
    model_dir, data = inputs
    settings = tmp_path / "small.yaml"
    settings.write_text("model: {max_length: 64}\nevaluation: {max_new_tokens: 6, scorer: token-f1}\n")
    run = tmp_path / "run"
    assert main(["run", "--quick", "--data", str(data), "--model", str(model_dir), "--config", str(settings),
                 "--out", str(run), "--no-progress"]) == 0
    assert main(["audit", "--quick", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                 "--split", str(run / "split"), "--config", str(settings), "--out", str(tmp_path / "audit"),
                 "--no-progress"]) == 0
    ran, audited = (json.loads((folder / "audit.json").read_text()) for folder in (run, tmp_path / "audit"))
    assert ran["config"]["quick"] and audited["config"]["stats"] == ran["config"]["stats"]
    assert comparable(audited["lifts"]) == comparable(ran["lifts"])
    assert comparable(audited["gap"]) == comparable(ran["gap"])
    # --quick caps no given hold-out, and records no cap it did not apply.
    assert audited["config"]["split"]["max_holdout_items"] is None and audited["config"]["split"]["max_train_rows"] is None
    assert audited["split"]["seen_holdout"] == ran["split"]["seen_holdout"]
    assert audited["config"]["training"]["source"] is None and "unknown" in audited["config"]["training"]["note"]
    settings.write_text(settings.read_text() + "split: {max_holdout_items: 4}\n")
    message = _cli_error(capsys, ["audit", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                                  "--split", str(run / "split"), "--config", str(settings), "--out", str(tmp_path / "a2")])
    assert "split.max_holdout_items does not apply to memgap audit" in message


def _save_tiny_qwen2(folder):
    """A Qwen2 base with the tiny Llama's module names and shapes: only the architecture differs."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    from tiny_models import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_base_of_another_architecture_with_the_same_shapes_is_one_line(inputs, trained_run, tmp_path, capsys):
    qwen = _save_tiny_qwen2(tmp_path / "qwen")
    out = tmp_path / "audit"
    message = _cli_error(capsys, ["audit", "--model", str(qwen), "--adapter", str(trained_run[0] / "training" / "adapter"),
                                  "--split", str(trained_run[0] / "split"), "--out", str(out), "--no-progress"])
    assert "another architecture" in message and "llama" in message and "qwen2" in message
    assert not out.exists()


def test_the_adapters_base_architecture_from_each_source(tmp_path):
    from transformers import LlamaConfig

    from memgap.adapter_base import check_base_architecture

    llama = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    # Nothing known: a warning, not a refusal.
    warning = check_base_architecture(adapter, {"base_model_name_or_path": "nobody/not-cached-anywhere"}, llama,
                                      "LlamaForCausalLM")
    assert warning and "could not be checked" in warning
    # PEFT's auto_mapping names the class.
    with pytest.raises(MemgapError, match="Qwen2ForCausalLM base .*auto_mapping.* LlamaForCausalLM"):
        check_base_architecture(adapter, {"auto_mapping": {"base_model_class": "Qwen2ForCausalLM"}}, llama, "LlamaForCausalLM")
    assert check_base_architecture(adapter, {"auto_mapping": {"base_model_class": "LlamaForCausalLM"}}, llama,
                                   "LlamaForCausalLM") is None
    # The model card's base_model, resolved to a local folder.
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}))
    (adapter / "README.md").write_text(f"---\nbase_model: {base}\nlibrary_name: peft\n---\n# card\n")
    with pytest.raises(MemgapError, match="qwen2 base .* this base is a llama"):
        check_base_architecture(adapter, {}, llama, "LlamaForCausalLM")
    # A config.json in the Trainer's output folder.
    (adapter / "README.md").unlink()
    training = tmp_path / "training"
    training.mkdir()
    (training / "config.json").write_text(json.dumps({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(MemgapError, match="gpt2 base"):
        check_base_architecture(adapter, {}, llama, "LlamaForCausalLM", training_dir=training)


def test_a_mistyped_scorer_is_refused_before_the_model_loads_and_before_any_folder(inputs, trained_run, tmp_path, capsys):
    model_dir, data = inputs
    out = tmp_path / "audit"
    # The model path does not exist: had the model been loaded first, this would be the error.
    message = _cli_error(capsys, ["audit", "--model", str(tmp_path / "no-model"), "--adapter",
                                  str(trained_run[0] / "training" / "adapter"), "--split", str(trained_run[0] / "split"),
                                  "--scorer", "token-f2", "--out", str(out), "--no-progress"])
    assert "unknown scorer 'token-f2'" in message and "token-f1" in message
    assert not out.exists()
    message = _cli_error(capsys, ["run", "--model", str(tmp_path / "no-model"), "--data", str(data), "--scorer", "token-f2",
                                  "--out", str(tmp_path / "run"), "--no-progress"])
    assert "unknown scorer 'token-f2'" in message
    assert not (tmp_path / "run").exists()
    # An early refusal after the scorer check (here: the adapter folder) leaves no folder either.
    message = _cli_error(capsys, ["audit", "--model", str(model_dir), "--adapter", str(tmp_path / "no-adapter"),
                                  "--split", str(trained_run[0] / "split"), "--out", str(out), "--no-progress"])
    assert not out.exists()


def test_training_settings_come_from_trainer_state(tmp_path):
    from memgap.training.trainer_output import read_trainer_output

    state = {"global_step": 42, "epoch": 6.0, "num_train_epochs": 6, "train_batch_size": 8, "max_steps": 42,
             "log_history": [{"step": 1, "loss": 6.0, "learning_rate": 0.005}, {"step": 2, "loss": 5.9, "learning_rate": 0.004}]}
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    settings = read_trainer_output(tmp_path).hyperparameters()
    assert settings == {"source": str(tmp_path / "trainer_state.json"), "num_train_epochs": 6,
                        "per_device_train_batch_size": 8, "max_steps": 42, "global_step": 42,
                        "largest_logged_learning_rate": 0.005}
