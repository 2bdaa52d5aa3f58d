"""Live stopping in FamilyGapCallback: in a TRL SFTTrainer run on data whose unseen-family loss turns up,
the saved adapter holds the LoRA weights of the best step, not the last; a run resumed mid-patience ends
the same; the pure rule on rows."""
from __future__ import annotations

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from memgap.curves import CurveRow, mean_nll_by_step
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.training.curves_callback import FamilyGapCallback
from memgap.training.stopping import STATE_FILE, WEIGHTS_FILE, best_trained_step, points_since_best, stop_reason
from tiny_models import tiny_loaded, tiny_tokenizer

MAX_LENGTH = 64
# A larger initialisation than the tiny models' default lets logits move far from uniform within
# a few dozen steps, so memorizing the trained families' codes shows in the unseen-family loss.
INIT = 0.3


def code_families(seed: int = 0, trained: int = 8, unseen: int = 4) -> dict[str, list[Record]]:
    """Each family's completion is one random code: learning the code alphabet lowers every family's
    loss, memorizing a family's code lowers only its siblings' and, trained long, raises the unseen families'."""
    rng = random.Random(seed)
    parts: dict[str, list[Record]] = {"train": [], "seen": [], "unseen": []}
    for family in range(trained + unseen):
        code = "".join(rng.choice("abcd") for _ in range(6))
        members = 5 if family < trained else 2
        for index in range(members):
            part = "unseen" if family >= trained else "seen" if index == 0 else "train"
            parts[part].append(Record(
                id=f"f{family}r{index}", completion=f"code {code}.", family=f"f{family}",
                prompt_messages=({"role": "user", "content": f"item {index} of group {family}"},)))
    return parts


def sft_trainer(output_dir, callbacks, parts, *, max_steps=48, save_steps=8):
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    dataset = Dataset.from_list([
        {"prompt": list(r.prompt_messages), "completion": [{"role": "assistant", "content": r.completion}]}
        for r in parts["train"]
    ])
    return SFTTrainer(
        model=tiny_loaded(initializer_range=INIT).model,
        args=SFTConfig(output_dir=str(output_dir), max_steps=max_steps, per_device_train_batch_size=8,
                       learning_rate=2e-2, lr_scheduler_type="constant", logging_steps=1, save_strategy="steps",
                       save_steps=save_steps, report_to="none", use_cpu=True, seed=0, max_length=MAX_LENGTH,
                       disable_tqdm=True),
        train_dataset=dataset,
        processing_class=tiny_tokenizer(),
        peft_config=LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                               target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]),
        callbacks=callbacks,
    )


def lora_tensors(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def assert_same_tensors(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for name in left:
        assert torch.equal(left[name], right[name]), name


def test_sft_trainer_stops_and_saves_the_best_steps_lora_weights(tmp_path):
    parts = code_families()
    callback = FamilyGapCallback(parts["seen"], parts["unseen"], path=tmp_path / "out" / "family_gap.csv",
                                 max_length=MAX_LENGTH, eval_points=6, stop_at="best-unseen", patience=2)
    trainer = sft_trainer(tmp_path / "out", [callback], parts)
    trainer.train()
    trainer.save_model(str(tmp_path / "adapter"))

    unseen = mean_nll_by_step(callback.rows, "unseen_holdout")
    seen = mean_nll_by_step(callback.rows, "seen_holdout")
    best = min((step for step in unseen if step > 0), key=unseen.get)
    stopped = trainer.state.global_step
    # the data do what they are built for: the unseen-family loss turned up while the seen one fell
    assert unseen[stopped] > unseen[best] and seen[stopped] < seen[best]
    assert stopped < 48 and stopped == sorted(unseen)[-1] and sum(step > best for step in unseen) == 2

    record = json.loads((tmp_path / "out" / "stopping.json").read_text())
    assert record == callback.stopping
    assert record["restored_step"] == best and record["stopped_at_step"] == stopped and record["max_steps"] == 48
    assert record["reason"] == "patience"
    assert record["final"]["unseen_holdout_nll"] == pytest.approx(unseen[stopped])
    assert record["restored"]["unseen_holdout_nll"] == pytest.approx(unseen[best])

    saved = lora_tensors(tmp_path / "adapter")
    assert_same_tensors(saved, lora_tensors(tmp_path / "out" / f"checkpoint-{best}"))
    last = lora_tensors(tmp_path / "out" / f"checkpoint-{stopped}")
    assert any(not torch.equal(saved[name], last[name]) for name in saved)
    # the rule's course reaches the Trainer's log, so every report_to backend gets it
    logged = [entry for entry in trainer.state.log_history if "eval_points_since_best" in entry]
    assert logged[-1]["eval_points_since_best"] == 2 and logged[-1]["eval_unseen_holdout_best_step"] == best
    # each checkpoint carries the rule's state for a resume
    assert (tmp_path / "out" / f"checkpoint-{stopped}" / STATE_FILE).exists()
    assert (tmp_path / "out" / f"checkpoint-{stopped}" / WEIGHTS_FILE).exists()


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("with_csv", [True, False], ids=["family_gap.csv", "state-only"])
def test_a_run_resumed_mid_patience_ends_as_the_uninterrupted_run(tmp_path, with_csv):
    """Also without family_gap.csv: the points come back from the checkpoint's own state file."""
    from transformers import TrainerCallback

    parts = code_families()

    def callback(folder):
        return FamilyGapCallback(parts["seen"], parts["unseen"], path=folder / "family_gap.csv" if with_csv else None,
                                 max_length=MAX_LENGTH, eval_points=6, stop_at="best-unseen", patience=2)

    whole = callback(tmp_path / "whole")
    trainer = sft_trainer(tmp_path / "whole", [whole], parts)
    trainer.train()
    trainer.save_model(str(tmp_path / "whole" / "adapter"))
    best = whole.stopping["restored_step"]
    middle = next(step for step in whole.stopping["evaluation_steps"] if step > best)  # one point into patience

    class StopAt(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == middle:
                raise Interrupt

    interrupted = callback(tmp_path / "cut")
    with pytest.raises(Interrupt):
        sft_trainer(tmp_path / "cut", [interrupted, StopAt()], parts).train()
    assert interrupted.stopping is None
    resumed = callback(tmp_path / "cut")
    trainer = sft_trainer(tmp_path / "cut", [resumed], parts)
    trainer.train(resume_from_checkpoint=str(tmp_path / "cut" / f"checkpoint-{middle}"))
    trainer.save_model(str(tmp_path / "cut" / "adapter"))

    assert resumed.stopping["evaluation_steps"] == whole.stopping["evaluation_steps"]
    assert resumed.stopping["stopped_at_step"] == whole.stopping["stopped_at_step"]
    assert resumed.stopping["restored_step"] == best
    assert_same_tensors(lora_tensors(tmp_path / "cut" / "adapter"), lora_tensors(tmp_path / "whole" / "adapter"))


def _rows(unseen_means: dict[int, float], seen_means: dict[int, float] | None = None) -> list[CurveRow]:
    rows = []
    for step, value in unseen_means.items():
        for family in range(3):
            rows.append(CurveRow(step, "unseen_holdout", f"u{family}", f"u{family}", value + 0.01 * family, 5))
            seen = (seen_means or unseen_means)[step]
            rows.append(CurveRow(step, "seen_holdout", f"s{family}", f"s{family}", seen + 0.01 * family, 5))
    return rows


def test_the_patience_rule_counts_points_after_the_best_trained_step():
    rows = _rows({0: 3.0, 10: 2.0, 20: 1.5, 30: 1.6})
    assert best_trained_step(rows) == 20 and points_since_best(rows) == 1
    assert stop_reason(rows, stop_at="best-unseen", patience=2) is None
    rows = _rows({0: 3.0, 10: 2.0, 20: 1.5, 30: 1.6, 40: 1.55})
    assert stop_reason(rows, stop_at="best-unseen", patience=2)["reason"] == "patience"
    assert stop_reason(rows, stop_at="best-unseen", patience=3) is None
    assert stop_reason(rows, stop_at="end") is None
    # step 0 is never the best: its LoRA weights change nothing
    assert best_trained_step(_rows({0: 1.0, 10: 2.0, 20: 2.5})) == 10


def test_the_onset_rule_stops_once_the_gap_is_confirmed():
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for step, (seen, unseen) in enumerate([(3.0, 3.0), (2.5, 2.6), (2.0, 2.7), (1.5, 2.8), (1.0, 2.9)]):
        for family in range(6):
            rows.append(CurveRow(step * 10, "seen_holdout", f"s{family}", f"s{family}", seen + rng.normal(0, 0.02), 5))
            rows.append(CurveRow(step * 10, "unseen_holdout", f"u{family}", f"u{family}", unseen + rng.normal(0, 0.02), 5))
    early = [row for row in rows if row.step <= 20]
    assert stop_reason(early, stop_at="onset") is None  # one later point cannot confirm an onset
    reason = stop_reason(rows, stop_at="onset")
    assert reason["reason"] == "onset" and reason["onset_step"] in (0, 10)


def test_bad_rules_are_refused():
    parts = code_families(trained=2, unseen=1)
    with pytest.raises(MemgapError, match="stop_at must be one of"):
        FamilyGapCallback(parts["seen"], parts["unseen"], stop_at="best")
    with pytest.raises(MemgapError, match="stop_patience"):
        FamilyGapCallback(parts["seen"], parts["unseen"], stop_at="best-unseen", patience=0)
    with pytest.raises(MemgapError, match="evaluate_at_end"):
        FamilyGapCallback(parts["seen"], parts["unseen"], stop_at="onset", evaluate_at_end=False)
