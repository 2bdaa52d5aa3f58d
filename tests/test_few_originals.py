"""Few originals, many variants (tests/data/cases/few_originals.jsonl): 4 families, so the unseen-family
hold-out holds one family and no family-clustered interval or p-value exists. The audit must still finish,
print, show the undefined figures as undefined, say why in the verdict and the report, and call the
verdict inconclusive: the data cannot tell a lift from none."""
from __future__ import annotations

from pathlib import Path

import pytest

from memgap.cli.run import print_summary
from memgap.pipeline import run_audit
from memgap.report import validate_audit
from memgap.training.schedule import optimizer_steps
from pipeline_helpers import tiny_config
from tiny_models import save_tiny_model

CASE = Path(__file__).parent / "data" / "cases" / "few_originals.jsonl"


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    folder = tmp_path_factory.mktemp("few")
    config = tiny_config(save_tiny_model(folder / "model"), CASE, folder / "run")
    return config, run_audit(config, progress=False)


def test_the_audit_finishes_and_prints_undefined_figures_as_undefined(few, capsys):
    config, audit = few
    validate_audit(audit)
    print_summary(audit, config.out)
    out = capsys.readouterr().out
    assert "verdict: " in out
    unseen = audit["lifts"]["score"]["unseen"]
    assert unseen["n_families"] == 1 and unseen["ci_low"] is None
    unseen_line = next(line for line in out.splitlines() if line.strip().startswith("score unseen"))
    assert "CI undefined" in unseen_line and "with 5 or fewer families no 95 % sign-flip interval exists" in unseen_line
    assert "p-value undefined" in unseen_line and "p=" not in unseen_line
    gap_line = next(line for line in out.splitlines() if line.strip().startswith("score gap"))
    assert "CI undefined" in gap_line and "a hold-out has 1 family" in gap_line
    assert "None" not in out and "nan" not in out.lower().split("families")[0]


def test_the_verdict_says_why(few):
    _, audit = few
    verdict = audit["verdict"]
    assert "95 % CI undefined" in verdict["claim"]
    assert "the unseen-family lift (1 family)" in verdict["claim"]
    assert "with 5 or fewer families no 95 % sign-flip interval exists" in verdict["claim"]
    assert any("undefined: with 5 or fewer families" in reason for reason in verdict["reasons"])
    # Too few families to tell a lift from none: inconclusive, not no-lift, and what an interval needs.
    assert verdict["label"] == "inconclusive"
    assert "cannot tell a lift" in verdict["claim"]
    assert "at least 6 families in a hold-out" in verdict["to_settle"] and "1 unseen" in verdict["to_settle"]
    for metric in ("score", "nll"):
        assert audit["lifts"][metric]["unseen"]["p_value"] is None


def test_the_report_says_why(few):
    config, _ = few
    markdown = (Path(config.out) / "report.md").read_text(encoding="utf-8")
    assert "undefined" in markdown
    assert "5 or fewer families no 95 % sign-flip interval exists" in markdown


def test_warnings_are_recorded_and_the_step_count_is_the_trainers(few):
    config, audit = few
    assert isinstance(audit["warnings"], list)
    assert audit["training"]["steps"] == optimizer_steps(audit["split"]["train"]["rows"], config.training)
