"""Two audits side by side (e.g. before and after de-augmenting the data): compare.html and compare.md.

Reads each run folder's audit.json (validated) and prints the verdicts, lifts, gaps, ratios,
family concentration, training pressure and probes next to each other, with the change from the
first run to the second. Nothing is recomputed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from memgap.report import plots, sections
from memgap.report.artifacts import RunArtifacts, load_audit
from memgap.report.blocks import HOLDOUT_NAMES, figure, metric_title, note, section, table
from memgap.report.formatting import estimate_p_value, interval, is_number, signed
from memgap.report.render import verdict_view, write_documents

FILES_DIR = "compare_files"


def compare_runs(dir1: str | os.PathLike[str], dir2: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write out_dir/compare.html and out_dir/compare.md setting the audits of two run folders side by side."""
    audits = [load_audit(dir1), load_audit(dir2)]
    names = run_names(Path(dir1), Path(dir2))
    context = compare_context(names, audits)
    return write_documents(Path(out_dir), "compare", context, files_dir=FILES_DIR)


def run_names(first: Path, second: Path) -> list[str]:
    """Short labels for the two runs: folder names, or enough of their paths to tell them apart."""
    a, b = first.resolve(), second.resolve()
    if a.name != b.name:
        return [a.name, b.name]
    return [str(first), str(second)] if str(first) != str(second) else [f"{first} (1)", f"{second} (2)"]


def compare_context(names: list[str], audits: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": "memgap comparison",
        "runs": [{"name": name, "verdict": verdict_view(audit.get("verdict") or {}),
                  "model": str((audit.get("model") or {}).get("name", "—")),
                  "data": str((audit.get("data") or {}).get("path", "—"))}
                 for name, audit in zip(names, audits)],
        "key_table": lifts_table(names, audits),
        "sections": [
            lifts_figures(names, audits),
            *[side_by_side(names, [build(RunArtifacts(run_dir=Path("."), audit=audit)) for audit in audits],
                           [isinstance(audit.get(key), dict) for audit in audits])
              for build, key in SIDE_BY_SIDE],
            probes_side_by_side(names, audits),
        ],
    }


def lifts_table(names: list[str], audits: list[dict[str, Any]]) -> dict[str, Any]:
    """Lift (CI, p) of each run per metric and hold-out, the gap and the ratio, and the change between runs."""
    metrics = sorted({m for audit in audits for m in (audit.get("lifts") or {})}, key=lambda m: (m != "score", m))
    rows = []
    for metric in metrics:
        title = metric_title(metric, audits[0])
        for holdout in ("seen", "unseen"):
            estimates = [((a.get("lifts") or {}).get(metric) or {}).get(holdout) for a in audits]
            rows.append([title, HOLDOUT_NAMES[holdout], *[_estimate(s) for s in estimates], _change(estimates)])
        gaps = [(a.get("gap") or {}).get(metric) for a in audits]
        rows.append([title, "gap (seen − unseen)", *[_estimate(s) for s in gaps], _change(gaps)])
        ratios = [(a.get("generalization_ratio") or {}).get(metric) for a in audits]
        ratio_values = [r.get("ratio") if isinstance(r, dict) else None for r in ratios]
        rows.append([title, "ratio (unseen / seen)", *[f"{v:.2f}" if is_number(v) else "—" for v in ratio_values],
                     f"{ratio_values[1] - ratio_values[0]:+.2f}" if all(is_number(v) for v in ratio_values) else "—"])
    return {"header": ["metric", "", *names, "change"], "rows": rows, "caption": None, "compact": False}


def _estimate(s: Any) -> str:
    if not isinstance(s, dict) or not is_number(s.get("delta")):
        return "—"
    return f"{signed(s['delta'])} ({interval(s)}, p {estimate_p_value(s)})"


def _change(estimates: list[Any]) -> str:
    deltas = [s.get("delta") if isinstance(s, dict) else None for s in estimates]
    return signed(deltas[1] - deltas[0]) if all(is_number(d) for d in deltas) else "—"


def lifts_figures(names: list[str], audits: list[dict[str, Any]]) -> dict:
    metrics = sorted({m for audit in audits for m in (audit.get("lifts") or {})}, key=lambda m: (m != "score", m))
    runs = list(zip(names, [a.get("lifts") or {} for a in audits]))
    blocks = [figure(f"lifts_{''.join(c if c.isalnum() else '_' for c in metric)}",
                     plots.compare_lifts_figure(runs, metric, metric_title(metric, audits[0])),
                     f"Lifts of both runs, {metric}") for metric in metrics]
    return section("lifts", "Lifts", blocks or [note("Neither audit holds lifts.")])


# The report's own section builders, run on each audit alone (no run-folder files), set side by side.
SIDE_BY_SIDE = ((sections.data_section, "families"), (sections.gradients_section, "gradients"),
                (sections.updates_section, "updates"), (sections.training_section, "training"),
                (sections.split_section, "split"))


def side_by_side(names: list[str], built: list[dict], present: list[bool]) -> dict:
    """One report section of both runs in one place, in the report's words.

    Two-column tables (a figure per named row) are joined by row name into one column per run;
    wider tables get a first column naming the run. Figures and notes are left to each run's report.
    """
    identifier, title = built[0]["id"], built[0]["title"]
    missing = [name for name, here in zip(names, present) if not here]
    if len(missing) == len(names):
        return section(identifier, title, [note(f"Neither audit holds a {title.lower()} section.")])
    tables: dict[str, dict[str, list]] = {}
    for run, built_section in enumerate(built):
        for block in built_section["blocks"]:
            if block["kind"] == "table":
                tables.setdefault(block["header"][0] if block["header"] else "", {}).setdefault("runs", []).append(
                    (run, block))
    blocks: list[dict | None] = [note(f"Not in the audit of {', '.join(missing)}.") if missing else None]
    for name, entry in tables.items():
        runs = entry["runs"]
        if all(len(block["header"]) == 2 for _, block in runs):
            values = [{} for _ in names]
            for run, block in runs:
                values[run].update({row[0]: row[1] for row in block["rows"]})
            keys = list(dict.fromkeys(key for value in values for key in value))
            blocks.append(table([name, *names], [[key, *[value.get(key, "—") for value in values]] for key in keys]))
        else:
            header = runs[0][1]["header"]
            blocks.append(table(["run", *header], [[names[run], *row] for run, block in runs for row in block["rows"]]))
    return section(identifier, title, blocks)


def probes_side_by_side(names: list[str], audits: list[dict[str, Any]]) -> dict:
    probes = [a.get("probes") if isinstance(a.get("probes"), dict) else {} for a in audits]
    keys = list(dict.fromkeys(k for p in probes for k, v in p.items()
                              if isinstance(v, dict) and is_number(v.get("adapter")) and is_number(v.get("base"))))
    rows = []
    for key in keys:
        cells = []
        for p in probes:
            rate = p.get(key)
            cells.append(f"{100 * rate['base']:.1f} % → {100 * rate['adapter']:.1f} %"
                         if isinstance(rate, dict) and is_number(rate.get("base")) and is_number(rate.get("adapter")) else "—")
        rows.append([key.replace("_", " ") + " (base → adapter)", *cells])
    aucs = [((p.get("membership") or {}) if isinstance(p.get("membership"), dict) else {}).get("auc") for p in probes]
    if any(is_number(a) for a in aucs):
        rows.append(["membership AUC", *[f"{a:.2f}" if is_number(a) else "—" for a in aucs]])
    if not rows:
        return section("probes", "Probes", [note("Neither audit holds probes.")])
    return section("probes", "Probes", [table(["", *names], rows)])
