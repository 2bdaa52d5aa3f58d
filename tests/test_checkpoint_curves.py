"""`memgap audit --training-dir DIR` on a Trainer output folder: the checkpoint-N adapters scored post hoc draw
the same curves as the live FamilyGapCallback and name the checkpoint to ship; without checkpoints, a note."""
from __future__ import annotations

import json

import pytest

from memgap.checkpoint_curves import find_checkpoint_adapters
from memgap.cli import main
from memgap.curves import mean_nll_by_step
from memgap.data.io import records_to_rows, write_jsonl
from memgap.training.curves_callback import FamilyGapCallback
from test_stopping import MAX_LENGTH, code_families
from tiny_models import save_tiny_model, tiny_tokenizer

SETTINGS = ("model: {max_length: 64}\nevaluation: {max_new_tokens: 4, scorer: token-f1, membership_train_rows: 8}\n"
            "stats: {n_resamples: 200}\n")


def _trainer_run(tmp_path, *, save_strategy: str, callbacks=()):
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    parts = code_families()
    model_dir = save_tiny_model(tmp_path / "model", initializer_range=0.3)
    dataset = Dataset.from_list([
        {"prompt": list(r.prompt_messages), "completion": [{"role": "assistant", "content": r.completion}]}
        for r in parts["train"]])
    out = tmp_path / "out"
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=SFTConfig(output_dir=str(out), max_steps=48, per_device_train_batch_size=8, learning_rate=2e-2,
                       lr_scheduler_type="constant", logging_steps=1, save_strategy=save_strategy, save_steps=8,
                       report_to="none", use_cpu=True, seed=0, max_length=MAX_LENGTH, disable_tqdm=True),
        train_dataset=dataset, processing_class=tiny_tokenizer(),
        peft_config=LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                               target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]),
        callbacks=list(callbacks(parts, out) if callbacks else []),
    )
    trainer.train()
    trainer.save_model(str(tmp_path / "adapter"))
    trainer.save_state()
    split = tmp_path / "split"
    split.mkdir()
    (split / "manifest.json").write_text(json.dumps({"strategy": "nested"}))
    for name, part in (("train", "train"), ("seen_holdout", "seen"), ("unseen_holdout", "unseen")):
        write_jsonl(split / f"{name}.jsonl", records_to_rows(parts[part]))
    settings = tmp_path / "small.yaml"
    settings.write_text(SETTINGS)
    return model_dir, out, split, settings


def test_audit_scores_the_checkpoints_draws_the_curves_and_names_the_one_to_ship(tmp_path, capsys):
    live = []

    def callbacks(parts, out):
        live.append(FamilyGapCallback(parts["seen"], parts["unseen"], path=out / "family_gap.csv",
                                      max_length=MAX_LENGTH, eval_points=6))
        return live

    model_dir, out, split, settings = _trainer_run(tmp_path, save_strategy="steps", callbacks=callbacks)
    assert [checkpoint.step for checkpoint in find_checkpoint_adapters(out)] == [8, 16, 24, 32, 40, 48]
    audit_dir = tmp_path / "audit"
    assert main(["audit", "--model", str(model_dir), "--adapter", str(tmp_path / "adapter"), "--split", str(split),
                 "--training-dir", str(out), "--config", str(settings), "--out", str(audit_dir), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    audit = json.loads((audit_dir / "audit.json").read_text())
    curves = audit["training_curves"]
    assert curves["source"] == "checkpoints"
    assert [point["step"] for point in curves["points"]] == [0, 8, 16, 24, 32, 40, 48]

    # the best step is the checkpoint with the lowest unseen-family loss, and it is the one to ship
    means = {point["step"]: point["unseen_holdout"]["mean"] for point in curves["points"]}
    best = min(means, key=means.get)
    assert curves["best_step"] == best > 0 and best < 48  # the data are built for the unseen loss to turn up
    ship = curves["checkpoints"]["ship"]
    assert ship["step"] == best and ship["path"].endswith(f"checkpoint-{best}")
    assert f"ship checkpoint-{best}" in printed and f"ship checkpoint-{best}" in (audit_dir / "report.md").read_text()

    # the same curves as the live callback at the same steps: the same per-item NLLs to float rounding
    agreement = curves["checkpoints"]["agreement"]
    assert agreement["agree"] and agreement["largest_nll_difference"] < 1e-4
    assert agreement["common_steps"] == [0, 8, 16, 24, 32, 40, 48]
    live_unseen = mean_nll_by_step(live[0].rows, "unseen_holdout")
    for step, value in live_unseen.items():
        assert means[step] == pytest.approx(value, abs=1e-4)
    assert agreement["checkpoints"] == agreement["live"]
    # the last checkpoint is the audited adapter: its point is the audit's own adapter NLL
    evaluated = [json.loads(line) for line in (audit_dir / "evaluation" / "adapter.jsonl").read_text().splitlines()]
    unseen = [row["nll"] for row in evaluated if row["holdout"] == "unseen"]
    assert means[48] == pytest.approx(sum(unseen) / len(unseen), abs=1e-4)


def test_a_training_folder_without_checkpoints_says_what_the_curves_need(tmp_path, capsys):
    model_dir, out, split, settings = _trainer_run(tmp_path, save_strategy="no")
    assert find_checkpoint_adapters(out) == []
    audit_dir = tmp_path / "audit"
    assert main(["audit", "--model", str(model_dir), "--adapter", str(tmp_path / "adapter"), "--split", str(split),
                 "--training-dir", str(out), "--config", str(settings), "--out", str(audit_dir), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    audit = json.loads((audit_dir / "audit.json").read_text())
    assert audit["training_curves"] is None
    assert "save_strategy='steps'" in audit["training"]["checkpoints_note"]
    assert "note: no checkpoint-N folders with an adapter" in printed
