"""The report's membership evidence at low false-positive rates, per family, and off the task.

Blocks for the probes section (memgap.report.evidence): TPR at 1 % and 0.1 % FPR of every
membership score with its family-clustered interval and the ROC on a log FPR axis
(memgap.probes.low_fpr, memgap.probes.reference); the set-level test per family
(memgap.probes.set_level); template intrusion and the generic-text NLL cost (memgap.probes.intrusion).
"""
from __future__ import annotations

from typing import Any

from memgap.report import plots
from memgap.report.blocks import figure, named_figures, note, paragraph, table
from memgap.report.formatting import is_number, number, percent

SCORE_LABELS = {
    "loss": "loss (raw)", "min_k": "Min-K% (raw)", "min_k_pp": "Min-K%++ (raw)",
    "loss_calibrated": "loss − base", "min_k_calibrated": "Min-K% − base", "min_k_pp_calibrated": "Min-K%++ − base",
    "ez": "EZ-MIA (base as reference)",
}


def _tpr_cell(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "—"
    if not is_number(entry.get("value")):
        return "undefined" if entry.get("note") else "—"
    text = percent(entry["value"])
    if is_number(entry.get("ci_low")) and is_number(entry.get("ci_high")):
        text += f" ({percent(entry['ci_low'])} to {percent(entry['ci_high'])})"
    return text


def low_fpr_blocks(membership: Any) -> list[dict | None]:
    """A table of TPR at 1 % and 0.1 % FPR per score, the note on FPR resolution, and the log-FPR ROC."""
    low = membership.get("low_fpr") if isinstance(membership, dict) else None
    if not isinstance(low, dict) or not low.get("by_score"):
        return []
    rows = []
    for label, entry in low["by_score"].items():
        rows.append([SCORE_LABELS.get(label, label), number(entry["auc"]) if is_number(entry.get("auc")) else "—",
                     _tpr_cell(entry.get("tpr_at_1pct_fpr")), _tpr_cell(entry.get("tpr_at_0_1pct_fpr")),
                     percent(entry["tpr_at_zero_fpr"]) if is_number(entry.get("tpr_at_zero_fpr")) else "—"])
    notes = sorted({entry[key]["note"] for entry in low["by_score"].values()
                    for key in ("tpr_at_1pct_fpr", "tpr_at_0_1pct_fpr")
                    if isinstance(entry.get(key), dict) and entry[key].get("note")})
    best = low.get("best_at_1pct")
    curves = {SCORE_LABELS.get(label, label): (curve["fpr"], curve["tpr"]) for label, curve in (low.get("roc") or {}).items()
              if label in ("loss", "loss_calibrated", "min_k_pp_calibrated", "ez") and isinstance(curve, dict)}
    return [
        table(["score", "AUC", "TPR at 1 % FPR (95 % CI)", "TPR at 0.1 % FPR (95 % CI)", "TPR at 0 FPR"], rows,
              "Training rows vs unseen-family rows. Intervals resample whole families within each class. "
              + (f"Best at 1 % FPR: {SCORE_LABELS.get(best, best)}." if best else "")),
        *(note(text) for text in notes),
        figure("membership_low_fpr", plots.membership_low_fpr_figure(curves, low.get("fpr_resolution")),
               "Membership ROC on a log false-positive axis",
               "Where detection at 1 % and 0.1 % false positives shows; the left edge is half the FPR resolution "
               "(1/n non-members)."),
    ]


def set_level_blocks(set_level: Any) -> list[dict | None]:
    """The pooled set-level test and the families whose membership is detectable."""
    if not isinstance(set_level, dict):
        return []
    if not set_level.get("pooled"):
        return [note(f"Set-level membership: {set_level.get('note') or 'not tested'}.")]
    pooled = set_level["pooled"]
    detectable = set_level.get("detectable_families") or []
    alpha = set_level.get("alpha", 0.05)
    blocks: list[dict | None] = [
        paragraph("Set-level membership (dataset inference, Maini et al. 2024): each training family's scored rows "
                  "against its held-out siblings, with the membership scores combined; a permutation test within each "
                  "family, pooled over families. On families the adapter never trained on it rejects at most "
                  f"{percent(alpha)} of the time."),
        named_figures("Set-level membership", [
            ("families tested", number(set_level.get("n_families"))),
            ("pooled difference (members − siblings, z units)", number(pooled["difference"])
             if is_number(pooled.get("difference")) else None),
            ("pooled p-value", number(pooled["p_value"]) if is_number(pooled.get("p_value")) else None),
            ("families whose membership is detectable (Holm)", ", ".join(map(str, detectable)) if detectable else "none"),
        ]),
    ]
    if set_level.get("note"):
        blocks.append(note(set_level["note"]))
    return blocks


def intrusion_blocks(intrusion: Any) -> list[dict | None]:
    """Template intrusion on off-task prompts and the NLL cost on generic text, adapter against base."""
    if not isinstance(intrusion, dict):
        return []
    if intrusion.get("skipped"):
        return [note(f"Template intrusion: {intrusion['skipped']}.")]
    rate = intrusion.get("intrusion_rate") or {}
    difference = intrusion.get("adapter_minus_base") or {}
    cost = intrusion.get("generic_nll") or {}
    interval = None
    if is_number(difference.get("delta")):
        interval = f"{100 * difference['delta']:+.1f} pts"
        if is_number(difference.get("ci_low")) and is_number(difference.get("ci_high")):
            interval += f" ({100 * difference['ci_low']:+.1f} to {100 * difference['ci_high']:+.1f})"
        if is_number(difference.get("p_value")):
            interval += f", p = {number(difference['p_value'])}"
    nll_text = None
    if is_number(cost.get("adapter_minus_base")):
        nll_text = f"{cost['adapter_minus_base']:+.3f} nats/token"
        if is_number(cost.get("ci_low")) and is_number(cost.get("ci_high")):
            nll_text += f" ({cost['ci_low']:+.3f} to {cost['ci_high']:+.3f})"
    return [
        paragraph("Template intrusion: off-task prompts (everyday questions unrelated to the task) answered by both "
                  "models; an answer intrudes when it carries a span characteristic of the training completions "
                  "(an n-gram frequent in them and absent from the base's answers). Generic-text NLL: what the "
                  "adapter costs outside its task."),
        named_figures("Template intrusion", [
            ("off-task prompts", number(intrusion.get("n_prompts"))),
            ("base answers intruded", percent(rate["base"]) if is_number(rate.get("base")) else None),
            ("adapter answers intruded", percent(rate["adapter"]) if is_number(rate.get("adapter")) else None),
            ("adapter − base (95 % CI)", interval),
            ("generic-text NLL, adapter − base", nll_text),
            ("seconds", number(intrusion.get("seconds")) if is_number(intrusion.get("seconds")) else None),
        ]),
        table(["adapter answer (excerpt)", "characteristic spans"],
              [[example["answer"][:160], ", ".join(example["spans"][:4])] for example in intrusion.get("examples") or []],
              "Adapter answers to off-task prompts that carry training spans.") if intrusion.get("examples") else None,
    ]
