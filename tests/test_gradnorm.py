"""GradNormCallback records the norms of the gradients the optimizer step is built from, before clipping."""
import copy
import csv
import math

import peft
import pytest

from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

from memgap.encoding import IGNORE_INDEX, encode_all
from memgap.training.architectures import default_lora_targets, describe_module
from memgap.training.gradnorm import COLUMNS, GradNormCallback, _find_running_trainer
from memgap.training.sft import EncodedDataset
from tiny_models import tiny_loaded, tiny_records

TINY_CLIP = 1e-3  # far below the real gradient norm, so clipping is active at every step


def _setup(family, tmp_path, *, batch_size=4, accumulation=1, max_steps=3, rows=4, max_grad_norm=TINY_CLIP):
    loaded = tiny_loaded(family)
    # init_lora_weights=False: B is random too, so A has a gradient from the first step.
    config = peft.LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=default_lora_targets(loaded.model), init_lora_weights=False)
    model = peft.get_peft_model(loaded.model, config)
    dataset = EncodedDataset(encode_all(loaded.tokenizer, tiny_records(rows), 128))
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"), per_device_train_batch_size=batch_size, gradient_accumulation_steps=accumulation,
        max_steps=max_steps, learning_rate=1e-2, max_grad_norm=max_grad_norm, logging_steps=1, save_strategy="no",
        report_to="none", use_cpu=True, disable_tqdm=True, seed=0, data_seed=0, remove_unused_columns=False,
    )
    collator = DataCollatorForSeq2Seq(loaded.tokenizer, label_pad_token_id=IGNORE_INDEX, padding=True)
    return model, dataset, collator, args


def _direct_step_norms(model, dataset, collator):
    """Gradient norms of the mean token loss over all rows, by plain autograd on a copy of the model."""
    model = copy.deepcopy(model)
    model.train()
    batch = collator([dataset[i] for i in range(len(dataset))])
    model(**batch).loss.backward()
    norms = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            module, matrix = name.split(".lora_")
            where = describe_module(module)
            norms[(where.layer, where.module, matrix[0])] = parameter.grad.norm().item()
    return norms


def _read(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.parametrize("family", ["llama", "gpt2", "gpt_neox"])
def test_norms_equal_direct_gradients_before_clipping(family, tmp_path):
    model, dataset, collator, args = _setup(family, tmp_path)
    expected = _direct_step_norms(model, dataset, collator)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.add_callback(GradNormCallback(path=tmp_path / "gradnorms.csv"))  # no trainer=: found on the call stack
    trainer.train()

    rows = _read(tmp_path / "gradnorms.csv")
    assert list(rows[0]) == list(COLUMNS)
    first = {(int(r["layer"]), r["module"], r["matrix"]): float(r["norm"]) for r in rows if r["step"] == "1"}
    assert first.keys() == expected.keys()
    for key, value in expected.items():
        assert first[key] == pytest.approx(value, rel=1e-4, abs=1e-9), key
    # clipping was active, and every step's table adds up to the Trainer's own pre-clip total norm
    logged = {entry["step"]: entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry}
    assert min(logged.values()) > 10 * TINY_CLIP
    for step, total in logged.items():
        squares = sum(float(r["norm"]) ** 2 for r in rows if int(r["step"]) == step)
        assert math.sqrt(squares) == pytest.approx(total, rel=1e-4)
    assert sorted({int(r["step"]) for r in rows}) == [1, 2, 3]
    groups = {r["group"] for r in rows}
    assert groups == {"attention", "mlp"}


def test_gradient_accumulation_records_the_accumulated_gradient(tmp_path):
    # 2 micro-batches of 2 rows: the step's gradient is that of the mean token loss over all 4 rows.
    model, dataset, collator, args = _setup("llama", tmp_path, batch_size=2, accumulation=2, max_steps=2)
    expected = _direct_step_norms(model, dataset, collator)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.add_callback(GradNormCallback(path=tmp_path / "gradnorms.csv", trainer=trainer))
    trainer.train()
    rows = [r for r in _read(tmp_path / "gradnorms.csv") if r["step"] == "1"]
    got = {(int(r["layer"]), r["module"], r["matrix"]): float(r["norm"]) for r in rows}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-9), key


def test_without_clipping_and_every_n_steps(tmp_path):
    model, dataset, collator, args = _setup("llama", tmp_path, max_steps=5, max_grad_norm=0.0)
    expected = _direct_step_norms(model, dataset, collator)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.add_callback(GradNormCallback(path=tmp_path / "g.csv", every_n_steps=2))
    trainer.train()
    rows = _read(tmp_path / "g.csv")
    assert sorted({int(r["step"]) for r in rows}) == [1, 3, 5]
    got = {(int(r["layer"]), r["module"], r["matrix"]): float(r["norm"]) for r in rows if r["step"] == "1"}
    assert all(got[k] == pytest.approx(v, rel=1e-4, abs=1e-9) for k, v in expected.items())


def test_aggregates_reach_integrations_and_log_history(tmp_path):
    seen = []

    class Integration(TrainerCallback):  # registered before ours, as report_to integrations are
        def on_log(self, args, state, control, logs=None, **kwargs):
            seen.append(dict(logs))

    model, dataset, collator, args = _setup("llama", tmp_path)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[Integration()])
    trainer.add_callback(GradNormCallback(path=tmp_path / "g.csv"))
    trainer.train()
    step_logs = [entry for entry in seen if "loss" in entry]
    assert len(step_logs) == 3
    for entry in step_logs:
        assert entry["gradnorm/total"] == pytest.approx(entry["grad_norm"], rel=1e-4)
        assert entry["gradnorm/attention_share"] + entry["gradnorm/mlp_share"] == pytest.approx(1.0)
        assert "gradnorm/mlp.down_proj" in entry
    assert all("gradnorm/total" in entry for entry in trainer.state.log_history if "loss" in entry)
    # the accelerator's method is restored after training
    assert "clip_grad_norm_" not in vars(trainer.accelerator)


def test_no_trainer_outside_a_training_loop():
    assert _find_running_trainer() is None


def test_norms_under_bf16_autocast_equal_direct_autocast_gradients(tmp_path):
    """With TrainingArguments(bf16=True) the Trainer runs the forward under torch.autocast; the callback
    still reads the pre-clip gradients of the float32 LoRA weights, equal to a direct autocast backward."""
    import torch

    model, dataset, collator, args = _setup("llama", tmp_path, max_steps=1)
    args.bf16 = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = _direct_step_norms(model, dataset, collator)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    trainer.add_callback(GradNormCallback(path=tmp_path / "gradnorms.csv"))
    trainer.train()
    first = {(int(r["layer"]), r["module"], r["matrix"]): float(r["norm"]) for r in _read(tmp_path / "gradnorms.csv")}
    assert first.keys() == expected.keys()
    for key, value in expected.items():
        # bfloat16 keeps 8 bits of mantissa, and row order inside the batch changes its rounding: a few
        # percent apart, while a post-clip norm would be 1e-3 / (total norm) times smaller.
        assert math.isfinite(first[key]) and first[key] == pytest.approx(value, rel=0.1), key
    total = {entry["step"]: entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry}[1]
    assert total > 10 * TINY_CLIP  # clipping was active; the table is the Trainer's own pre-clip total
    assert math.sqrt(sum(v ** 2 for v in first.values())) == pytest.approx(total, rel=1e-4)
