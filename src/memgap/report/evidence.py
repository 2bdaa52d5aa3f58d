"""The report's evidence sections: the probes (copying, verbatim spans, facts, membership) and examples.

Builders in the same shape as sections.py: each takes the run's artefacts and returns one section
whose body a reader reads and whose appendix holds the full figures.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from memgap.report import plots
from memgap.report.artifacts import RunArtifacts
from memgap.report.membership_evidence import intrusion_blocks, low_fpr_blocks, set_level_blocks
from memgap.report.blocks import figure, holdout_names, named_figures, note, paragraph, raw_table, section, table
from memgap.report.formatting import (
    copied_pieces, highlight_html, highlight_md, is_number, number, percent, points_interval,
)


def probes_section(run: RunArtifacts) -> dict:
    """Copy rates of base and adapter with family-clustered intervals, and the membership probe."""
    probes = run.audit.get("probes")
    if not isinstance(probes, dict) or not probes:
        return section("probes", "Probes", [note("No probes in this audit (copying, verbatim spans, membership).")])
    rows = []
    for key, value in probes.items():
        if isinstance(value, dict) and is_number(value.get("base")) and is_number(value.get("adapter")):
            rows.append([PROBE_NAMES.get(key, key.replace("_", " ")), percent(value["base"]), percent(value["adapter"]),
                         f"{100 * (value['adapter'] - value['base']):+.1f} pts",
                         points_interval(((value.get("adapter_minus_base") or {}).get("seen")))])
    blocks: list[dict | None] = [
        paragraph("Sibling copying: the share of generations that reproduce text of a training sibling of the item. "
                  "Verbatim spans: long spans copied from any training row. Carried-over facts: facts of a sibling "
                  "that do not belong to the item. Membership: how well loss separates training rows from held-out rows."),
        table(["probe", "base", "adapter", "difference", "family-clustered CI (p)"], rows,
              ("Evaluation rows with a training sibling." if run.audit.get("protocol") == "observational"
               else "Seen-family hold-out.") + " The interval resamples whole families: siblings' generations are "
              "not independent.") if rows else note("No copy-rate probes recorded."),
    ]
    membership = probes.get("membership")
    if isinstance(membership, dict):
        blocks.append(membership_figures(membership))
    curves, aucs = membership_curves(membership, run.membership)
    blocks.append(figure("membership_roc", plots.membership_roc_figure(curves, aucs), "Membership inference ROC curve")
                  or note(run.notes.get("membership.jsonl", "No membership ROC recorded.")))
    blocks += low_fpr_blocks(membership)  # TPR at 1 % and 0.1 % FPR, EZ-MIA, log-FPR ROC
    blocks += set_level_blocks(probes.get("set_level_membership"))
    blocks += intrusion_blocks(probes.get("template_intrusion"))
    return section("probes", "Probes", blocks, appendix=[
        raw_table(probes, "Probes", skip=("examples", "roc", "by_score", "low_fpr", "families")),
        raw_table(membership.get("by_score"), "Membership, every score") if isinstance(membership, dict) else None,
    ])


PROBE_NAMES = {
    "sibling_copy_rate": "generations copying a training sibling",
    "verbatim_span_rate": "generations with a verbatim training span",
    "carried_over_fact_rate": "generations carrying a sibling's facts",
}


def membership_figures(membership: dict) -> dict | None:
    """The membership probe's headline figures, named in words."""
    auc, low, high = membership.get("auc"), membership.get("auc_ci_low"), membership.get("auc_ci_high")
    auc_text = None
    if is_number(auc):
        auc_text = number(auc) + (f" ({number(low)} to {number(high)})" if is_number(low) and is_number(high) else "")
    return named_figures("Membership inference (training rows vs unseen-family rows)", [
        ("AUC (0.5: cannot tell them apart)", auc_text),
        ("true positives at 1 % false positives", percent(membership["tpr_at_1pct_fpr"])
         if is_number(membership.get("tpr_at_1pct_fpr")) else None),
        ("training rows scored", number(membership["n_members"]) if is_number(membership.get("n_members")) else None),
        ("unseen-family rows scored", number(membership["n_nonmembers"]) if is_number(membership.get("n_nonmembers")) else None),
        ("score", membership.get("method") if isinstance(membership.get("method"), str) else None),
    ])


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
    """Base and adapter generations side by side per hold-out, copied spans highlighted."""
    audit = run.audit
    probes = audit.get("probes") if isinstance(audit.get("probes"), dict) else {}
    # The probe records telling examples of both models; the adapter's are the ones shown with copied spans.
    examples = [e for e in probes.get("examples") or []
                if isinstance(e, dict) and "id" in e and str(e.get("model", "adapter")) == "adapter"]
    if not run.predictions and not examples:
        return section("examples", "Examples", [note(run.notes.get("predictions.jsonl", "No generations recorded."))])
    per_holdout = int(((audit.get("config") or {}).get("probes") or {}).get("examples_per_holdout", 3) or 3)
    pairs: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    holdout_of: dict[str, str] = {}
    for row in run.predictions or []:
        pairs[(str(row.get("holdout")), str(row.get("id")))][str(row.get("model"))] = row
        holdout_of.setdefault(str(row.get("id")), str(row.get("holdout")))
    blocks: list[dict | None] = [paragraph(
        "Generations of the base model and the adapter for the same prompt. Highlighted (bold in Markdown): spans of "
        "the adapter's generation copied from a training sibling (from the copying probe). Control characters are "
        "shown as \\xNN escapes.")]
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
        name = holdout_names(audit)[holdout]
        blocks.append({"kind": "examples", "title": name[0].upper() + name[1:], "items": items}
                      if items else note(f"No examples {'from ' if name.endswith('families') else ''}{name}."))
    return section("examples", "Examples", blocks)


def _example_item(example: dict, models: dict[str, dict]) -> dict:
    base, adapter = models.get("base") or {}, models.get("adapter") or {}
    # predictions.jsonl holds the adapter's own generation; the probe example's text is the fallback.
    if adapter and isinstance(adapter.get("generation"), str):
        text = adapter["generation"]
    else:
        text = example.get("generation") if isinstance(example.get("generation"), str) else ""
    spans = example.get("copied_spans") or []
    if isinstance(example.get("generation"), str) and example["generation"] != text:
        spans = []  # spans index the probe's text; never mark offsets of another string
    base_text = str(base.get("generation", "")) if base else ""
    copied = sum(len(piece) for piece, flag in copied_pieces(text, spans) if flag)
    return {
        "id": str(example["id"]), "family": str(example.get("family") or adapter.get("family") or base.get("family") or "—"),
        "sibling": str(example["sibling_id"]) if example.get("sibling_id") is not None else None,
        "base_html": highlight_html(base_text, []), "base_md": highlight_md(base_text, []),
        "adapter_html": highlight_html(text, spans), "adapter_md": highlight_md(text, spans),
        "base_score": number(base.get("score")), "adapter_score": number(adapter.get("score")),
        "copied": f"{100 * copied / len(text):.0f} % of characters copied" if text and copied else None,
        "has_base": bool(base), "has_copied": bool(copied),
    }


