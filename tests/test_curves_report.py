"""The training curves in audit.json and the report: schema, figure, sentence and table."""
import json

from fixtures.run_folder import build_run_folder
from memgap.audit_document import json_ready
from memgap.curves import training_curves
from memgap.report import render_report
from memgap.report.plots import family_gap_figure
from memgap.report.schema import validate_audit
from memgap.verdict import decide
from test_curves import simulate


def test_curves_fit_the_schema_and_show_in_the_report(tmp_path):
    run_dir = build_run_folder(tmp_path / "run")
    audit = json.loads((run_dir / "audit.json").read_text())
    audit["training_curves"] = json_ready(training_curves(simulate("memorize", 0)))
    audit["verdict"] = decide(audit)
    validate_audit(audit)
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    paths = render_report(run_dir)
    markdown, html = paths["md"].read_text(), paths["html"].read_text()
    onset = audit["training_curves"]["onset"]["step"]
    assert f"The gap opened at step {onset} of 80" in markdown and f"The gap opened at step {onset} of 80" in html
    assert "family_gap.png" in markdown and list(run_dir.rglob("family_gap.png"))
    assert "unseen reduction" in markdown


def test_the_figure_is_deterministic_and_absent_without_points():
    curves = training_curves(simulate("learn", 1))
    first = family_gap_figure(curves)
    assert first is not None and first[:8] == b"\x89PNG\r\n\x1a\n" and family_gap_figure(curves) == first
    assert family_gap_figure(None) is None and family_gap_figure({"points": curves["points"][:1]}) is None


def test_without_a_training_sample_the_trainers_loss_is_the_training_line():
    curves = training_curves([row for row in simulate("learn", 1) if row.holdout != "train_sample"])
    assert all(point.get("train_sample") is None for point in curves["points"])
    log_history = [{"step": step, "loss": 2.0 - step / 100} for step in range(1, 81)]
    plain, with_loss = family_gap_figure(curves), family_gap_figure(curves, log_history)
    assert plain is not None and with_loss is not None and with_loss != plain
    # with a scored training sample the logged loss is not drawn a second time
    sampled = training_curves(simulate("learn", 1))
    assert family_gap_figure(sampled, log_history) == family_gap_figure(sampled)
