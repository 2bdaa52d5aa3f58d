"""Rendering a run folder's saved artefacts into report.md and report.html, without recomputing.

`render_report(run_dir)` reads audit.json (validated) and the optional artefacts, builds one list
of sections (tables, figures, examples, notes) and renders it twice: report.html, a single file with
images as base64 data URIs, inline CSS and no script; and report.md, with its images as PNG files
in `report_files/` next to it. A part whose data are missing is replaced by a one-line note.
"""
from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import os

from markupsafe import Markup

from memgap.atomic import write_bytes_atomic

from memgap.report import sections
from memgap.report.artifacts import RunArtifacts, load_run
from memgap.report.formatting import MarkdownText, figure_notes, interval, md_cell, md_escape, number, p_value, signed

LABEL_STYLES = {
    "generalizes": ("Generalizes", "good"),
    "memorizes-families": ("Memorizes families", "bad"),
    "no-lift": ("No lift", "neutral"),
    "inconclusive": ("Inconclusive", "warn"),
}
FILES_DIR = "report_files"
CODE_FENCE = "`" * 3


def render_report(run_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write DIR/report.md (+ DIR/report_files/*.png) and DIR/report.html from DIR's artefacts; return their paths."""
    run = load_run(run_dir)
    context = report_context(run)
    return write_documents(Path(run_dir), "report", context, files_dir=FILES_DIR)


def report_context(run: RunArtifacts) -> dict[str, Any]:
    """Everything the report templates print, built from a run's artefacts."""
    audit = run.audit
    return {
        "title": "memgap audit",
        "facts": _header_facts(audit),
        "verdict": verdict_view(audit.get("verdict") or {}),
        "key_table": key_figures_table(audit),
        "sections": sections.all_sections(run),
    }


def verdict_view(verdict: dict[str, Any]) -> dict[str, Any]:
    label = verdict.get("label", "inconclusive")
    title, tone = LABEL_STYLES.get(label, (label, "neutral"))
    return {"label": label, "title": title, "tone": tone, "claim": verdict.get("claim", ""),
            "reasons": list(verdict.get("reasons") or []), "to_settle": verdict.get("to_settle"),
            "primary_metric": verdict.get("primary_metric")}


def key_figures_table(audit: dict[str, Any]) -> dict[str, Any]:
    """Base, adapter, lift, family-clustered CI and p per metric and hold-out, then the gap and the ratio."""
    rows = []
    metrics = audit.get("metrics") or {}
    primary = (audit.get("verdict") or {}).get("primary_metric")
    ordered = sorted(audit.get("lifts") or {}, key=lambda m: (m != primary, m))
    for metric in ordered:
        lifts = audit["lifts"][metric]
        for holdout in ("seen", "unseen"):
            s = lifts.get(holdout) or {}
            means = (metrics.get(metric) or {}).get(holdout) or {}
            rows.append([sections.metric_title(metric, audit), sections.HOLDOUT_NAMES[holdout], number(means.get("base")),
                         number(means.get("adapter")), signed(s.get("delta")), interval(s), p_value(s.get("p_value")),
                         number(s.get("n")), number(s.get("n_families"))])
        gap = (audit.get("gap") or {}).get(metric)
        if isinstance(gap, dict):
            rows.append([sections.metric_title(metric, audit), "gap (seen − unseen)", "", "", signed(gap.get("delta")),
                         interval(gap), p_value(gap.get("p_value")), "", ""])
        ratio = (audit.get("generalization_ratio") or {}).get(metric)
        if isinstance(ratio, dict):
            ratio_ci = "—" if ratio.get("ci_low") is None or ratio.get("ci_high") is None else \
                f"{number(ratio['ci_low'])} to {number(ratio['ci_high'])}"
            rows.append([sections.metric_title(metric, audit), "ratio (unseen / seen)", "", "", number(ratio.get("ratio")),
                         ratio_ci, "", "", ""])
    return {"header": ["metric", "hold-out", "base", "adapter", "lift", "CI (family-clustered)", "p", "items", "families"],
            "rows": rows, "caption": " ".join(figure_notes(audit)) or None, "compact": False}


def _header_facts(audit: dict[str, Any]) -> list[tuple[str, str]]:
    model = audit.get("model") or {}
    data = audit.get("data") or {}
    facts = [("model", model.get("name")), ("data", data.get("path")), ("scorer", data.get("scorer")),
             ("seed", audit.get("seed")), ("created", audit.get("created_utc")), ("memgap", audit.get("memgap_version"))]
    return [(key, str(value)) for key, value in facts if value not in (None, "")]


# -- writing ----------------------------------------------------------------------------------------


@functools.cache
def environments():
    """Jinja2 environments: HTML with autoescape on; Markdown escaping every printed value via `finalize`."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    loader = PackageLoader("memgap.report", "templates")
    html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # Autoescape on in Markdown too, so that macro output (Markup) is not escaped twice; `finalize` swaps
    # HTML escaping for Markdown escaping on every other value.
    markdown = Environment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True, finalize=_md_finalize)
    markdown.filters["cell"] = md_cell
    markdown.filters["verbatim"] = _verbatim
    return html, markdown


def _verbatim(text: Any) -> MarkdownText:
    # For a fenced code block, where Markdown shows text literally; only a closing fence could escape it.
    return MarkdownText(str(text).replace(CODE_FENCE, "'" * 3))


def _md_finalize(value: Any) -> Markup:
    if isinstance(value, Markup):  # a macro's output, already rendered from escaped pieces
        return value
    # MarkdownText is already escaped (md_escape returns it as is); anything else is escaped here.
    return Markup(md_escape("" if value is None else value))


def write_documents(out_dir: Path, stem: str, context: dict[str, Any], *, files_dir: str) -> dict[str, Path]:
    """Render `stem`.html.j2 and `stem`.md.j2 with `context`; Markdown images go to out_dir/files_dir."""
    html_env, md_env = environments()
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = [block for section in context["sections"] for block in section["blocks"] if block["kind"] == "figure"]
    image_dir = out_dir / files_dir
    if figures:
        image_dir.mkdir(exist_ok=True)
    for stale in image_dir.glob("*.png") if image_dir.is_dir() else ():
        if stale.name not in {f"{block['name']}.png" for block in figures}:
            stale.unlink()
    for block in figures:
        block["data_uri"] = "data:image/png;base64," + base64.b64encode(block["png"]).decode("ascii")
        block["file"] = MarkdownText(f"{files_dir}/{block['name']}.png")  # our own name: letters, digits, _
        write_bytes_atomic(out_dir / block["file"], block["png"])
    html = html_env.get_template(f"{stem}.html.j2").render(**context)
    markdown = md_env.get_template(f"{stem}.md.j2").render(**context)
    paths = {"html": out_dir / f"{stem}.html", "md": out_dir / f"{stem}.md"}
    write_bytes_atomic(paths["html"], html.encode("utf-8"))
    write_bytes_atomic(paths["md"], markdown.encode("utf-8"))
    return paths
