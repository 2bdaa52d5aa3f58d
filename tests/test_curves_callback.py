"""FamilyGapCallback in a TRL SFTTrainer run and in train_lora: the audit's own NLLs, logged and written."""
import numpy as np
import pytest

from memgap.config import LoraConfig, TrainingConfig
from memgap.curves import read_family_gap, training_curves
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.evaluation.evaluate import merged_lora
from memgap.evaluation.nll import completion_token_stats
from memgap.training.curves_callback import FamilyGapCallback, planned_steps
from tiny_models import tiny_loaded, tiny_records, tiny_tokenizer

MAX_LENGTH = 128


def _holdouts():
    records = tiny_records(24, families=6)
    seen = [r for r in records if r.family in ("f0", "f1", "f2", "f3")][:8]
    unseen = [r for r in records if r.family in ("f4", "f5")]
    train = [r for r in records if r.family in ("f0", "f1", "f2", "f3") and r not in seen]
    return train, seen, unseen


def _nlls(model, tokenizer, records):
    return np.array([s.nll for s in completion_token_stats(model, tokenizer, records, max_length=MAX_LENGTH)])


def test_planned_steps_are_evenly_spaced_and_end_at_the_last_step():
    assert planned_steps(80, 8) == [10, 20, 30, 40, 50, 60, 70, 80]
    assert planned_steps(27, 8) == [3, 7, 10, 14, 17, 20, 24, 27]
    assert planned_steps(4, 8) == [1, 2, 3, 4]
    assert planned_steps(0, 8) == [] and planned_steps(10, 0) == []


@pytest.mark.parametrize("bf16", [False, True])
def test_in_a_trl_sft_trainer_run_the_callback_figures_are_the_audits(tmp_path, bf16):
    """Also under bf16 autocast training (forced; emulated on a CPU without it): the points are scored
    in the weights' float32, as the audit scores the saved adapter, not in the training's autocast."""
    import torch
    from datasets import Dataset
    from peft import PeftModel
    from peft import LoraConfig as PeftLoraConfig
    from trl import SFTConfig, SFTTrainer

    train, seen, unseen = _holdouts()
    tokenizer = tiny_tokenizer()
    base = tiny_loaded().model
    base_copy = tiny_loaded().model  # same seed: the base weights, kept untouched for step 0
    dataset = Dataset.from_list([
        {"prompt": list(r.prompt_messages), "completion": [{"role": "assistant", "content": r.completion}]}
        for r in train
    ])
    callback = FamilyGapCallback(seen, unseen, train_sample=train[:3], path=tmp_path / "family_gap.csv",
                                 max_length=MAX_LENGTH, eval_points=4)
    trainer = SFTTrainer(
        model=base,
        args=SFTConfig(output_dir=str(tmp_path / "out"), max_steps=8, per_device_train_batch_size=4, learning_rate=5e-3,
                       logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, seed=0,
                       max_length=MAX_LENGTH, disable_tqdm=True, bf16=bf16),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=PeftLoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
        callbacks=[callback],
    )
    trainer.train()

    rows = read_family_gap(tmp_path / "family_gap.csv")
    assert rows == callback.rows
    assert sorted({row.step for row in rows}) == [0, 2, 4, 6, 8]
    by_step = {(row.step, row.holdout, row.id): row.nll for row in rows}

    # step 0 is the base model; the last step is the trained adapter as saved, loaded as the audit loads it
    trainer.model.save_pretrained(tmp_path / "adapter")
    saved = PeftModel.from_pretrained(tiny_loaded().model, tmp_path / "adapter")
    for step, model in ((0, base_copy), (8, saved)):
        model.eval()
        with torch.no_grad():  # unmerged, as the callback scores: the same float32 operations
            for holdout, records in (("seen_holdout", seen), ("unseen_holdout", unseen)):
                expected = _nlls(model, tokenizer, records)
                got = np.array([by_step[(step, holdout, r.id)] for r in records])
                # bf16 autocast left on would move these by about 1e-4 relative (logits by 1.6e-3)
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
        if step:
            with merged_lora(model):  # the audit's merged pass: the same figures to float32 rounding
                np.testing.assert_allclose(_nlls(model, tokenizer, seen),
                                           [by_step[(step, "seen_holdout", r.id)] for r in seen], rtol=1e-4, atol=1e-5)
    assert by_step[(8, "seen_holdout", seen[0].id)] < by_step[(0, "seen_holdout", seen[0].id)]

    logged = [entry for entry in trainer.state.log_history if "eval_seen_holdout_nll" in entry]
    assert [entry["step"] for entry in logged] == [0, 2, 4, 6, 8]
    last = logged[-1]
    assert last["eval_seen_holdout_nll"] == pytest.approx(np.mean([by_step[(8, "seen_holdout", r.id)] for r in seen]))
    assert last["eval_family_gap_ci_low"] <= last["eval_family_gap"] <= last["eval_family_gap_ci_high"]
    # TRL's own training metrics are still logged with the training loss, not folded into the curve entries
    assert all("mean_token_accuracy" not in entry for entry in logged)
    assert sum("mean_token_accuracy" in entry for entry in trainer.state.log_history) == 8

    curves = callback.curves()
    assert curves == training_curves(rows)
    assert [p["step"] for p in curves["points"]] == [0, 2, 4, 6, 8]
    assert curves["points"][-1]["gap"]["delta"] == pytest.approx(last["eval_family_gap"])


def test_train_lora_with_the_callback_writes_family_gap_csv(tmp_path):
    from memgap.training.sft import train_lora

    train, seen, unseen = _holdouts()
    loaded = tiny_loaded()
    callback = FamilyGapCallback(seen, unseen, path=tmp_path / "family_gap.csv", tokenizer=loaded.tokenizer,
                                 max_length=MAX_LENGTH, eval_points=3)
    training = TrainingConfig(max_steps=6, batch_size=4, learning_rate=5e-3, save_steps=100, warmup_ratio=0.0)
    train_lora(loaded, train, lora=LoraConfig(), training=training, max_length=MAX_LENGTH, output_dir=tmp_path,
               seed=0, callbacks=[callback], progress=False)
    rows = read_family_gap(tmp_path / "family_gap.csv")
    assert sorted({row.step for row in rows}) == [0, 2, 4, 6]
    assert {row.holdout for row in rows} == {"seen_holdout", "unseen_holdout"}
    assert callback.trainer is not None and callback.seconds > 0


def test_records_without_families_or_shared_families_are_refused():
    train, seen, unseen = _holdouts()
    with pytest.raises(MemgapError, match="no family"):
        FamilyGapCallback([Record(id="x", completion="c", prompt_text="p")], unseen)
    with pytest.raises(MemgapError, match="both hold-outs"):
        FamilyGapCallback(seen, seen)
    with pytest.raises(MemgapError, match="empty"):
        FamilyGapCallback(seen, [])


def test_memgap_train_with_both_holdouts_writes_the_curves(tmp_path, capsys):
    from memgap.cli import main
    from memgap.data.io import records_to_rows, write_jsonl
    from tiny_models import save_tiny_model

    train, seen, unseen = _holdouts()
    model = save_tiny_model(tmp_path / "model")
    paths = {name: write_jsonl(tmp_path / f"{name}.jsonl", records_to_rows(rows))
             for name, rows in (("train", train), ("seen", seen), ("unseen", unseen))}
    config = tmp_path / "audit.yaml"
    config.write_text("model: {max_length: 128}\ntraining: {batch_size: 4, learning_rate: 0.005, curve_points: 2}\n")
    common = ["train", "--data", str(paths["train"]), "--model", str(model), "--config", str(config),
              "--max-steps", "4", "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "out"), "--seen-holdout", str(paths["seen"]),
                 "--unseen-holdout", str(paths["unseen"])]) == 0
    printed = capsys.readouterr().out
    assert "family_gap.csv" in printed and "unseen-family loss" in printed
    assert sorted({row.step for row in read_family_gap(tmp_path / "out" / "family_gap.csv")}) == [0, 2, 4]
    with pytest.raises(SystemExit) as stopped:
        main([*common, "--out", str(tmp_path / "half"), "--seen-holdout", str(paths["seen"])])
    assert stopped.value.code == 2
    assert "both hold-outs" in capsys.readouterr().err and not (tmp_path / "half").exists()
