"""The evaluation row: its file form round-trips, older run folders still load, and bad rows are refused."""
from __future__ import annotations

import math

import numpy as np
import pytest

from memgap.analysis import metrics_present, paired_arrays
from memgap.config import AuditConfig
from memgap.errors import MemgapError
from memgap.evaluation.rows import PREDICTION_COLUMNS, EvaluationRow
from memgap.evaluation.token_stats import TokenStats
from memgap.pipeline import run_audit


def _stats(*logprobs: float) -> TokenStats:
    values = np.asarray(logprobs, dtype=float)
    return TokenStats(values, values - 0.5, np.ones_like(values))


def _row(**changes) -> EvaluationRow:
    fields = dict(id="a", family="f1", holdout="seen", model="base", nll=1.5, n_tokens=2,
                  token_stats=_stats(-1.0, -2.0), generation="hi", score=0.75, checks={"length": True})
    return EvaluationRow(**{**fields, **changes})


def test_round_trip_keeps_every_field():
    row = _row()
    back = EvaluationRow.from_dict(row.to_dict())
    assert back == row
    np.testing.assert_array_equal(back.token_stats.logprobs, row.token_stats.logprobs)
    assert row.to_dict()["holdout"] == "seen" and "subset" not in row.to_dict()


def test_a_row_without_generation_has_no_score_and_no_generation_keys():
    row = _row(generation=None, score=None, checks=None, holdout="train")
    assert "score" not in row.to_dict() and row.metric("score") is None and row.metric("nll") == 1.5
    assert EvaluationRow.from_dict(row.to_dict()) == row


def test_rows_written_with_subset_still_load_as_holdout():
    legacy = _row().to_dict()
    legacy["subset"] = legacy.pop("holdout")
    assert EvaluationRow.from_dict(legacy).holdout == "seen"


def test_a_row_without_a_holdout_is_refused_naming_the_file():
    broken = _row().to_dict()
    broken.pop("holdout")
    with pytest.raises(MemgapError, match=r"base.jsonl:3: evaluation row without holdout"):
        EvaluationRow.from_dict(broken, where="base.jsonl:3")


def test_prediction_has_the_prediction_columns_only():
    assert tuple(_row().prediction()) == PREDICTION_COLUMNS


def test_unknown_metric_raises():
    with pytest.raises(ValueError, match="unknown metric"):
        _row().metric("accuracy")


def test_paired_arrays_align_by_id_and_orient_positive_as_better():
    rows = [
        _row(id="a", model="base", nll=2.0, score=0.1), _row(id="a", model="adapter", nll=1.0, score=0.4),
        _row(id="b", family="f2", model="base", nll=3.0, score=0.2),
        _row(id="b", family="f2", model="adapter", nll=2.5, score=0.9),
        _row(id="c", model="base", nll=math.nan),  # no adapter row: dropped
    ]
    treatment, control, families = paired_arrays(rows, "seen", "nll")
    np.testing.assert_array_equal(treatment, [2.0, 3.0]) and np.testing.assert_array_equal(control, [1.0, 2.5])
    assert families == ["f1", "f2"]
    treatment, control, _ = paired_arrays(rows, "seen", "score")
    np.testing.assert_array_equal(treatment, [0.4, 0.9])
    assert metrics_present([_row(generation=None, score=None)]) == ["nll"]


def test_run_audit_refuses_several_seeds_before_writing(tmp_path):
    config = AuditConfig()
    config.seeds, config.out = [0, 1], str(tmp_path / "run")
    with pytest.raises(MemgapError, match="run_multi_seed"):
        run_audit(config)
    assert not (tmp_path / "run").exists()


def test_a_finished_evaluation_stage_written_with_subset_resumes(tmp_path):
    from memgap.data.io import write_jsonl
    from memgap.run_folder import Stages
    from memgap.stages import RunContext, evaluate_stage

    run = RunContext(AuditConfig(), tmp_path, Stages(tmp_path, "fingerprint"), progress=False)
    legacy = [_row(id="a").to_dict(), _row(id="b", holdout="train", generation=None, score=None, checks=None).to_dict()]
    for row in legacy:
        row["subset"] = row.pop("holdout")
    write_jsonl(tmp_path / "evaluation" / "base.jsonl", legacy)
    run.stages.mark_done("evaluate-base", 1.0)
    # A finished stage is read back without touching the model.
    rows = evaluate_stage(run, None, label="base", tokenizer=None, holdouts={}, scorer="token-f1")
    assert [(row.id, row.holdout, row.score) for row in rows] == [("a", "seen", 0.75), ("b", "train", None)]
