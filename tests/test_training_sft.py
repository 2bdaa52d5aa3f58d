"""train_lora: a tiny Llama learns, writes a safetensors adapter, resumes, and fails clearly."""
import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from memgap.config import LoraConfig, TrainingConfig
from memgap.errors import MemgapError
from memgap.training.gradnorm import GradNormCallback
from memgap.training.sft import load_trained, train_lora
from memgap.training.updates import update_summary
from tiny_models import tiny_loaded, tiny_records


def _train(tmp_path, *, steps=30, callbacks=(), lora=None, max_length=128, resume=True, family="llama", save_steps=10):
    training = TrainingConfig(max_steps=steps, batch_size=4, learning_rate=5e-3, save_steps=save_steps, warmup_ratio=0.0)
    return train_lora(tiny_loaded(family), tiny_records(16), lora=lora or LoraConfig(), training=training,
                      max_length=max_length, output_dir=tmp_path, seed=0, resume=resume, callbacks=callbacks, progress=False)


def test_loss_goes_down_and_adapter_is_written(tmp_path):
    result = _train(tmp_path, callbacks=[GradNormCallback(path=tmp_path / "gradnorms.csv")])
    losses = result.train_losses
    assert result.steps == 30 and len(losses) == 30
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.2
    weights = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert any("lora_A" in key for key in weights) and any("lora_B" in key for key in weights)
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["r"] == 8
    assert not (tmp_path / "checkpoints").exists()
    assert len(json.loads((tmp_path / "log_history.json").read_text())) == len(result.log_history)
    assert result.lora_targets == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert result.trainable_parameters == sum(p.numel() for n, p in result.model.named_parameters() if "lora_" in n)
    assert result.truncated_rows == 0 and result.tokens_per_s > 0
    assert (tmp_path / "gradnorms.csv").read_text().count("\n") == 1 + 30 * 2 * 7 * 2  # header + steps x layers x modules x (A, B)


def test_default_tables_and_reload(tmp_path):
    result = _train(tmp_path, steps=4)  # no callbacks given: gradnorms.csv is still recorded
    assert (tmp_path / "gradnorms.csv").read_text().count("\n") == 1 + 4 * 28
    updates = (tmp_path / "updates.csv").read_text().splitlines()
    assert len(updates) == 1 + 14
    again = load_trained(tiny_loaded("llama"), tmp_path)
    assert (again.steps, again.lora_targets, again.epochs) == (result.steps, result.lora_targets, result.epochs)
    assert again.log_history == json.loads(json.dumps(result.log_history))
    trained = dict(result.model.named_parameters())
    for name, parameter in again.model.named_parameters():
        if "lora_" in name:
            torch.testing.assert_close(parameter, trained[name])
    import csv
    with open(tmp_path / "updates.csv", newline="") as stream:
        assert update_summary(list(csv.DictReader(stream)))["modules"] == 14


def test_truncated_rows_are_counted(tmp_path):
    result = _train(tmp_path, steps=2, max_length=50)  # prompts take 36 tokens, full rows about 62
    assert result.truncated_rows == 16


class _Interrupt(TrainerCallback):
    def __init__(self, at_step):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt


class _StartStep(TrainerCallback):
    started_at = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started_at = state.global_step


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    _train(tmp_path / "whole", steps=8, save_steps=3)
    recorder = GradNormCallback(path=tmp_path / "killed" / "g.csv")
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", steps=8, save_steps=3, callbacks=[_Interrupt(5), recorder])
    assert (tmp_path / "killed" / "checkpoints" / "checkpoint-3").is_dir()
    recorder.on_train_end(None, None, None)  # the table is closed, as a dying process would leave it
    with open(tmp_path / "killed" / "g.csv", "a") as table:
        table.write("1")  # a line torn by the kill ("1" of "13,..."); it is not a row of step 1
    start = _StartStep()
    resumed = _train(tmp_path / "killed", steps=8, save_steps=3, callbacks=[start, GradNormCallback(path=tmp_path / "killed" / "g.csv")])
    assert start.started_at == 3 and resumed.steps == 8
    steps_in_table = [int(line.split(",")[0]) for line in (tmp_path / "killed" / "g.csv").read_text().splitlines()[1:]]
    assert sorted(set(steps_in_table)) == list(range(1, 9)) and len(steps_in_table) == 8 * 28
    # the resumed adapter is the uninterrupted one (same data order, optimizer and RNG state)
    whole = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    again = load_file(tmp_path / "killed" / "adapter" / "adapter_model.safetensors")
    for key in whole:
        torch.testing.assert_close(again[key], whole[key], rtol=1e-4, atol=1e-6)


def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_one_before(tmp_path):
    _train(tmp_path / "whole", steps=8, save_steps=3)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "killed", steps=8, save_steps=3, callbacks=[_Interrupt(7)])
    torn = tmp_path / "killed" / "checkpoints" / "checkpoint-6"
    (torn / "trainer_state.json").unlink()  # the Trainer writes it last: the kill came before it
    start = _StartStep()
    resumed = _train(tmp_path / "killed", steps=8, save_steps=3, callbacks=[start])
    assert start.started_at == 3 and resumed.steps == 8
    whole = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    again = load_file(tmp_path / "killed" / "adapter" / "adapter_model.safetensors")
    for key in whole:
        torch.testing.assert_close(again[key], whole[key], rtol=1e-4, atol=1e-6)


def test_bad_lora_target_lists_the_modules(tmp_path):
    with pytest.raises(MemgapError, match=r"'c_attn'.*linear modules are: .*down_proj.*q_proj"):
        _train(tmp_path, lora=LoraConfig(target_modules=["c_attn"]))


class _Poison(TrainerCallback):
    def __init__(self, model_weight):
        self.weight = model_weight

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            with torch.no_grad():
                self.weight.fill_(float("nan"))


def test_nan_loss_stops_with_the_step(tmp_path):
    loaded = tiny_loaded("llama")
    poison = _Poison(loaded.model.model.norm.weight)
    training = TrainingConfig(max_steps=10, batch_size=4, learning_rate=5e-3, save_steps=100)
    with pytest.raises(MemgapError, match="loss became nan at step 4"):
        train_lora(loaded, tiny_records(8), lora=LoraConfig(), training=training, max_length=128,
                   output_dir=tmp_path, seed=0, callbacks=[poison], progress=False)
