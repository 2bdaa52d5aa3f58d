"""The training stage of run_audit writes the curves; their last point is the audit's own adapter NLL."""
from __future__ import annotations

import json

import numpy as np

from memgap.curves import read_family_gap
from memgap.pipeline import run_audit
from memgap.report import validate_audit
from pipeline_helpers import make_inputs, tiny_config


def test_run_audit_writes_curves_whose_ends_are_the_base_and_adapter_evaluations(tmp_path):
    inputs = make_inputs(tmp_path / "inputs")
    out = tmp_path / "run"
    audit = run_audit(tiny_config(*inputs, out, **{"training.curve_points": 4, "training.curve_holdout_items": 6}),
                      progress=False)
    validate_audit(json.loads((out / "audit.json").read_text()))
    curves = audit["training_curves"]
    steps = [point["step"] for point in curves["points"]]
    assert steps[0] == 0 and steps[-1] == audit["training"]["steps"] and len(steps) == 5
    assert curves["points"][0]["seen_holdout"]["n"] == 6 and curves["best_step"] in steps
    assert any("Over training" in reason for reason in audit["verdict"]["reasons"])
    # The points scored during training are timed against the training without them.
    cost = curves["cost"]
    assert 0 < cost["evaluation_seconds"] < cost["training_seconds"]
    assert cost["evaluation_seconds_per_training_second"] == (
        cost["evaluation_seconds"] / (cost["training_seconds"] - cost["evaluation_seconds"]))
    assert "of the training time without them" in (out / "report.md").read_text()

    rows = read_family_gap(out / "training" / "family_gap.csv")
    evaluated = {(row["model"], row["holdout"], row["id"]): row["nll"]
                 for row in map(json.loads, (out / "evaluation" / "base.jsonl").read_text().splitlines())}
    evaluated.update({(row["model"], row["holdout"], row["id"]): row["nll"]
                      for row in map(json.loads, (out / "evaluation" / "adapter.jsonl").read_text().splitlines())})
    for step, model in ((0, "base"), (steps[-1], "adapter")):
        for curve_set, holdout in (("seen_holdout", "seen"), ("unseen_holdout", "unseen")):
            got = {row.id: row.nll for row in rows if row.step == step and row.holdout == curve_set}
            expected = [evaluated[(model, holdout, item)] for item in got]
            np.testing.assert_allclose(list(got.values()), expected, rtol=1e-4, atol=1e-5)


def test_curve_points_zero_turns_the_curves_off(tmp_path):
    inputs = make_inputs(tmp_path / "inputs", families=10, rows=40)
    out = tmp_path / "run"
    audit = run_audit(tiny_config(*inputs, out, **{"training.curve_points": 0}), progress=False)
    assert audit["training_curves"] is None and not (out / "training" / "family_gap.csv").exists()
