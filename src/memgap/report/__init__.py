"""Turning an audit into something people can read: audit.json's schema, report.md/report.html, comparisons.

`render_report(run_dir)` re-renders a run folder's report from its saved artefacts;
`compare_runs(dir1, dir2, out_dir)` sets two audits side by side; `validate_audit(audit)` checks
an audit dict against the versioned schema (audit.schema.json).
"""
from __future__ import annotations

__all__ = ["render_report", "compare_runs", "validate_audit", "load_audit"]


def __getattr__(name: str):
    # Lazy so that validating an audit does not import matplotlib.
    if name == "render_report":
        from memgap.report.render import render_report

        return render_report
    if name == "compare_runs":
        from memgap.report.compare import compare_runs

        return compare_runs
    if name == "validate_audit":
        from memgap.report.schema import validate_audit

        return validate_audit
    if name == "load_audit":
        from memgap.report.artifacts import load_audit

        return load_audit
    raise AttributeError(f"module 'memgap.report' has no attribute {name!r}")
