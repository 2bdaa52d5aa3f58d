"""`compare_runs` and the `report` / `compare` verbs on synthetic run folders."""
from __future__ import annotations

import argparse
import json
import re

import pytest

from fixtures.run_folder import build_run_folder
from memgap.cli import report as report_cli
from memgap.errors import MemgapError, user_errors
from memgap.report import compare_runs


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    before = build_run_folder(root / "before", seen=(0.26, 0.03), unseen=(0.02, 0.04))
    after = build_run_folder(root / "after", seen=(0.20, 0.03), unseen=(0.16, 0.03), omit=("gradients",), seed=1)
    return before, after


def test_compare_sets_verdicts_and_lifts_side_by_side(two_runs, tmp_path):
    before, after = two_runs
    paths = compare_runs(before, after, tmp_path / "cmp")
    text = paths["html"].read_text(encoding="utf-8")
    markdown = paths["md"].read_text(encoding="utf-8")
    audits = [json.loads((run / "audit.json").read_text()) for run in (before, after)]
    assert [a["verdict"]["label"] for a in audits] == ["memorizes-families", "generalizes"]
    assert "Memorizes families" in text and "Generalizes" in text
    change = audits[1]["lifts"]["score"]["unseen"]["delta"] - audits[0]["lifts"]["score"]["unseen"]["delta"]
    assert f"{change:+.2f}" in text and f"{change:+.2f}" in markdown
    assert "Not in the audit of after" in text  # gradients were left out of the second run
    assert "<script" not in text and 'src="http' not in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert images and all(link.startswith("compare_files/") and (tmp_path / "cmp" / link).is_file() for link in images)


def test_compare_names_the_missing_audit(two_runs, tmp_path):
    before, _ = two_runs
    with pytest.raises(MemgapError, match=str(tmp_path / "nowhere")):
        compare_runs(before, tmp_path / "nowhere", tmp_path / "cmp")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="memgap")
    report_cli.add_parser(parser.add_subparsers(dest="verb"))
    return parser.parse_args(argv)


def test_report_verb_rerenders_and_prints_the_paths(two_runs, capsys):
    before, _ = two_runs
    (before / "report.html").unlink(missing_ok=True)
    args = _parse(["report", str(before)])
    assert args.func(args) == 0
    assert (before / "report.html").is_file()
    assert str(before / "report.html") in capsys.readouterr().out


def test_compare_verb_writes_to_out(two_runs, tmp_path):
    before, after = two_runs
    args = _parse(["compare", str(before), str(after), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert (tmp_path / "out" / "compare.html").is_file() and (tmp_path / "out" / "compare.md").is_file()


def test_report_verb_on_a_bad_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "audit.json").write_text("[]", encoding="utf-8")
    args = _parse(["report", str(tmp_path)])
    with pytest.raises(SystemExit) as stop, user_errors():
        args.func(args)
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(tmp_path / "audit.json") in error
