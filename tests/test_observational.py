"""The observational protocol's pure parts: the partition, the comparability test, the reworded claim,
and reading a user's Trainer output."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgap.errors import MemgapError
from memgap.evaluation.rows import EvaluationRow
from memgap.observational import comparability, partition_eval_rows, reword_verdict
from memgap.stats.gap import clustered_mean_difference
from memgap.training.trainer_output import read_trainer_output
from memgap.verdict import decide
from tiny_models import tiny_records


def test_partition_counts_and_prefixes_colliding_ids():
    records = tiny_records(12, families=4)  # f0..f3, three rows each
    train = [r for r in records if r.family in ("f0", "f1")][:4]  # two of f0, two of f1
    evaluation = [r for r in records if r not in train]
    clashing = [dataclasses.replace(r, id=train[0].id) if i == 0 else r for i, r in enumerate(evaluation)]
    partition = partition_eval_rows(train, clashing, infer=False)
    assert len(partition.with_sibling) == 2 and len(partition.without_sibling) == 6
    assert all(r.id.startswith("eval/") for r in partition.with_sibling + partition.without_sibling)
    assert all(r.id.startswith("train/") for r in partition.train)


def test_partition_without_any_sibling_is_refused():
    records = tiny_records(8, families=4)
    with pytest.raises(MemgapError, match="no eval row with a training sibling"):
        partition_eval_rows([r for r in records if r.family == "f0"], [r for r in records if r.family != "f0"], infer=False)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=12), st.lists(st.floats(-5, 5), min_size=4, max_size=12),
       st.floats(-3, 3))
def test_mean_difference_is_the_difference_of_means_and_shift_equivariant(first, second, shift):
    first_families = [f"a{i // 2}" for i in range(len(first))]
    second_families = [f"b{i // 2}" for i in range(len(second))]
    plain = clustered_mean_difference(first, first_families, second, second_families)
    shifted = clustered_mean_difference(np.add(first, shift), first_families, second, second_families)
    assert plain.delta == pytest.approx(np.mean(first) - np.mean(second), abs=1e-9)
    assert shifted.delta == pytest.approx(plain.delta + shift, abs=1e-9)
    if np.isfinite(plain.ci_low) and np.isfinite(shifted.ci_low):
        assert shifted.ci_low == pytest.approx(plain.ci_low + shift, abs=1e-6)


def test_comparability_flags_parts_that_differ_before_training():
    rng = np.random.default_rng(0)
    rows = [EvaluationRow(id=f"{holdout}-{i}", family=f"{holdout}{i % 8}", holdout=holdout, model="base",
                          nll=float(rng.normal(loc, 0.1)), n_tokens=1, token_stats=None)
            for holdout, loc in (("seen", 1.0), ("unseen", 2.0)) for i in range(32)]
    result = comparability(rows, alpha=0.05)
    assert result["differing_metrics"] == ["nll"]
    assert result["base"]["nll"]["difference"]["delta"] == pytest.approx(-1.0, abs=0.1)
    assert "not alike" in result["sentence"]


def test_reworded_claim_speaks_of_the_partition():
    def lift(delta):
        return {"delta": delta, "ci_low": delta - 0.05, "ci_high": delta + 0.05, "p_value": 0.001, "n": 20, "n_families": 10}
    audit = {"lifts": {"score": {"seen": lift(0.4), "unseen": lift(0.05)}}, "gap": {"score": lift(0.35)},
             "comparability": {"sentence": "Before training, X.", "differing_metrics": []}}
    verdict = reword_verdict(decide(audit), audit)
    assert verdict["label"] == "memorizes-families"
    assert "families it trained on" not in verdict["claim"] and "eval rows with a training sibling" in verdict["claim"]
    assert "not a randomized hold-out" in verdict["claim"] and "Before training, X." in verdict["claim"]
    assert "memgap split --strategy nested" in verdict["to_settle"]


def test_reworded_verdict_never_speaks_of_seen_or_unseen_families():
    def lift(delta, p=0.001):
        return {"delta": delta, "ci_low": delta - 0.05, "ci_high": delta + 0.05, "p_value": p, "n": 20, "n_families": 10}
    audit = {"lifts": {"score": {"seen": lift(0.6), "unseen": lift(0.55)}, "nll": {"seen": lift(0.7), "unseen": lift(0.65)}},
             "gap": {"score": lift(0.05, 0.4), "nll": lift(0.05, 0.4)},
             "comparability": {"sentence": "", "differing_metrics": []}}
    verdict = reword_verdict(decide(audit), audit)
    for text in (verdict["claim"], *verdict["reasons"], verdict.get("to_settle") or ""):
        assert "seen-family" not in text.lower() and "unseen famil" not in text.lower(), text
    assert any("without a training sibling" in text for text in (verdict["claim"], *verdict["reasons"]))


def test_trainer_output_from_the_last_checkpoint(tmp_path):
    for step, loss in ((2, 3.0), (4, 2.0)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        history = [{"step": s, "loss": 4.0 - s / 2} for s in range(1, step + 1)]
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "epoch": 1.0, "log_history": history}))
    output = read_trainer_output(tmp_path)
    assert output.state_file.parent.name == "checkpoint-4" and output.gradnorms_csv is None
    section = output.training_section()
    assert section["steps"] == 4 and section["train_loss_first"] == 3.5 and section["train_loss_last"] == 2.0
    (tmp_path / "empty").mkdir()
    with pytest.raises(MemgapError, match="no trainer_state.json"):
        read_trainer_output(tmp_path / "empty")
