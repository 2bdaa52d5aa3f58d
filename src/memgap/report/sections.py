"""The report's sections as plain data: titles and blocks (paragraphs, notes, tables, figures, examples).

Both templates (HTML and Markdown) print the same blocks, so the two documents cannot drift apart.
Every section tolerates its data being absent: it then holds a one-line note saying what is missing.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from memgap.report import plots
from memgap.report.artifacts import RunArtifacts
from memgap.report.formatting import (
    copied_pieces, highlight_html, highlight_md, interval, is_number, number, p_value, percent, points_interval, signed,
)

HOLDOUT_NAMES = {"seen": "seen families", "unseen": "unseen families"}
METRIC_TITLES = {"score": "score", "nll": "NLL reduction"}


def metric_title(metric: str, audit: dict[str, Any]) -> str:
    if metric == "score":
        scorer = (audit.get("data") or {}).get("scorer")
        return f"score ({scorer})" if scorer else "score"
    return METRIC_TITLES.get(metric, metric)


def paragraph(text: str) -> dict:
    return {"kind": "paragraph", "text": text}


def note(text: str) -> dict:
    return {"kind": "note", "text": text}


def table(header: list[str], rows: list[list[Any]], caption: str | None = None, *, compact: bool = False) -> dict:
    """A table; `compact` ones (key/value lists) sit side by side in HTML."""
    return {"kind": "table", "header": header, "rows": [[str(cell) for cell in row] for row in rows], "caption": caption,
            "compact": compact}


def figure(name: str, png: bytes | None, alt: str, caption: str | None = None) -> dict | None:
    return None if png is None else {"kind": "figure", "name": name, "png": png, "alt": alt, "caption": caption}


def section(identifier: str, title: str, blocks: list[dict | None]) -> dict:
    return {"id": identifier, "title": title, "blocks": [block for block in blocks if block is not None]}


def key_values(data: Any, *, skip: tuple[str, ...] = (), depth: int = 3) -> list[list[str]]:
    """Scalar entries of a (nested) dict as [dotted key, value] rows; long lists and lists of objects are left out."""
    rows: list[list[str]] = []

    def walk(value: Any, prefix: str, level: int) -> None:
        if isinstance(value, dict):
            if level >= depth:
                return
            for key in value:
                if key not in skip:
                    walk(value[key], f"{prefix}.{key}" if prefix else str(key), level + 1)
        elif isinstance(value, list):
            if len(value) <= 12 and all(not isinstance(v, (dict, list)) for v in value):
                rows.append([prefix, ", ".join(number(v) for v in value) or "(none)"])
        elif not (isinstance(value, str) and len(value) > 200):
            rows.append([prefix, number(value) if not isinstance(value, str) else value])

    walk(data, "", 0)
    return rows


def kv_table(data: Any, title: str | None = None, *, skip: tuple[str, ...] = ()) -> dict | None:
    rows = key_values(data, skip=skip)
    return table([title or "", "value"], rows, compact=True) if rows else None


def sentences(data: Any) -> list[dict]:
    """Any 'sentence' or 'summary' strings a section carries, as paragraphs."""
    if not isinstance(data, dict):
        return []
    return [paragraph(data[key]) for key in ("sentence", "summary") if isinstance(data.get(key), str) and data[key]]


def all_sections(run: RunArtifacts) -> list[dict]:
    audit = run.audit
    return [
        lifts_section(audit), per_family_section(audit), data_section(audit), split_section(audit),
        training_section(run), gradients_section(run), updates_section(run), probes_section(run),
        examples_section(run), multi_seed_section(audit), power_section(audit), reproducibility_section(audit),
    ]


def lifts_section(audit: dict) -> dict:
    titles = {metric: metric_title(metric, audit) for metric in audit.get("lifts") or {}}
    blocks: list[dict | None] = [
        paragraph("Lift is how much better the adapter does than the base model: adapter minus base for the score, "
                  "base minus adapter for the NLL of the reference completion. 'Seen families' are held-out members "
                  "of families the adapter trained on; 'unseen families' were held out whole. The gap is the seen "
                  "lift minus the unseen lift: what the adapter gained only on families it saw."),
        figure("lifts", plots.lifts_figure(audit.get("lifts") or {}, titles, audit.get("gap")),
               "Lifts with confidence intervals on seen and unseen families",
               "Points: lift; bars: family-clustered confidence interval; grey: the gap."),
    ]
    rows = []
    for metric, lifts in (audit.get("lifts") or {}).items():
        for holdout in ("seen", "unseen"):
            s = lifts.get(holdout) or {}
            item = s.get("item_level") or {}
            if item:
                rows.append([titles[metric], HOLDOUT_NAMES[holdout], f"{interval(s)} (p {p_value(s.get('p_value'))})",
                             f"{interval(item)} (p {p_value(item.get('p_value'))})"])
    if rows:
        blocks.append(table(["metric", "hold-out", "family-clustered CI", "item-level CI"], rows,
                            "Item-level intervals treat siblings as independent and are too narrow when families "
                            "share augmentations; the verdict uses the family-clustered ones."))
    return section("lifts", "Lifts", blocks)


def per_family_section(audit: dict) -> dict:
    per_family = audit.get("per_family")
    if not isinstance(per_family, dict) or not per_family:
        return section("per-family", "Per-family lifts", [note("No per-family lifts in this audit.")])
    primary = (audit.get("verdict") or {}).get("primary_metric")
    blocks = []
    for metric in sorted(per_family, key=lambda m: (m != primary, m)):
        png = plots.per_family_figure(per_family[metric] or [], f"{metric_title(metric, audit)}: lift per family")
        blocks.append(figure(f"per_family_{_safe_name(metric)}", png, f"Lift per family, {metric}") or
                      note(f"No per-family {metric} lifts to draw."))
    return section("per-family", "Per-family lifts", blocks)


def data_section(audit: dict) -> dict:
    families = audit.get("families") or {}
    return section("data", "Data and families", [
        kv_table(audit.get("data") or {}, "The data set"),
        *sentences(families),
        kv_table(families, "Family concentration", skip=("sentence", "summary", "sizes")),
        figure("family_sizes", plots.family_sizes_figure(family_sizes(families)), "Histogram of family sizes")
        or note("No family sizes recorded."),
    ])


def family_sizes(families: dict) -> list[int]:
    """Rows per family, from the concentration report's `sizes`."""
    sizes = families.get("sizes")
    return [s for s in sizes if is_number(s)] if isinstance(sizes, list) else []


def split_section(audit: dict) -> dict:
    split = audit.get("split") or {}
    rows = [[name.replace("_", " "), number((split.get(name) or {}).get("rows")), number((split.get(name) or {}).get("families"))]
            for name in ("train", "seen_holdout", "unseen_holdout") if isinstance(split.get(name), dict)]
    return section("split", "Split and leakage", [
        table(["part", "rows", "families"], rows) if rows else note("No split sizes recorded."),
        kv_table(split.get("leakage"), "Leakage between training data and hold-outs")
        if isinstance(split.get("leakage"), dict) else note("No leakage audit recorded."),
    ])


def training_section(run: RunArtifacts) -> dict:
    training = run.audit.get("training")
    blocks: list[dict | None] = [kv_table(training, skip=("log_history",)) if isinstance(training, dict)
                                 else note("No training summary in this audit.")]
    png = plots.loss_curve(run.log_history) if run.log_history else None
    blocks.append(figure("loss", png, "Training loss by step") or
                  note(run.notes.get("training/log_history.json", "The training log holds no losses.")))
    blocks += training_curves_blocks(run.audit)
    return section("training", "Training", blocks)


def training_curves_blocks(audit: dict) -> list[dict | None]:
    """Seen-, unseen-family and training-sample NLL over training: the sentence, the figure, the points."""
    curves = audit.get("training_curves")
    if not isinstance(curves, dict):
        return []
    rows = [[point["step"], number(point["seen_holdout"]["mean"]), number(point["unseen_holdout"]["mean"]),
             number((point.get("train_sample") or {}).get("mean")), signed(point["gap"].get("delta")),
             interval(point["gap"]), signed(point["unseen_reduction"].get("delta"))] for point in curves["points"]]
    return [
        paragraph(curves["sentence"]),
        figure("family_gap", plots.family_gap_figure(curves),
               "Seen-family, unseen-family and training-sample NLL over training, with the gap",
               f"Bands: family-clustered {1 - float((curves.get('rule') or {}).get('alpha', 0.05)):.0%} intervals. "
               "Dashed: where the gap opened; dotted: lowest unseen-family loss."),
        table(["step", "seen NLL", "unseen NLL", "training-sample NLL", "gap", "gap CI", "unseen reduction"], rows,
              "NLL in nats per completion token; gap and reduction measured from step 0 (docs/curves.md).", compact=True),
    ]


def summary_blocks(summary, missing: str) -> list[dict | None]:
    """A summary's sentences and its figures as a table, or a note saying it is missing."""
    if not isinstance(summary, dict):
        return [note(missing)]
    return [*sentences(summary), kv_table(summary, skip=("sentence", "summary"))]


def gradients_section(run: RunArtifacts) -> dict:
    blocks = summary_blocks(run.audit.get("gradients"), "No gradient summary in this audit.")
    if run.gradnorms:
        blocks.append(figure("gradient_heatmap", plots.gradient_heatmap(run.gradnorms),
                             "Share of squared gradient norm per layer and module",
                             "Each cell: the module's share of the total squared LoRA gradient norm over training."))
        blocks.append(figure("gradient_groups", plots.group_share_figure(run.gradnorms),
                             "Attention versus MLP share of the squared gradient norm at each step"))
    else:
        blocks.append(note(run.notes.get("training/gradnorms.csv", "No gradient norms recorded.")))
    return section("gradients", "Training pressure (gradient norms)", blocks)


def updates_section(run: RunArtifacts) -> dict:
    blocks = summary_blocks(run.audit.get("updates"), "No update summary in this audit.")
    if run.updates:
        blocks.append(figure("updates", plots.update_norms_figure(run.updates),
                             "Relative norm and effective rank of the realised update per layer and module"))
    else:
        blocks.append(note(run.notes.get("training/updates.csv", "No realised update recorded.")))
    return section("updates", "Realised update", blocks)


def probes_section(run: RunArtifacts) -> dict:
    probes = run.audit.get("probes")
    if not isinstance(probes, dict) or not probes:
        return section("probes", "Probes", [note("No probes in this audit (copying, verbatim spans, membership).")])
    rows = []
    for key, value in probes.items():
        if isinstance(value, dict) and is_number(value.get("base")) and is_number(value.get("adapter")):
            rows.append([key.replace("_", " "), percent(value["base"]), percent(value["adapter"]),
                         f"{100 * (value['adapter'] - value['base']):+.1f} pts",
                         points_interval(((value.get("adapter_minus_base") or {}).get("seen")))])
    blocks: list[dict | None] = [
        paragraph("Sibling copying: the share of generations that reproduce text of a training sibling of the item. "
                  "Verbatim spans: long spans copied from any training row. Carried-over facts: facts of a sibling "
                  "that do not belong to the item. Membership: how well loss separates training rows from held-out rows."),
        table(["probe", "base", "adapter", "difference", "family-clustered CI (p)"], rows,
              "Seen-family hold-out. The interval resamples whole families: siblings' generations are not "
              "independent.") if rows else note("No copy-rate probes recorded."),
    ]
    membership = probes.get("membership")
    if isinstance(membership, dict):
        blocks.append(kv_table(membership, "Membership inference", skip=("roc",)))
    curves, aucs = membership_curves(membership, run.membership)
    blocks.append(figure("membership_roc", plots.membership_roc_figure(curves, aucs), "Membership inference ROC curve")
                  or note(run.notes.get("membership.jsonl", "No membership ROC recorded.")))
    return section("probes", "Probes", blocks)


def membership_curves(membership: Any, rows: list[dict] | None) -> tuple[dict, dict]:
    """ROC curves per model from the audit (`{fpr, tpr}` or `{model: {fpr, tpr}}`), else from membership.jsonl."""
    curves: dict[str, tuple[list, list]] = {}
    aucs: dict[str, float] = {}
    membership = membership if isinstance(membership, dict) else {}
    roc = membership.get("roc")
    if isinstance(roc, dict) and isinstance(roc.get("fpr"), list) and isinstance(roc.get("tpr"), list):
        curves["adapter"] = (roc["fpr"], roc["tpr"])
    elif isinstance(roc, dict):
        for model, curve in roc.items():
            if isinstance(curve, dict) and isinstance(curve.get("fpr"), list) and isinstance(curve.get("tpr"), list):
                curves[str(model)] = (curve["fpr"], curve["tpr"])
    elif rows:
        curves = _curves_from_rows(rows)
    auc = membership.get("auc")
    if is_number(auc):
        aucs["adapter"] = float(auc)
    elif isinstance(auc, dict):
        aucs.update({str(k): float(v) for k, v in auc.items() if is_number(v)})
    return curves, aucs


def _curves_from_rows(rows: list[dict]) -> dict[str, tuple[list, list]]:
    from sklearn.metrics import roc_curve

    by_model: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in rows:
        if isinstance(row.get("member"), bool) and is_number(row.get("loss")):
            labels, scores = by_model[str(row.get("model"))]
            labels.append(row["member"])
            scores.append(-row["loss"])  # lower loss: more likely a training row
    curves = {}
    for model, (labels, scores) in by_model.items():
        if len(set(labels)) == 2:
            fpr, tpr, _ = roc_curve(labels, scores)
            curves[model] = (fpr.tolist(), tpr.tolist())
    return curves


def examples_section(run: RunArtifacts) -> dict:
    audit = run.audit
    probes = audit.get("probes") if isinstance(audit.get("probes"), dict) else {}
    examples = [e for e in probes.get("examples") or [] if isinstance(e, dict) and "id" in e]
    if not run.predictions and not examples:
        return section("examples", "Examples", [note(run.notes.get("predictions.jsonl", "No generations recorded."))])
    per_holdout = int(((audit.get("config") or {}).get("probes") or {}).get("examples_per_holdout", 3) or 3)
    pairs: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    holdout_of: dict[str, str] = {}
    for row in run.predictions or []:
        pairs[(str(row.get("holdout")), str(row.get("id")))][str(row.get("model"))] = row
        holdout_of.setdefault(str(row.get("id")), str(row.get("holdout")))
    blocks: list[dict | None] = [paragraph(
        "Generations of the base model and the adapter for the same prompt. Highlighted: spans of the adapter's "
        "generation copied from a training sibling (from the copying probe).")]
    if not run.predictions:
        blocks.append(note(run.notes.get("predictions.jsonl", "No predictions recorded") + "; showing probe examples only."))
    for holdout in ("seen", "unseen"):
        chosen = [e for e in examples if str(e.get("holdout") or holdout_of.get(str(e["id"]))) == holdout][:per_holdout]
        chosen_ids = {str(e["id"]) for e in chosen}
        for (h, item_id) in sorted(pairs):
            if len(chosen) >= per_holdout:
                break
            if h == holdout and item_id not in chosen_ids:
                chosen.append({"id": item_id, "holdout": holdout})
        items = [_example_item(e, pairs.get((holdout, str(e["id"])), {})) for e in chosen]
        blocks.append({"kind": "examples", "title": HOLDOUT_NAMES[holdout].capitalize(), "items": items}
                      if items else note(f"No examples from {HOLDOUT_NAMES[holdout]}."))
    return section("examples", "Examples", blocks)


def _example_item(example: dict, models: dict[str, dict]) -> dict:
    base, adapter = models.get("base") or {}, models.get("adapter") or {}
    text = example.get("generation") if isinstance(example.get("generation"), str) else str(adapter.get("generation", ""))
    spans = example.get("copied_spans") or []
    base_text = str(base.get("generation", "")) if base else ""
    copied = sum(len(piece) for piece, flag in copied_pieces(text, spans) if flag)
    return {
        "id": str(example["id"]), "family": str(example.get("family") or adapter.get("family") or base.get("family") or "—"),
        "sibling": str(example["sibling_id"]) if example.get("sibling_id") is not None else None,
        "base_html": highlight_html(base_text, []), "base_md": highlight_md(base_text, []),
        "adapter_html": highlight_html(text, spans), "adapter_md": highlight_md(text, spans),
        "base_score": number(base.get("score")), "adapter_score": number(adapter.get("score")),
        "copied": f"{100 * copied / len(text):.0f} % of characters copied" if text and copied else None,
        "has_base": bool(base),
    }


def multi_seed_section(audit: dict) -> dict:
    multi = audit.get("multi_seed")
    if not isinstance(multi, dict) or not multi:
        return section("seeds", "Several seeds", [note("Single seed: run with --seeds to see the spread between seeds.")])
    return section("seeds", "Several seeds", [*sentences(multi), kv_table(multi, skip=("sentence", "summary"))])


def power_section(audit: dict) -> dict:
    power = audit.get("power")
    if not isinstance(power, dict) or not power:
        return section("power", "Power", [note("No power analysis in this audit.")])
    return section("power", "Power", [
        paragraph("How many unseen families an audit needs to detect a gap of the observed size."),
        kv_table(power),
    ])


def reproducibility_section(audit: dict) -> dict:
    return section("reproducibility", "Reproducibility", [
        kv_table(audit.get("model") or {}, "Model"),
        kv_table({"seed": audit.get("seed"), "seeds": audit.get("seeds")}, "Seeds"),
        kv_table(audit.get("versions") or {}, "Versions"),
        kv_table(audit.get("fingerprints") or {}, "Fingerprints (SHA-256)"),
        kv_table(audit.get("timings"), "Timings (seconds)") if isinstance(audit.get("timings"), dict) else None,
        {"kind": "details", "summary": "Configuration", "text": json.dumps(audit.get("config") or {}, indent=2,
                                                                             sort_keys=True, default=str)},
    ])


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)[:40] or "metric"
