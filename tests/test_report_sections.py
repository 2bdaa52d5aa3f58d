"""The report's body is written for a reader: rows named in words, numeric order, full figures collapsed,
and the next actions on the first screen, each citing its figure."""
from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fixtures.run_folder import build_run_folder
from memgap.families import concentration_report
from memgap.report import render_report
from memgap.report.actions import next_actions

DOTTED_KEY = re.compile(r"^[A-Za-z_][\w+-]*(\.[\w+-]+)+$")  # by_layer_band.early.layers, size.histogram.129+


class _Tables(HTMLParser):
    """Each table's rows of cell texts, and whether the table sits inside a <details> element."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.details_depth = 0
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.details_depth += 1
        elif tag == "table":
            self.tables.append({"collapsed": self.details_depth > 0, "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "details":
            self.details_depth -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(text: str) -> list[dict]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, str, str]:
    run_dir = build_run_folder(tmp_path_factory.mktemp("run") / "audit-run")
    audit = json.loads((run_dir / "audit.json").read_text())
    # Families of very different sizes, so the size histogram has buckets whose text order is wrong.
    sizes = [1, 1, 3, 20, 20, 40, 150]
    audit["families"] = concentration_report([f"f{i}" for i, size in enumerate(sizes) for _ in range(size)])
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    paths = render_report(run_dir)
    return run_dir, paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")


def test_body_tables_name_their_rows_in_words(rendered):
    _, text, _ = rendered
    body = [t for t in tables_of(text) if not t["collapsed"]]
    assert len(body) >= 8
    for table in body:
        for row in table["rows"]:
            assert not DOTTED_KEY.match(row[0]), row
    # The audit's own keys are still there, collapsed, for whoever needs them.
    collapsed = [row[0] for t in tables_of(text) if t["collapsed"] for row in t["rows"]]
    assert "size.histogram.129+" in collapsed and "effective_families.inverse_simpson" in collapsed


def test_the_appendix_is_collapsed_and_needs_no_script(rendered):
    _, text, markdown = rendered
    appendix = text[text.index('<section id="appendix">'):]
    assert appendix.count("<details") >= 8 and "<details open" not in appendix
    assert "<script" not in text
    assert markdown.index("## Appendix: full figures") < markdown.index("<details><summary>Lifts: full figures</summary>")


def test_histogram_buckets_are_in_numeric_order(rendered):
    _, text, _ = rendered
    (histogram,) = [t for t in tables_of(text) if t["rows"] and t["rows"][0][:1] == ["family size, rows"]]
    labels = [row[0] for row in histogram["rows"][1:]]
    assert labels == ["1", "2", "3-4", "5-8", "9-16", "17-32", "33-64", "65-128", "129+"]


def test_concentrated_families_appear_as_an_action_citing_their_share(rendered):
    run_dir, text, markdown = rendered
    audit = json.loads((run_dir / "audit.json").read_text())
    actions = next_actions(audit)
    assert "concentration" in [a.kind for a in actions]
    next_section = html.unescape(text[text.index('id="next"'):text.index('<nav class="toc">')])
    for action in actions:
        assert action.title in next_section and action.because in next_section
        assert f'href="#{action.section}"' in text[text.index('id="next"'):]
        assert f'<section id="{action.section}">' in text  # the link lands on a section
    assert "of the rows" in next_section and f"{100 * audit['families']['largest_10pct_share']:.1f} %" in next_section
    assert "## What to do next" in markdown and actions[0].title.split()[0] in markdown


def test_an_audit_that_calls_for_nothing_says_so(tmp_path):
    run_dir = build_run_folder(tmp_path / "calm", omit=("training", "training_curves"))
    audit = json.loads((run_dir / "audit.json").read_text())
    audit["split"]["leakage"]["unseen_holdout"]["completion_view"]["eval_rows_above_similarity_count"] = 0
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    assert next_actions(audit) == []
    text = render_report(run_dir)["html"].read_text(encoding="utf-8")
    assert "Nothing in this audit" in text and '<ol class="actions">' not in text


def test_first_screen_holds_the_verdict_lifts_figure_and_actions_before_any_section(rendered):
    _, text, _ = rendered
    order = [text.index(marker) for marker in ('aria-label="verdict"', 'id="lifts-figure"', 'id="next"',
                                                '<section id="lifts">')]
    assert order == sorted(order)


def test_the_comparison_sets_sections_side_by_side_in_the_report_words(tmp_path):
    from memgap.report import compare_runs

    before = build_run_folder(tmp_path / "before")
    after = build_run_folder(tmp_path / "after", seen=(0.2, 0.03), unseen=(0.16, 0.03), omit=("gradients",))
    text = compare_runs(before, after, tmp_path / "cmp")["html"].read_text(encoding="utf-8")
    tables = tables_of(text)
    assert all(not DOTTED_KEY.match(row[0]) for t in tables for row in t["rows"])
    (concentration,) = [t for t in tables if t["rows"][0][0] == "How concentrated the families are"]
    assert concentration["rows"][0] == ["How concentrated the families are", "before", "after"]
    assert "rows in the largest 10 % of families" in [row[0] for row in concentration["rows"]]
    (pressure,) = [t for t in tables if t["rows"][0][0] == "where"]
    assert all(row[2] == "—" for row in pressure["rows"][1:])  # the second run has no gradient summary


@pytest.mark.parametrize("turns, fold, dropped", [("all", 0, []), ("last", 3, ["r-07", "r-19"])])
def test_the_data_section_states_the_rules_that_shaped_the_data(tmp_path, turns, fold, dropped):
    run_dir = build_run_folder(tmp_path / "rules")
    audit = json.loads((run_dir / "audit.json").read_text())
    audit["data"]["rendering"] = {
        "assistant_turns": turns, "system_turn": "fold" if fold else "keep", "folded_system_turns": fold,
        "overlong_rows": {"policy": "drop" if dropped else "error", "max_length": 512, "dropped": len(dropped),
                          "ids": dropped}}
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    paths = render_report(run_dir)
    for text in (paths["md"].read_text(encoding="utf-8"), html.unescape(paths["html"].read_text(encoding="utf-8"))):
        data = text[text.index("Data and families"):].replace("\\_", "_")  # Markdown escapes underscores
        data = data[:data.index("Family sizes")]  # the section's body, before its plot
        learned = "every assistant turn" if turns == "all" else "only the final assistant turn"
        assert learned in data and ("TRL's assistant-only loss" in data) == (turns == "all")
        assert "scores the final assistant turn" in data
        if fold:
            assert f"folded into the first user turn (data.system_turn: fold): {fold} rows" in data
        else:
            assert "no system turn was folded" in data
        if dropped:
            assert f"over-long: {len(dropped)}" in data and all(i in data for i in dropped)
        else:
            assert "over-long: none" in data


def test_an_undefined_p_value_is_shown_as_undefined_with_its_reason(tmp_path):
    run_dir = build_run_folder(tmp_path / "few")
    audit = json.loads((run_dir / "audit.json").read_text())
    note = "with 5 or fewer families no 95 % sign-flip interval exists: this hold-out has 1"
    audit["lifts"]["score"]["unseen"].update(ci_low=None, ci_high=None, p_value=None, n_families=1, note=note)
    (run_dir / "audit.json").write_text(json.dumps(audit), encoding="utf-8")
    markdown = render_report(run_dir)["md"].read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith("|") and "unseen families" in line
               and "undefined" in line)
    assert row.count("undefined") >= 2  # the interval and the p-value
    assert note in markdown
