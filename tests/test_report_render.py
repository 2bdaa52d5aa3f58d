"""report.md and report.html from a synthetic run folder: self-contained, escaped, tolerant of missing parts."""
from __future__ import annotations

import base64
import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures.run_folder import IMG, OPTIONAL_PARTS, SCRIPT, build_run_folder
from memgap.errors import MemgapError
from memgap.report import render_report
from memgap.report.formatting import copied_pieces, escape_controls, highlight_html, highlight_md, md_escape, points_interval

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Tags(HTMLParser):
    """Every start tag with its attributes, to check what the page could execute or fetch."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse_tags(text: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    run_dir = build_run_folder(tmp_path_factory.mktemp("run") / "audit-run", hostile=True)
    return run_dir, render_report(run_dir)


def test_writes_both_documents_and_the_markdown_images(hostile_run):
    run_dir, paths = hostile_run
    assert paths["html"] == run_dir / "report.html" and paths["html"].stat().st_size > 0
    assert paths["md"] == run_dir / "report.md" and paths["md"].stat().st_size > 0
    markdown = paths["md"].read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(linked) >= 8
    for link in linked:
        assert (run_dir / link).read_bytes().startswith(PNG_SIGNATURE)


def test_html_is_self_contained(hostile_run):
    _, paths = hostile_run
    text = paths["html"].read_text(encoding="utf-8")
    assert 'src="http' not in text and "<link" not in text and "<script src" not in text
    assert "url(" not in text and "@import" not in text
    tags = parse_tags(text)
    images = [attrs for tag, attrs in tags if tag == "img"]
    assert len(images) >= 8
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix)
        assert base64.b64decode(attrs["src"][len(prefix):], validate=True).startswith(PNG_SIGNATURE)
        assert attrs.get("alt")
    for tag, attrs in tags:
        assert tag != "script"
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not any(str(value).startswith(("http:", "https:", "//")) for value in attrs.values() if value)


def test_hostile_text_is_escaped_everywhere(hostile_run):
    run_dir, paths = hostile_run
    text = paths["html"].read_text(encoding="utf-8")
    assert SCRIPT not in text and IMG not in text
    assert html.escape(SCRIPT, quote=False) in text  # shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    # Family names, ids, generations and the claim all carry the payload; none became a tag.
    assert not [tag for tag, attrs in parse_tags(text) if tag == "img" and attrs.get("src") == "x"]
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


def test_headline_shows_the_saved_verdict(hostile_run):
    run_dir, paths = hostile_run
    audit = json.loads((run_dir / "audit.json").read_text())
    text = paths["html"].read_text(encoding="utf-8")
    headline = text[text.index('aria-label="verdict"'):text.index("</section>")]
    assert audit["verdict"]["claim"] in html.unescape(headline)
    assert "Memorizes families" in headline


def test_copied_spans_are_highlighted_from_escaped_pieces(hostile_run):
    run_dir, paths = hostile_run
    audit = json.loads((run_dir / "audit.json").read_text())
    example = audit["probes"]["examples"][0]
    start, end = example["copied_spans"][1]
    copied = example["generation"][start:end]
    text = paths["html"].read_text(encoding="utf-8")
    assert f"<mark>{html.escape(copied, quote=True)}</mark>" in text


def test_probe_differences_carry_their_family_clustered_interval(hostile_run):
    markdown = hostile_run[1]["md"].read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines()
            if line.startswith("| ") and "generations" in line}
    assert "+5.0 to +29.0 pts (p 0.01)" in rows["generations with a verbatim training span"]
    assert rows["generations copying a training sibling"].rstrip(" |").endswith("—")  # no interval recorded: a dash, not a made-up one
    assert points_interval({"ci_low": -1e-17, "ci_high": 0.5, "p_value": 0.2}) == "+0.0 to +50.0 pts (p 0.20)"


def test_rendering_is_deterministic(hostile_run):
    run_dir, paths = hostile_run
    first_html, first_md = paths["html"].read_bytes(), paths["md"].read_bytes()
    again = render_report(run_dir)
    assert again["html"].read_bytes() == first_html
    assert again["md"].read_bytes() == first_md


def test_missing_optional_parts_become_notes(tmp_path):
    run_dir = build_run_folder(tmp_path / "bare", omit=OPTIONAL_PARTS)
    paths = render_report(run_dir)
    text = paths["html"].read_text(encoding="utf-8")
    for expected in ("No gradient summary", "training/gradnorms.csv is not in the run folder", "No probes in this audit",
                     "Single seed", "No power analysis", "No per-family lifts", "updates.csv is not in the run folder",
                     "predictions.jsonl is not in the run folder"):
        assert expected in text, expected
    assert "Lifts" in text and "report_files/lifts.png" in paths["md"].read_text()


def test_a_malformed_optional_file_is_reported_and_its_stale_image_removed(hostile_run, tmp_path):
    run_dir = Path(shutil.copytree(hostile_run[0], tmp_path / "copy"))
    assert (run_dir / "report_files" / "gradient_heatmap.png").exists()
    (run_dir / "training" / "gradnorms.csv").write_text("step,layer,module\n1,0,q_proj\n", encoding="utf-8")
    (run_dir / "predictions.jsonl").write_text('{"id": "a"}\nnot json\n', encoding="utf-8")
    text = render_report(run_dir)["html"].read_text(encoding="utf-8")
    assert "missing column(s) group, matrix, norm" in text
    assert "predictions.jsonl could not be read: line 2" in text
    assert not (run_dir / "report_files" / "gradient_heatmap.png").exists()


def test_missing_or_invalid_audit_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(MemgapError, match="audit.json"):
        render_report(tmp_path)
    (tmp_path / "audit.json").write_text("{\n  \"schema_version\": \"1\",\n  oops\n}", encoding="utf-8")
    with pytest.raises(MemgapError) as error:
        render_report(tmp_path)
    assert str(tmp_path / "audit.json") + ":3" in str(error.value)
    assert "\n" not in str(error.value)


def test_copied_pieces_merge_overlaps_and_drop_bad_spans():
    pieces = copied_pieces("abcdefghij", [[2, 5], [4, 7], [9, 99], [-3, 1], [6, 2], ["x", 3], [True, 4]])
    assert pieces == [("a", True), ("b", False), ("cdefg", True), ("hi", False), ("j", True)]


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)).map(list), max_size=5))
def test_highlighting_keeps_the_text_and_escapes_it(text, spans):
    pieces = copied_pieces(text, spans)
    assert "".join(piece for piece, _ in pieces) == text
    rendered = str(highlight_html(text, spans))
    # The text comes back whole, control characters (other than tab and newline) as visible \xNN escapes.
    assert html.unescape(rendered.replace("<mark>", "").replace("</mark>", "")) == escape_controls(text)
    assert "<" not in rendered.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in highlight_md(text, spans)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in rendered + highlight_md(text, spans))


@given(st.text(max_size=80))
def test_md_escape_leaves_no_html_or_table_breaks(text):
    escaped = md_escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert re.search(r"(?<!\\)\|", escaped) is None
