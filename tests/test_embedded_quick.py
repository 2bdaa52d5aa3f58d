"""`memgap run --quick` on the embedded SmolLM2-135M-Instruct: the real default audit, end to end."""
from __future__ import annotations

import json

import pytest

from memgap.cli import main
from memgap.report import validate_audit

pytestmark = pytest.mark.slow


def test_quick_audit_on_the_embedded_model(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["run", "--quick", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    audit = json.loads((out / "audit.json").read_text())
    validate_audit(audit)
    assert audit["model"]["source"] == "embedded"
    assert set(audit["model"]["lora_targets"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert audit["data"]["scorer"] == "tenacious"
    for metric in ("score", "nll"):
        for holdout in ("seen", "unseen"):
            s = audit["lifts"][metric][holdout]
            assert s["n_families"] >= 5 and s["p_value"] is not None
        assert audit["gap"][metric]["n_families"] >= 10
    # The adapter trained on the house style: its reference NLL on held-out siblings must drop.
    assert audit["lifts"]["nll"]["seen"]["delta"] > 0
    assert audit["training"]["train_loss_last"] < audit["training"]["train_loss_first"]
    report = (out / "report.md").read_text()
    assert audit["verdict"]["claim"].split(":")[0] in report
    assert (out / "report.html").stat().st_size > 10_000
    assert f"verdict: {audit['verdict']['label']}" in printed
