"""Rendering a run folder's saved artefacts into report.md and report.html, without recomputing.

`render_report(run_dir)` reads audit.json (validated) and the optional artefacts, builds the first
screen (verdict, lifts figure, next actions: actions.py) and one list of sections (sections.py,
evidence.py) and renders them twice: report.html, a single file with
images as base64 data URIs, inline CSS and no script; and report.md, with its images as PNG files
in `report_files/` next to it. A part whose data are missing is replaced by a one-line note.
"""
from __future__ import annotations

import base64
import functools
import os
from pathlib import Path
from typing import Any

from markupsafe import Markup

from memgap.atomic import write_bytes_atomic

from memgap.report import plots, sections
from memgap.report.actions import next_actions, nothing_to_do
from memgap.report.artifacts import RunArtifacts, load_run
from memgap.report.blocks import LABEL_STYLES, actions_block, figure, metric_title
from memgap.report.formatting import MarkdownText, md_cell, md_escape

FILES_DIR = "report_files"
CODE_FENCE = "`" * 3


def render_report(run_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write DIR/report.md (+ DIR/report_files/*.png) and DIR/report.html from DIR's artefacts; return their paths."""
    run = load_run(run_dir)
    context = report_context(run)
    return write_documents(Path(run_dir), "report", context, files_dir=FILES_DIR)


def report_context(run: RunArtifacts) -> dict[str, Any]:
    """Everything the report templates print, built from a run's artefacts.

    The first screen holds the verdict, the lifts figure and the next actions; then the sections
    (sections.SECTION_BUILDERS) and, collapsed, each section's full figures.
    """
    audit = run.audit
    titles = {metric: metric_title(metric, audit) for metric in audit.get("lifts") or {}}
    lifts = figure("lifts", plots.lifts_figure(audit.get("lifts") or {}, titles, audit.get("gap")),
                   "Lifts with confidence intervals on eval rows with and without a training sibling"
                   if audit.get("protocol") == "observational" else "Lifts with confidence intervals on seen and unseen families",
                   "Points: lift; bars: family-clustered confidence interval; grey: the gap (seen minus unseen).")
    body = sections.all_sections(run)
    return {
        "title": "memgap audit",
        "facts": _header_facts(audit),
        "verdict": verdict_view(audit.get("verdict") or {}),
        "lifts_figure": lifts,
        "actions": actions_block(next_actions(audit), {section["id"]: section["title"] for section in body},
                                 nothing_to_do(audit)),
        "sections": body,
    }


def verdict_view(verdict: dict[str, Any]) -> dict[str, Any]:
    """The verdict as the templates print it: label, its title and colour, the claim, reasons, what would settle it."""
    label = verdict.get("label", "inconclusive")
    title, tone = LABEL_STYLES.get(label, (label, "neutral"))
    return {"label": label, "title": title, "tone": tone, "claim": verdict.get("claim", ""),
            "reasons": list(verdict.get("reasons") or []), "to_settle": verdict.get("to_settle"),
            "primary_metric": verdict.get("primary_metric")}


def _header_facts(audit: dict[str, Any]) -> list[tuple[str, str]]:
    model = audit.get("model") or {}
    data = audit.get("data") or {}
    facts = [("model", model.get("name")), ("adapter", model.get("adapter")), ("data", data.get("path")), ("scorer", data.get("scorer")),
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
    blocks = [context.get("lifts_figure")] + [block for section in context["sections"]
                                              for block in (*section["blocks"], *section.get("appendix", ()))]
    figures = [block for block in blocks if block is not None and block["kind"] == "figure"]
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
