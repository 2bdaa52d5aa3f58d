"""The GPU path for real: run, audit of an external adapter, the callbacks and `device_map="auto"` on a CUDA device.

Marked `cuda` and skipped where no CUDA device exists (CI has none); `scripts/gpu_check.sh` installs
memgap on a GPU machine without network and runs `pytest -m cuda`. Tiny models, so the whole file
runs in about a minute on one GPU.
"""
from __future__ import annotations

import json

import pytest
import torch

from memgap.cli import main
from pipeline_helpers import make_inputs

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

# fp16 autocast over float32 weights; bf16 over the GPU's default bfloat16 weights (model.dtype auto).
PRECISIONS = {"bf16": "auto", "fp16": "float32"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


def _settings(folder, precision):
    path = folder / f"{precision}.yaml"
    path.write_text(f"model: {{max_length: 64, device: cuda, dtype: {PRECISIONS[precision]}}}\n"
                    "evaluation: {max_new_tokens: 6, scorer: token-f1}\n"
                    f"training: {{precision: {precision}}}\n")
    return path


def _rows(folder, label):
    return [json.loads(line) for line in (folder / "evaluation" / f"{label}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("precision", sorted(PRECISIONS))
def test_run_then_audit_on_a_gpu_give_identical_figures(inputs, tmp_path, precision):
    model_dir, data = inputs
    settings = _settings(tmp_path, precision)
    run, audit = tmp_path / "run", tmp_path / "audit"
    assert main(["run", "--quick", "--data", str(data), "--model", str(model_dir), "--config", str(settings),
                 "--out", str(run), "--no-progress"]) == 0
    assert main(["audit", "--quick", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                 "--split", str(run / "split"), "--config", str(settings), "--out", str(audit), "--no-progress",
                 "--training-dir", str(run / "training")]) == 0
    ran, audited = (json.loads((folder / "audit.json").read_text()) for folder in (run, audit))
    assert ran["precision"]["training"]["value"] == precision
    expected_evaluation = "bf16" if PRECISIONS[precision] == "auto" else "fp32"
    assert ran["precision"]["evaluation"]["value"] == audited["precision"]["evaluation"]["value"] == expected_evaluation
    for label in ("base", "adapter"):
        assert [(r["id"], r["nll"]) for r in _rows(run, label)] == [(r["id"], r["nll"]) for r in _rows(audit, label)]
    for key in ("lifts", "gap"):
        assert audited[key] == ran[key], key
    assert ran["gradients"]["steps_recorded"] > 0 and ran["training_curves"] is not None


def test_callbacks_in_a_trainer_on_a_gpu_then_audit(inputs, tmp_path):
    """GradNormCallback and FamilyGapCallback inside a plain Trainer on the GPU in bf16; memgap audit reads them."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from memgap import FamilyGapCallback, GradNormCallback
    from memgap.data.io import read_records
    from memgap.encoding import IGNORE_INDEX, encode_all

    model_dir, data = inputs
    split = tmp_path / "split"
    assert main(["split", str(data), "--strategy", "nested", "--out", str(split)]) == 0
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).to("cuda")
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=4, target_modules=["q_proj", "v_proj"]))
    examples = encode_all(tokenizer, read_records(split / "train.jsonl"), 64)
    dataset = [{"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": e.labels} for e in examples]
    out = tmp_path / "trainer"
    callbacks = [GradNormCallback(out / "gradnorms.csv"),
                 FamilyGapCallback(read_records(split / "seen_holdout.jsonl"), read_records(split / "unseen_holdout.jsonl"),
                                   path=out / "family_gap.csv", tokenizer=tokenizer, max_length=64, eval_points=2)]
    trainer = Trainer(model=model, args=TrainingArguments(output_dir=str(out), max_steps=4, per_device_train_batch_size=4,
                                                          learning_rate=5e-3, bf16=True, logging_steps=1, report_to="none",
                                                          save_strategy="no", remove_unused_columns=False),
                      train_dataset=dataset, callbacks=callbacks,
                      data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX, padding=True))
    trainer.train()
    trainer.save_state()
    model.save_pretrained(out / "adapter")
    settings = _settings(tmp_path, "bf16")
    assert main(["audit", "--quick", "--model", str(model_dir), "--adapter", str(out / "adapter"), "--split", str(split),
                 "--config", str(settings), "--training-dir", str(out), "--out", str(tmp_path / "audit"),
                 "--no-progress"]) == 0
    audited = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert audited["gradients"]["steps_recorded"] == 4
    assert [point["step"] for point in audited["training_curves"]["points"]] == [0, 2, 4]


def test_device_map_auto_places_the_model_and_scores_as_one_device(inputs):
    """What `model.device: auto` uses with several GPUs (accelerate's device map), here on the GPUs there are."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from memgap.data.io import read_records
    from memgap.devices import Placement
    from memgap.evaluation.nll import completion_token_stats

    model_dir, data = inputs
    records = read_records(data)[:8]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    spread = AutoModelForCausalLM.from_pretrained(model_dir, **Placement("multi-gpu", "float32").from_pretrained_kwargs())
    single = AutoModelForCausalLM.from_pretrained(model_dir, **Placement("cuda", "float32").from_pretrained_kwargs())
    assert spread.device.type == "cuda" and getattr(spread, "hf_device_map", None)
    a = [s.nll for s in completion_token_stats(spread.eval(), tokenizer, records, max_length=64)]
    b = [s.nll for s in completion_token_stats(single.eval(), tokenizer, records, max_length=64)]
    assert a == pytest.approx(b, rel=1e-5)
