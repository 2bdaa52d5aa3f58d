"""The report's sections, each designed for a reader: figures named in words with units, in reading order.

`SECTION_BUILDERS` is the list the report prints, in order; each builder takes the run's artefacts
and returns one section (see blocks.py) whose body holds what matters and whose appendix holds the
full figures under their audit.json keys. A new section is one function added to the list. Every
section tolerates its data being absent: it then holds a one-line note saying what is missing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memgap.report import plots
from memgap.report.artifacts import RunArtifacts
from memgap.report.blocks import (
    LABEL_STYLES, figure, holdout_names, metric_title, named_figures, note, paragraph, raw_table, safe_name, section,
    sentences, table,
)
from memgap.report.data_rules import rendering_sentences
from memgap.report.evidence import examples_section, probes_section
from memgap.report.formatting import estimate_p_value, figure_notes, interval, is_number, number, percent, seconds, signed

PARTS = (("train", "training"), ("seen_holdout", "seen-family hold-out"), ("unseen_holdout", "unseen-family hold-out"))
BAND_NAMES = {"early": "early layers", "middle": "middle layers", "late": "late layers"}
GROUP_NAMES = {"attention": "attention", "mlp": "MLP"}


def all_sections(run: RunArtifacts) -> list[dict]:
    """Every section of the report body, in reading order."""
    return [built for build in SECTION_BUILDERS if (built := build(run)) is not None]


def lifts_section(run: RunArtifacts) -> dict:
    """The key table of lifts, gaps and ratios; item-level intervals in the appendix."""
    audit = run.audit
    rows = []
    for metric, lifts in (audit.get("lifts") or {}).items():
        for holdout in ("seen", "unseen"):
            s = lifts.get(holdout) or {}
            item = s.get("item_level") or {}
            if item:
                rows.append([metric_title(metric, audit), holdout_names(audit)[holdout], f"{interval(s)} (p {estimate_p_value(s)})",
                             f"{interval(item)} (p {estimate_p_value(item)})"])
    if audit.get("protocol") == "observational":
        parts = ("'With a training sibling': evaluation rows whose family has a row in the training data; 'without a "
                 "training sibling': the others. The gap is the first part's lift minus the second's: what the "
                 "adapter gained only where it trained on a sibling.")
    else:
        parts = ("'Seen families' are held-out members of families the adapter trained on; 'unseen families' were "
                 "held out whole. The gap is the seen lift minus the unseen lift: what the adapter gained only on "
                 "families it saw.")
    return section("lifts", "Lifts", [
        paragraph("Lift is how much better the adapter does than the base model: adapter minus base for the score, "
                  "base minus adapter for the NLL of the reference completion. " + parts),
        paragraph(protocol_sentence(audit)),
        key_figures_table(audit),
    ], appendix=[
        table(["metric", "hold-out", "family-clustered CI", "item-level CI"], rows,
              "Item-level intervals treat siblings as independent and are too narrow when families "
              "share augmentations; the verdict uses the family-clustered ones.") if rows else None,
    ])


def key_figures_table(audit: dict[str, Any]) -> dict:
    """Base, adapter, lift, family-clustered CI and p per metric and hold-out, then the gap and the ratio."""
    rows = []
    metrics = audit.get("metrics") or {}
    primary = (audit.get("verdict") or {}).get("primary_metric")
    for metric in sorted(audit.get("lifts") or {}, key=lambda m: (m != primary, m)):
        title = metric_title(metric, audit)
        for holdout in ("seen", "unseen"):
            s = audit["lifts"][metric].get(holdout) or {}
            means = (metrics.get(metric) or {}).get(holdout) or {}
            rows.append([title, holdout_names(audit)[holdout], number(means.get("base")), number(means.get("adapter")),
                         signed(s.get("delta")), interval(s), estimate_p_value(s), number(s.get("n")),
                         number(s.get("n_families"))])
        gap = (audit.get("gap") or {}).get(metric)
        if isinstance(gap, dict):
            rows.append([title, "gap (with − without sibling)" if audit.get("protocol") == "observational"
                         else "gap (seen − unseen)", "", "", signed(gap.get("delta")), interval(gap),
                         estimate_p_value(gap), "", ""])
        ratio = (audit.get("generalization_ratio") or {}).get(metric)
        if isinstance(ratio, dict):
            ratio_ci = "—" if not (is_number(ratio.get("ci_low")) and is_number(ratio.get("ci_high"))) else \
                f"{number(ratio['ci_low'])} to {number(ratio['ci_high'])}"
            rows.append([title, "ratio (without / with sibling)" if audit.get("protocol") == "observational"
                         else "ratio (unseen / seen)", "", "", number(ratio.get("ratio")), ratio_ci, "", "", ""])
    return table(["metric", "hold-out", "base", "adapter", "lift", "CI (family-clustered)", "p", "items", "families"], rows,
                 " ".join(figure_notes(audit)) or None)


def protocol_sentence(audit: dict) -> str:
    """Which protocol made the figures, in one sentence for the report."""
    if audit.get("protocol") == "observational":
        return ("Protocol: observational. The evaluation rows were partitioned after the fact into those with a "
                "training sibling ('seen') and those without ('unseen'); nothing assigned families to the parts at "
                "random, so the gap can also reflect differences between the parts (see 'Comparability of the parts').")
    return ("Protocol: randomized nested hold-out. Families were assigned at random to the unseen hold-out, and "
            "one member of each training family to the seen hold-out, so the two parts differ only by chance.")


def comparability_section(run: RunArtifacts) -> dict | None:
    """The base model on each part of an observational partition, and the test of their difference.

    None (no section) for the randomized protocol, whose parts are comparable by construction.
    """
    audit = run.audit
    comparability = audit.get("comparability")
    if not isinstance(comparability, dict):
        return None
    # The base model's own figures: its NLL, not a reduction (the lifts' "NLL reduction" is base minus adapter).
    rows = [["NLL" if metric == "nll" else metric_title(metric, audit), number(entry.get("seen")), number(entry.get("unseen")),
             f"{interval(entry['difference'])} (p {estimate_p_value(entry['difference'])})"]
            for metric, entry in (comparability.get("base") or {}).items()]
    return section("comparability", "Comparability of the parts", [
        paragraph(comparability.get("sentence", "")),
        table(["base-model metric", "with sibling", "without sibling", "difference, family-clustered CI"], rows)
        if rows else note("No base-model figures on the parts."),
    ])


def per_family_section(run: RunArtifacts) -> dict:
    """Each family's lift, one figure per metric (the primary metric first)."""
    audit = run.audit
    per_family = audit.get("per_family")
    if not isinstance(per_family, dict) or not per_family:
        return section("per-family", "Per-family lifts", [note("No per-family lifts in this audit.")])
    primary = (audit.get("verdict") or {}).get("primary_metric")
    blocks = []
    for metric in sorted(per_family, key=lambda m: (m != primary, m)):
        png = plots.per_family_figure(per_family[metric] or [], f"{metric_title(metric, audit)}: lift per family")
        blocks.append(figure(f"per_family_{safe_name(metric)}", png, f"Lift per family, {metric}") or
                      note(f"No per-family {metric} lifts to draw."))
    return section("per-family", "Per-family lifts", blocks)


def data_section(run: RunArtifacts) -> dict:
    """The data set, the rules that shaped it (turns trained, system turns, over-long rows), how
    concentrated its families are, and a rank plot of family sizes."""
    audit = run.audit
    data, families = audit.get("data") or {}, audit.get("families") or {}
    size = families.get("size") if isinstance(families.get("size"), dict) else {}
    effective = families.get("effective_families") if isinstance(families.get("effective_families"), dict) else {}
    sizes = family_sizes(families)
    histogram = size.get("histogram") if isinstance(size.get("histogram"), dict) else {}
    return section("data", "Data and families", [
        *sentences(families),
        named_figures("The data set", [
            ("file", data.get("path")), ("rows", _n(data.get("rows"))), ("families", _n(data.get("families"))),
            ("family labels", data.get("family_source")), ("scorer", data.get("scorer"))]),
        *[paragraph(text) for text in rendering_sentences(data.get("rendering"))],
        named_figures("How concentrated the families are", [
            ("largest family, rows", _n(size.get("max", max(sizes) if sizes else None))),
            ("median family, rows", _n(size.get("median"))),
            ("rows in the largest 10 % of families", _pct(families.get("largest_10pct_share"))),
            ("effective number of families (inverse Simpson)", _n(effective.get("inverse_simpson"))),
            ("families of one row", _n(families.get("singletons"))),
        ]),
        figure("family_sizes", plots.family_sizes_figure(sizes), "Family sizes by rank, log scale",
               "Each point is a family, largest first; a steep left end means a few families hold most rows.")
        or note("No family sizes recorded."),
    ], appendix=[
        table(["family size, rows", "families"], [[label, number(count)] for label, count in
                                                  sorted(histogram.items(), key=lambda item: _bucket_start(item[0]))])
        if histogram else None,
        raw_table(families, "Family concentration", skip=("sentence", "summary", "sizes")),
    ])


def family_sizes(families: dict) -> list[int]:
    """Rows per family, from the concentration report's `sizes`."""
    sizes = families.get("sizes")
    return [s for s in sizes if is_number(s)] if isinstance(sizes, list) else []


def _bucket_start(label: str) -> float:
    """'17-32' -> 17, '129+' -> 129: histogram buckets in numeric order, not text order."""
    head = str(label).split("-")[0].rstrip("+")
    return float(head) if head.replace(".", "", 1).isdigit() else float("inf")


def split_section(run: RunArtifacts) -> dict:
    """Rows and families per part of the split, and each hold-out's overlap with training."""
    split = run.audit.get("split") or {}
    sizes = [[name, number((split.get(key) or {}).get("rows")), number((split.get(key) or {}).get("families"))]
             for key, name in PARTS if isinstance(split.get(key), dict)]
    leakage = split.get("leakage") if isinstance(split.get("leakage"), dict) else None
    rows = []
    for key, name in PARTS[1:]:
        report = (leakage or {}).get(key)
        if isinstance(report, dict):
            for view, view_name in (("completion_view", "reference completion"), ("whole_row_view", "whole row")):
                figures = report.get(view) if isinstance(report.get(view), dict) else {}
                nearest = figures.get("nearest_train_similarity") or {}
                rows.append([name, view_name, _count_share(report, "eval_rows_with_train_sibling"),
                             _count_share(figures, "eval_rows_with_13gram_overlap"),
                             _count_share(figures, "eval_rows_above_similarity"),
                             number(nearest.get("max") if isinstance(nearest, dict) else None)])
    threshold = next((number(r.get("similarity_threshold")) for r in (leakage or {}).values()
                      if isinstance(r, dict) and r.get("similarity_threshold") is not None), "—")
    return section("split", "Split and leakage", [
        table(["part", "rows", "families"], sizes) if sizes else note("No split sizes recorded."),
        table(["hold-out", "text compared", "rows with a training sibling", "rows sharing a 13-word span with training",
               f"rows above similarity {threshold}", "highest similarity to a training row"], rows,
              "Seen-family rows have training siblings by design; an unseen-family row should have none, and no "
              "hold-out reference should repeat 13 words of a training completion. The reference-completion view "
              "compares what the model learns with training completions; the whole-row view adds the prompt. "
              "Text that most training rows share (a system prompt, a footer) is left out of both.")
        if rows else note("No leakage audit recorded."),
    ], appendix=[raw_table(leakage, "Leakage", skip=("worst_offenders",))])


def _count_share(report: dict, key: str) -> str:
    count, share = report.get(f"{key}_count"), report.get(key)
    if not is_number(count):
        return percent(share)
    return f"{number(count)} ({percent(share)})" if is_number(share) else number(count)


def training_section(run: RunArtifacts) -> dict:
    """The training run in figures (steps, time, loss, curves where recorded) and the loss curve."""
    training = run.audit.get("training")
    curves = run.audit.get("training_curves") if isinstance(run.audit.get("training_curves"), dict) else {}
    onset = curves.get("onset") if isinstance(curves.get("onset"), dict) else {}
    blocks: list[dict | None] = [named_figures("The training run", [
        ("optimizer steps", _n(training.get("steps"))), ("epochs", _n(training.get("epochs"))),
        ("time, seconds", seconds(training.get("seconds"))), ("throughput, tokens per second", _n(training.get("tokens_per_s"))),
        ("training loss, first logged", _n(training.get("train_loss_first"))),
        ("training loss, last logged", _n(training.get("train_loss_last"))),
        ("rows cut at the token limit", _n(training.get("truncated_rows"))),
        ("step with the lowest unseen-family loss", _n(curves.get("best_step"))),
        ("step where the seen-unseen gap opened", _n(onset.get("step"))),
    ]) if isinstance(training, dict) else note("No training summary in this audit.")]
    png = plots.loss_curve(run.log_history) if run.log_history else None
    blocks.append(figure("loss", png, "Training loss by step") or
                  note(run.notes.get("training/log_history.json", "The training log holds no losses.")))
    blocks += training_curves_blocks(run.audit)
    return section("training", "Training", blocks,
                   appendix=[raw_table(training, "Training", skip=("log_history", "curves"))])


def training_curves_blocks(audit: dict) -> list[dict | None]:
    """Seen-, unseen-family and training-sample NLL over training: the sentence, the figure, the points."""
    curves = audit.get("training_curves")
    if not isinstance(curves, dict):
        return []
    # Gap and reduction are measured from step 0, so at step 0 they are nothing to show.
    rows = [[point["step"], number(point["seen_holdout"]["mean"]), number(point["unseen_holdout"]["mean"]),
             number((point.get("train_sample") or {}).get("mean")),
             *(["—", "—", "—"] if point["step"] == 0 else
               [signed(point["gap"].get("delta")), interval(point["gap"]), signed(point["unseen_reduction"].get("delta"))])]
            for point in curves["points"]]
    cost = curves.get("cost") if isinstance(curves.get("cost"), dict) else {}
    cost_sentence = None
    if is_number(cost.get("evaluation_seconds")) and is_number(cost.get("evaluation_seconds_per_training_second")):
        cost_sentence = (f"Scoring the points during training took {seconds(cost['evaluation_seconds'])} s, "
                         f"{percent(cost['evaluation_seconds_per_training_second'])} of the training time without them.")
    stopping = curves.get("stopping") if isinstance(curves.get("stopping"), dict) else {}
    checkpoints = curves.get("checkpoints") if isinstance(curves.get("checkpoints"), dict) else {}
    return [
        paragraph(curves["sentence"]),
        paragraph(cost_sentence) if cost_sentence else None,
        # under training.stop_at: trained to step N of M, restored step K, what the final adapter scored
        paragraph(stopping["sentence"]) if stopping.get("sentence") else None,
        # memgap audit --training-dir with checkpoint-N folders: the curves scored from the checkpoints
        paragraph(checkpoints["sentence"]) if checkpoints.get("sentence") else None,
        figure("family_gap", plots.family_gap_figure(curves, (audit.get("training") or {}).get("log_history")),
               "Seen-family, unseen-family and training NLL over training, with the gap",
               f"Bands: family-clustered {1 - float((curves.get('rule') or {}).get('alpha', 0.05)):.0%} intervals. "
               "Dashed: where the gap opened; dotted: lowest unseen-family loss."),
        table(["step", "seen NLL", "unseen NLL", "training-sample NLL", "gap", "gap CI", "unseen reduction"], rows,
              "NLL in nats per completion token; gap and reduction measured from step 0 (docs/curves.md).", compact=True),
    ]




def gradients_section(run: RunArtifacts) -> dict:
    """Where training pressure went: shares of squared gradient norm by group, layer band and phase."""
    gradients = run.audit.get("gradients")
    blocks: list[dict | None] = []
    if isinstance(gradients, dict):
        blocks += sentences(gradients)
        rows = [[f"{GROUP_NAMES.get(group, group)} (all layers)", percent(share)]
                for group, share in (gradients.get("by_group") or {}).items()]
        bands = gradients.get("by_layer_band") or {}
        for band in sorted(bands, key=lambda name: (list(BAND_NAMES).index(name) if name in BAND_NAMES else 9, name)):
            value = bands[band]
            if isinstance(value, dict):
                layers = value.get("layers")
                span = "" if not (isinstance(layers, list) and layers) else \
                    f", layer {layers[0]}" if layers[0] == layers[-1] else f", layers {layers[0]}–{layers[-1]}"
                rows.append([f"{BAND_NAMES.get(band, band)}{span}", percent(value.get("share"))])
        for phase, value in (gradients.get("over_training") or {}).items():
            if isinstance(value, dict) and isinstance(value.get("steps"), list) and value["steps"]:
                shares = ", ".join(f"{GROUP_NAMES.get(g, g)} {percent(s)}" for g, s in (value.get("by_group") or {}).items())
                rows.append([f"steps {value['steps'][0]}–{value['steps'][-1]} ({phase})", shares])
        blocks.append(table(["where", "share of squared gradient norm"], rows) if rows else None)
    else:
        blocks.append(note(missing_gradients_reason(run.audit)))
    if run.gradnorms:
        blocks.append(figure("gradient_heatmap", plots.gradient_heatmap(run.gradnorms),
                             "Share of squared gradient norm per layer and module",
                             "Each cell: the module's share of the total squared LoRA gradient norm over training."))
        blocks.append(figure("gradient_groups", plots.group_share_figure(run.gradnorms),
                             "Attention versus MLP share of the squared gradient norm at each step"))
    elif isinstance(gradients, dict) or not (run.audit.get("model") or {}).get("adapter"):
        blocks.append(note(run.notes.get("training/gradnorms.csv", "No gradient norms recorded.")))
    return section("gradients", "Training pressure (gradient norms)", blocks,
                   appendix=[raw_table(gradients, "Gradient norms", skip=("sentence", "summary"))])


def missing_gradients_reason(audit: dict[str, Any]) -> str:
    """Why an audit has no gradient summary, and how to get one."""
    how = ("add memgap's GradNormCallback to the Trainer's callbacks (it writes gradnorms.csv into output_dir) "
           "and pass that folder as --training-dir")
    if not (audit.get("model") or {}).get("adapter"):
        return "No gradient summary in this audit."
    training = audit.get("training")
    if not isinstance(training, dict):
        return f"No gradient summary in this audit: no --training-dir was given. To see where training pressure went, {how}."
    source = training.get("source")
    folder = f" ({Path(str(source)).parent})" if source else ""
    return f"No gradient summary in this audit: the training folder{folder} holds no gradnorms.csv. To record one, {how}."


def updates_section(run: RunArtifacts) -> dict:
    """The realised update ΔW per module: its size relative to W and its effective rank."""
    updates = run.audit.get("updates")
    blocks: list[dict | None] = []
    if isinstance(updates, dict):
        largest = updates.get("largest") if isinstance(updates.get("largest"), dict) else {}
        where = f"{largest.get('module')}, layer {largest.get('layer')}" if largest else None
        blocks += [*sentences(updates), named_figures("The realised update ΔW = BA", [
            ("modules adapted", _n(updates.get("modules"))), ("largest relative update", where),
            ("its ‖ΔW‖ / ‖W‖", _n(largest.get("relative_norm"))),
            ("median ‖ΔW‖ / ‖W‖ over modules", _n(updates.get("relative_norm_median"))),
            ("median effective rank", _n(updates.get("effective_rank_median"))),
            *[(f"share of ‖ΔW‖² in {GROUP_NAMES.get(group, group)}", percent(share))
              for group, share in (updates.get("by_group") or {}).items()],
        ])]
    else:
        blocks.append(note("No update summary in this audit."))
    if run.updates:
        blocks.append(figure("updates", plots.update_norms_figure(run.updates),
                             "Relative norm and effective rank of the realised update per layer and module"))
    else:
        blocks.append(note(run.notes.get("training/updates.csv", "No realised update recorded.")))
    return section("updates", "Realised update", blocks,
                   appendix=[raw_table(updates, "Realised update", skip=("sentence", "summary"))])


def multi_seed_section(run: RunArtifacts) -> dict:
    """Lifts, gap and verdict per seed, for audits run with several seeds."""
    audit = run.audit
    multi = audit.get("multi_seed")
    if not isinstance(multi, dict) or not multi:
        return section("seeds", "Several seeds", [note("Single seed: run with --seeds to see the spread between seeds.")])
    primary = (audit.get("verdict") or {}).get("primary_metric") or "score"
    lifts = (multi.get("lifts") or {}).get(primary) or {}
    gaps = (multi.get("gap") or {}).get(primary) or []
    runs = multi.get("runs") or [f"seed {seed}" for seed in multi.get("seeds") or []]
    verdicts = multi.get("verdicts") or {}
    rows = [[name, signed(_at(lifts.get("seen"), i)), signed(_at(lifts.get("unseen"), i)), signed(_at(gaps, i)),
             LABEL_STYLES.get(verdicts.get(name), (str(verdicts.get(name, "—")),))[0]] for i, name in enumerate(runs)]
    return section("seeds", "Several seeds", [
        *([paragraph(multi["note"])] if isinstance(multi.get("note"), str) else sentences(multi)),
        table(["run", "seen lift", "unseen lift", "gap", "verdict"], rows, f"{metric_title(primary, audit)}, per seed.")
        if rows else None,
    ], appendix=[raw_table(multi, "Several seeds", skip=("note", "sentence", "summary"))])


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None


def power_section(run: RunArtifacts) -> dict:
    """How many unseen families would detect the observed gap, and this audit's power for it."""
    audit = run.audit
    power = audit.get("power")
    if not isinstance(power, dict) or not power:
        return section("power", "Power", [note("No power analysis in this audit.")])
    tables = []
    for metric, figures in power.items():
        if not isinstance(figures, dict):
            continue
        target = f"{100 * figures['target_power']:g} %" if is_number(figures.get("target_power")) else "the target"
        tables.append(named_figures(metric_title(metric, audit), [
            ("effect planned for (the observed gap)", signed(figures["effect"]) if is_number(figures.get("effect")) else None),
            (f"unseen families needed for the gap at {target} power", _n(figures.get("families_needed"))),
            (f"families needed for the lift at {target} power", _n(figures.get("families_needed_lift"))),
            ("power of this audit for the gap", _pct(figures.get("power_now_gap"))),
            ("share of variance between families (ICC)", _n(figures.get("icc"))),
            ("mean family size in the hold-out, rows", _n(figures.get("mean_family_size"))),
            ("note", figures.get("note")),
        ]))
    return section("power", "Power", [
        paragraph("How many unseen families an audit needs to detect a gap of the observed size."), *tables,
    ], appendix=[raw_table(power, "Power")])


def reproducibility_section(run: RunArtifacts) -> dict:
    """Model, seeds, versions and stage times; fingerprints and the configuration in the appendix."""
    audit = run.audit
    model = audit.get("model") or {}
    return section("reproducibility", "Reproducibility", [
        named_figures("Model", [
            ("name", model.get("name")), ("source", model.get("source")), ("parameters", _n(model.get("n_parameters"))),
            ("trainable (LoRA) parameters", _n(model.get("trainable_parameters"))),
            ("LoRA targets", ", ".join(model["lora_targets"]) if isinstance(model.get("lora_targets"), list) else None),
            ("seed", _n(audit.get("seed"))),
            ("seeds", ", ".join(str(s) for s in audit["seeds"]) if isinstance(audit.get("seeds"), list) else None),
        ]),
        named_figures("Precision", [
            (name, f"{setting['value']} ({setting['reason']})" if isinstance(setting, dict) else None)
            for name, setting in (("training", (audit.get("precision") or {}).get("training")),
                                  ("evaluation", (audit.get("precision") or {}).get("evaluation")),
                                  ("adapter weights", (audit.get("precision") or {}).get("adapter_weights")))
        ]),
        named_figures("Versions", sorted((str(k), str(v)) for k, v in (audit.get("versions") or {}).items())),
        named_figures("Stage times, seconds", [(str(k), seconds(v)) for k, v in (audit.get("timings") or {}).items()]),
    ], appendix=[
        raw_table(audit.get("fingerprints") or {}, "Fingerprints (SHA-256)"),
        {"kind": "details", "summary": "Configuration", "text": json.dumps(audit.get("config") or {}, indent=2,
                                                                             sort_keys=True, default=str)},
    ])


def _n(x: Any) -> str | None:
    """A figure for a named-figures table; None (left out) where it was not recorded."""
    return None if x is None else number(x)


def _pct(x: Any) -> str | None:
    return percent(x) if is_number(x) else None


# The report body, in reading order; a new section is a builder added here.
SECTION_BUILDERS = (
    lifts_section, comparability_section, per_family_section, data_section, split_section, training_section, gradients_section,
    updates_section, probes_section, examples_section, multi_seed_section, power_section, reproducibility_section,
)
