"""`run_audit`: the nested hold-out protocol end to end, one resumable stage after another.

Read top to bottom, it is the method: load the data and its families; hold out whole families
(unseen) and one sibling of each training family (seen); evaluate the base model; train a LoRA
adapter once; evaluate the adapter; compare the lifts on both hold-outs with family-clustered
statistics; probe for copying and membership; decide a verdict; write audit.json and the report.
Evaluation, statistics, probes, verdict and writing are the stages `memgap audit` shares
(memgap.stages); this file adds the split and the training.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memgap import splits
from memgap.atomic import sha256_file, write_json_atomic
from memgap.audit_document import assemble_audit
from memgap.config import AuditConfig
from memgap.data.io import read_records, write_jsonl
from memgap.data.records import Record
from memgap.run_folder import Stages, settings_fingerprint
from memgap.errors import MemgapError
from memgap.evaluation.rows import EvaluationRow
from memgap.probes.noop import check_adapter_changes_something, probe_token_ids
from memgap.stages import (
    RunContext, SplitParts, check_scorer_setting, evaluate_stage, finish_audit, load_model, membership_sample,
    plan_precision_for, scorer_name, statistics_and_probes,
)
from memgap.stages import check_probe_settings, off_task_stage
from memgap.training.schedule import schedule_warnings

log = logging.getLogger(__name__)


def run_audit(config: AuditConfig, *, fresh: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the whole audit for one seed into `config.out` (resuming finished stages); return audit.json's content.

    Raises MemgapError for every input mistake before the first stage is written, and for a config
    that lists several seeds (`memgap.multiseed.run_multi_seed` runs those).
    """
    if config.seeds and len(config.seeds) > 1:
        raise MemgapError(f"the config lists {len(config.seeds)} seeds; run_audit runs one: call "
                          "memgap.multiseed.run_multi_seed (what `memgap run --seeds` does)")
    check_scorer_setting(config)  # a mistyped scorer fails here, before any stage is written
    check_probe_settings(config)  # and a broken --off-task file
    run_dir = Path(config.out)
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    run = RunContext(config, run_dir, Stages(run_dir, settings_fingerprint(_resume_relevant(config))), progress)
    run.stages.check_compatible()

    # Everything a user can get wrong is checked before the first stage is written: the data, the
    # model, and every row rendered by its chat template and tokenizer (memgap.preflight).
    data_path = _data_path(config)
    records, family_source = _stage_families(config, data_path)
    log.info("loading model %s", config.model.name or "(embedded SmolLM2-135M-Instruct)")
    loaded = load_model(config, progress=progress)
    run = dataclasses.replace(run, precision=plan_precision_for(config, loaded.model, trains=True))
    _check_lora_targets(config, loaded)
    rendered = _render_every_row(config, loaded, records)
    records = rendered.records
    parts, save_split = _split(config, records, run_dir, run.stages)
    log.info(
        "%d rows in %d families (%s); training on %d rows, seen-family hold-out %d, unseen-family hold-out %d",
        len(records), len({r.family for r in records}), family_source, len(parts.train), len(parts.seen_holdout),
        len(parts.unseen_holdout),
    )
    membership = membership_sample(config, parts)
    train_examples = _training_examples(config, loaded, parts.train, rendered)
    warnings = schedule_warnings(len(train_examples), config.training)
    scorer = scorer_name(config, records)
    if save_split is not None:
        save_split()
    holdouts = parts.evaluated(membership)
    base_rows = evaluate_stage(run, loaded.model, label="base", tokenizer=loaded.tokenizer, holdouts=holdouts,
                               scorer=scorer)
    curve_sets = _curve_sets(config, parts.seen_holdout, parts.unseen_holdout, membership)
    train_result = _stage_train(run, loaded, train=parts.train, examples=train_examples, curve_sets=curve_sets,
                                start_rows=_curve_rows(curve_sets, base_rows, 0))
    # Training that left the adapter unchanged is said so in one line, not evaluated into a `no-lift` (memgap.probes.noop).
    noop_warning = check_adapter_changes_something(
        train_result.model, probe_token_ids(loaded.tokenizer, [*parts.seen_holdout, *parts.unseen_holdout],
                                            config.model.max_length),
        allow_noop=config.probes.allow_noop, where=str(run_dir / "training" / "adapter"))
    if noop_warning:
        log.warning("%s", noop_warning)
        warnings = [*(warnings or []), noop_warning]
    # the adapter as saved, loaded as `memgap audit` loads it: the same figures, bit for bit (memgap.training.precision)
    adapter_rows = evaluate_stage(run, train_result.model, label="adapter", tokenizer=loaded.tokenizer,
                                  holdouts=holdouts, scorer=scorer)

    _, figures, probes = statistics_and_probes(run, base_rows, adapter_rows, parts=parts)
    probes["template_intrusion"] = off_task_stage(run, train_result.model, loaded.tokenizer, train=parts.train)
    audit = assemble_audit(config, data_path=data_path, records=records, family_source=family_source, parts=parts,
                           loaded=loaded, scorer_name=scorer, train_result=train_result, figures=figures,
                           probes=probes, run_dir=run_dir, stages=run.stages)
    audit["warnings"] = warnings
    audit["precision"] = run.precision.to_dict()
    audit["data"]["rendering"] = rendered.facts()
    audit["training_curves"] = _training_curves(config, run_dir, curve_sets, base_rows, adapter_rows, train_result.steps,
                                                stopping=train_result.stopping)
    return finish_audit(run, audit)


# -- stages ---------------------------------------------------------------------------------------


def _stage_families(config: AuditConfig, data_path: Path) -> tuple[list[Record], str]:
    from memgap.families import assign_families

    records = read_records(data_path, family_field=config.data.family_field,
                           require_family=not config.data.infer_families)  # a missing family names file and line
    return assign_families(records, infer=config.data.infer_families, family_field=config.data.family_field)


def _render_every_row(config: AuditConfig, loaded, records: list[Record]):
    """Every row through the chat template and tokenizer once (see memgap.preflight)."""
    from memgap.preflight import apply_system_turn, render_every_row

    records, folded = apply_system_turn(records, config.data.system_turn)
    if folded:
        log.info("folded the system turn into the first user turn in %d rows (data.system_turn: fold)", folded)
    return render_every_row(
        loaded.tokenizer, records, max_length=config.model.max_length, assistant_turns=config.training.assistant_turns,
        overlong_rows=config.data.overlong_rows, system_turn=config.data.system_turn, folded_system_turns=folded,
    )


def _split(config: AuditConfig, records: list[Record], run_dir: Path, stages: Stages) -> tuple[SplitParts, Any]:
    """The nested split, capped to the run's size, computed in memory, and a callable that saves it
    with a manifest of counts and hashes (None when there is nothing to save).

    A resumed run reads the saved split back, so it trains and evaluates on exactly the same rows.
    """
    from memgap.preflight import apply_system_turn

    folder = run_dir / "split"
    parts = ("train", "seen_holdout", "unseen_holdout")
    if stages.done("split") and all((folder / f"{name}.jsonl").exists() for name in parts):
        saved = [read_records(folder / f"{name}.jsonl", family_field=config.data.family_field) for name in parts]
        return SplitParts(*(apply_system_turn(part, config.data.system_turn)[0] for part in saved)), None
    started = time.perf_counter()
    split = splits.nested_split(
        records,
        unseen_fraction=config.split.unseen_holdout_fraction,
        seen_per_family=config.split.seen_holdout_per_family,
        seed=config.seed,
    )
    splits.check_split(records, split)  # capping below only drops rows, so no family can cross sides after it
    seen = splits.spread_over_families(split.seen_holdout, config.split.max_holdout_items, config.seed)
    unseen = splits.spread_over_families(split.unseen_holdout, config.split.max_holdout_items, config.seed)
    train = splits.cap_rows(split.train, config.split.max_train_rows, config.seed, keep_families={r.family for r in seen})
    capped = splits.NestedSplit(train, seen, unseen, seed=config.seed, parameters={
        **split.parameters, "max_train_rows": config.split.max_train_rows,
        "max_holdout_items": config.split.max_holdout_items,
    })

    def save() -> None:
        splits.write_split(capped, folder, input_sha256=sha256_file(_data_path(config)), family_field=config.data.family_field)
        stages.mark_done("split", time.perf_counter() - started)

    return SplitParts(train, seen, unseen), save


def _stage_train(run: RunContext, loaded, *, train: Sequence[Record], examples,
                 curve_sets: dict[str, list[Record]] | None = None, start_rows=()):
    """Train the adapter once (resuming from its last checkpoint), or load it when already trained.

    With `curve_sets` (seen_holdout, unseen_holdout, train_sample records) a `FamilyGapCallback`
    scores them at step 0 and `training.curve_points` evenly spaced steps into training/family_gap.csv.
    Under `training.stop_at` (best-unseen, onset) it also stops training by that rule and restores the
    best point's weights before the adapter is saved; `start_rows` (the base model's curve rows) are
    its step 0, and the last step is scored too, as the audit's adapter is then the restored one.
    """
    from memgap.training.sft import load_trained, reload_as_saved, train_lora

    config, stages = run.config, run.stages
    training_dir = run.run_dir / "training"
    if stages.done("train") and (training_dir / "adapter").exists():
        return load_trained(loaded, training_dir)
    log.info("training the LoRA adapter on %d rows", len(train))
    callbacks = []
    if curve_sets:
        from memgap.training.curves_callback import FamilyGapCallback

        callbacks.append(FamilyGapCallback(
            curve_sets["seen_holdout"], curve_sets["unseen_holdout"], train_sample=curve_sets["train_sample"],
            path=training_dir / "family_gap.csv", tokenizer=loaded.tokenizer, max_length=config.model.max_length,
            eval_points=config.training.curve_points,
            alpha=config.stats.alpha,  # the first and last points come from the base and adapter evaluations
            evaluate_at_start=False, evaluate_at_end=False, precision=run.precision.evaluation.value,
        ) if config.training.stop_at == "end" else FamilyGapCallback(
            curve_sets["seen_holdout"], curve_sets["unseen_holdout"], train_sample=curve_sets["train_sample"],
            path=training_dir / "family_gap.csv", tokenizer=loaded.tokenizer, max_length=config.model.max_length,
            eval_points=config.training.curve_points, alpha=config.stats.alpha, evaluate_at_start=False,
            evaluate_at_end=True, precision=run.precision.evaluation.value, stop_at=config.training.stop_at,
            patience=config.training.stop_patience, start_rows=start_rows,
            min_generalization_ratio=config.verdict.min_generalization_ratio,
        ))
    started = time.perf_counter()
    result = train_lora(
        loaded, train,
        lora=config.lora, training=config.training, max_length=config.model.max_length,
        output_dir=training_dir, seed=config.seed, resume=True, progress=run.progress, examples=examples,
        callbacks=callbacks, precision=run.precision.training,
    )
    if callbacks:  # what the curve points cost, so every audit reports it beside the training time
        write_json_atomic(training_dir / "curves_cost.json",
                          {"evaluation_seconds": callbacks[0].seconds, "training_seconds": result.seconds})
    stages.mark_done("train", time.perf_counter() - started)
    return reload_as_saved(result, training_dir)


def _curve_sets(config: AuditConfig, seen, unseen, train_sample) -> dict[str, list[Record]] | None:
    """The records the training curves score: a family-spread sample of each hold-out and of the training rows."""
    if config.training.curve_points < 1:
        return None
    size = config.training.curve_holdout_items
    return {
        "seen_holdout": splits.spread_over_families(seen, size, config.seed),
        "unseen_holdout": splits.spread_over_families(unseen, size, config.seed),
        "train_sample": splits.spread_over_families(train_sample, config.training.curve_train_items, config.seed)
        if config.training.curve_train_items else [],
    }


def _curve_rows(curve_sets: dict[str, list[Record]] | None, evaluated: Sequence[EvaluationRow], step: int):
    """The curve items' NLLs among an evaluation's rows, as `CurveRow`s of `step` (none with curves off)."""
    from memgap.curves import CurveRow

    if curve_sets is None:
        return []
    names = {"seen": "seen_holdout", "unseen": "unseen_holdout", "train": "train_sample"}
    wanted = {(holdout, record.id) for holdout, records in curve_sets.items() for record in records}
    return [CurveRow(step, names[row.holdout], row.id, str(row.family), float(row.nll), row.n_tokens)
            for row in evaluated if row.holdout in names and (names[row.holdout], row.id) in wanted and row.n_tokens]


def _training_curves(config: AuditConfig, run_dir: Path, curve_sets: dict[str, list[Record]] | None,
                     base_rows: Sequence[EvaluationRow], adapter_rows: Sequence[EvaluationRow],
                     steps: int, stopping: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """audit.json's `training_curves` from training/family_gap.csv, with step 0 and the last step taken
    from the base-model and adapter evaluations of the curve items (None with curves off or < 2 points).

    Under a stopping rule (`stopping`, from FamilyGapCallback) the audited adapter is the restored
    step's, so every trained point, the last included, comes from family_gap.csv, and `stopping`
    joins the curves with what the final adapter scored at its curve point."""
    from memgap.curves import CurveRow, read_family_gap, training_curves, write_family_gap

    if curve_sets is None:
        return None
    path = run_dir / "training" / "family_gap.csv"
    rows = read_family_gap(path) if path.exists() else []
    names = {"seen": "seen_holdout", "unseen": "unseen_holdout", "train": "train_sample"}
    wanted = {(holdout, record.id) for holdout, records in curve_sets.items() for record in records}

    def points(evaluated, step):
        return [CurveRow(step, names[row.holdout], row.id, str(row.family), float(row.nll), row.n_tokens)
                for row in evaluated
                if row.holdout in names and (names[row.holdout], row.id) in wanted and row.n_tokens]

    if stopping is None:
        rows = [*points(base_rows, 0), *(row for row in rows if 0 < row.step < steps), *points(adapter_rows, steps)]
    else:  # the callback scored the last step: the audit's adapter is the restored one
        rows = [*points(base_rows, 0), *(row for row in rows if 0 < row.step <= steps)]
    write_family_gap(path, rows)  # with step 0, as FamilyGapCallback writes it in other scripts
    curves = training_curves(rows, alpha=config.stats.alpha,
                             min_generalization_ratio=config.verdict.min_generalization_ratio,
                             n_resamples=min(config.stats.n_resamples, 2000), seed=config.seed)
    cost_file = run_dir / "training" / "curves_cost.json"
    if curves is not None and cost_file.exists():
        cost = json.loads(cost_file.read_text(encoding="utf-8"))
        without = cost["training_seconds"] - cost["evaluation_seconds"]
        # The points scored during training against the same training without them (the first and
        # last points come from the audit's own evaluations and cost nothing extra).
        curves["cost"] = {**cost, "evaluation_seconds_per_training_second": cost["evaluation_seconds"] / without if without > 0 else None}
    if curves is not None and stopping is not None:
        from memgap.training.stopping import stopping_summary

        curves["stopping"] = stopping_summary(stopping)
    return curves



def _training_examples(config: AuditConfig, loaded, train: Sequence[Record], rendered):
    """The training rows' encodings (rendered up front); estimate training memory and time, warning
    when the run will not fit. The encoded rows go on to training."""
    from memgap.encoding import require_some_completion
    from memgap.resources import estimate_training

    examples = [rendered.examples[record.id] for record in train]
    require_some_completion(examples, config.model.max_length)
    lengths = [len(example.input_ids) for example in examples]
    model_config = loaded.model.config
    estimate = estimate_training(
        n_parameters=loaded.n_parameters,
        hidden_size=getattr(model_config, "hidden_size", 768),
        n_layers=getattr(model_config, "num_hidden_layers", 12),
        vocab_size=getattr(model_config, "vocab_size", 32000),
        batch_size=config.training.batch_size,
        sequence_length=max(lengths, default=1),
        train_tokens=sum(lengths),
        epochs=config.training.epochs,
    )
    log.info("training estimate: %.1f GB peak memory, about %.0f minutes", estimate.peak_memory_bytes / 1e9, estimate.seconds / 60)
    if not estimate.fits_in_memory:
        log.warning(
            "training may not fit in memory: about %.1f GB needed, %.1f GB available; lower training.batch_size or model.max_length",
            estimate.peak_memory_bytes / 1e9, (estimate.available_memory_bytes or 0) / 1e9,
        )
    if estimate.seconds > 3600:
        log.warning("training may take about %.1f hours on this machine; use --quick or lower split.max_train_rows", estimate.seconds / 3600)
    return examples


# -- small helpers --------------------------------------------------------------------------------


def _data_path(config: AuditConfig) -> Path:
    if config.data.path:
        return Path(config.data.path)
    from memgap.domains.tenacious import default_data_path

    return default_data_path()


def _check_lora_targets(config: AuditConfig, loaded) -> None:
    """Fail on LoRA targets that match nothing before any evaluation time is spent."""
    from memgap.training.sft import lora_targets

    lora_targets(loaded.model, config.lora)


def _resume_relevant(config: AuditConfig) -> dict[str, Any]:
    settings = config.to_dict()
    settings.pop("out", None)
    return settings
