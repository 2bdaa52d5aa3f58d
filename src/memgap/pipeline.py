"""`run_audit`: the nested hold-out protocol end to end, one resumable stage after another.

Read top to bottom, it is the method: load the data and its families; hold out whole families
(unseen) and one sibling of each training family (seen); evaluate the base model; train a LoRA
adapter once; evaluate the adapter; compare the lifts on both hold-outs with family-clustered
statistics; probe for copying and membership; decide a verdict; write audit.json and the report.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memgap import splits
from memgap.analysis import analyse
from memgap.atomic import sha256_file, write_json_atomic
from memgap.audit_document import assemble_audit, json_ready
from memgap.config import AuditConfig
from memgap.data.io import read_records, write_jsonl
from memgap.data.records import Record
from memgap.run_folder import Stages, settings_fingerprint

log = logging.getLogger(__name__)


def run_audit(config: AuditConfig, *, fresh: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the whole audit into `config.out` (resuming finished stages) and return audit.json's content."""
    if config.seeds and len(config.seeds) > 1:
        from memgap.multiseed import run_multi_seed

        return run_multi_seed(config, fresh=fresh, progress=progress)
    run_dir = Path(config.out)
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    stages = Stages(run_dir, settings_fingerprint(_resume_relevant(config)))
    stages.check_compatible()

    data_path = _data_path(config)
    records, family_source = _stage_families(config, data_path)
    train, seen, unseen = _stage_split(config, records, data_path, run_dir, stages)
    log.info(
        "%d rows in %d families (%s); training on %d rows, seen-family hold-out %d, unseen-family hold-out %d",
        len(records), len({r.family for r in records}), family_source, len(train), len(seen), len(unseen),
    )
    # Training rows for the membership probe, spread over the families that also have a seen
    # hold-out member, so the per-family train-vs-held-out NLL gap can be measured too.
    seen_families = {r.family for r in seen}
    membership_sample = splits.spread_over_families(
        [r for r in train if r.family in seen_families], config.evaluation.membership_train_rows, config.seed
    )

    log.info("loading model %s", config.model.name or "(embedded SmolLM2-135M-Instruct)")
    loaded = _load_model(config, progress)
    _check_lora_targets(config, loaded)
    train_examples = _encode_training_rows(config, loaded, train)
    scorer_name = _scorer_name(config, records)
    subsets = {"seen": seen, "unseen": unseen, "train": membership_sample}
    base_rows = _stage_evaluate("base", loaded.model, loaded, subsets, scorer_name, config, run_dir, stages, progress)
    curve_sets = _curve_sets(config, seen, unseen, membership_sample)
    train_result = _stage_train(config, loaded, train, train_examples, run_dir, stages, progress, curve_sets=curve_sets)
    adapter_rows = _stage_evaluate("adapter", train_result.model, loaded, subsets, scorer_name, config, run_dir, stages, progress)

    rows = base_rows + adapter_rows
    log.info("statistics, probes, verdict and report")
    _write_predictions(run_dir, rows)
    figures = analyse(rows, n_resamples=config.stats.n_resamples, alpha=config.stats.alpha, seed=config.seed)
    probes = _probes(config, train, seen, unseen, rows, run_dir)
    audit = assemble_audit(config, data_path, records, family_source, train, seen, unseen, loaded, scorer_name,
                      train_result, figures, probes, run_dir, stages)
    audit["training_curves"] = _training_curves(config, run_dir, base_rows, adapter_rows, train_result.steps)
    return finish_audit(audit, config, run_dir, stages)


# -- stages ---------------------------------------------------------------------------------------


def _stage_families(config: AuditConfig, data_path: Path) -> tuple[list[Record], str]:
    from memgap.families import assign_families

    records = read_records(data_path, family_field=config.data.family_field)
    return assign_families(records, infer=config.data.infer_families, family_field=config.data.family_field, seed=config.seed)


def _stage_split(config: AuditConfig, records: list[Record], data_path: Path, run_dir: Path, stages: Stages):
    """The nested split, capped to the run's size and saved with a manifest of counts and hashes.

    A resumed run reads the saved split back, so it trains and evaluates on exactly the same rows.
    """
    folder = run_dir / "split"
    parts = ("train", "seen_holdout", "unseen_holdout")
    if stages.done("split") and all((folder / f"{name}.jsonl").exists() for name in parts):
        return tuple(read_records(folder / f"{name}.jsonl", family_field=config.data.family_field) for name in parts)
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
    splits.write_split(capped, folder, input_sha256=sha256_file(data_path), family_field=config.data.family_field)
    stages.mark_done("split", time.perf_counter() - started)
    return train, seen, unseen


def _stage_evaluate(label, model, loaded, subsets, scorer_name, config, run_dir, stages, progress) -> list[dict[str, Any]]:
    """Evaluate one model (base or adapter) on every subset; rows saved to evaluation/<label>.jsonl."""
    from memgap.evaluation.evaluate import evaluate_model, merged_lora
    from memgap.evaluation.scoring import resolve_scorer

    path = run_dir / "evaluation" / f"{label}.jsonl"
    if stages.done(f"evaluate-{label}") and path.exists():
        return [json.loads(line) for line in path.read_text().splitlines()]
    log.info("evaluating the %s model: reference NLL, greedy generation, %s score", label, scorer_name)
    started = time.perf_counter()
    with merged_lora(model):
        rows = evaluate_model(
            model, loaded.tokenizer, subsets,
            model_label=label,
            scorer=resolve_scorer(scorer_name),
            generate_subsets=("seen", "unseen"),
            max_length=config.model.max_length,
            max_new_tokens=config.evaluation.max_new_tokens,
            generation_batch_size=config.evaluation.generation_batch_size,
            nll_batch_size=config.evaluation.nll_batch_size,
            progress=progress,
        )
    write_jsonl(path, rows)
    stages.mark_done(f"evaluate-{label}", time.perf_counter() - started)
    return rows


def _stage_train(config: AuditConfig, loaded, train: Sequence[Record], examples, run_dir: Path, stages: Stages,
                 progress: bool, *, curve_sets: dict[str, list[Record]] | None = None):
    """Train the adapter once (resuming from its last checkpoint), or load it when already trained.

    With `curve_sets` (seen_holdout, unseen_holdout, train_sample records) a `FamilyGapCallback`
    scores them at step 0 and `training.curve_points` evenly spaced steps into training/family_gap.csv.
    """
    from memgap.training.sft import load_trained, train_lora

    training_dir = run_dir / "training"
    if stages.done("train") and (training_dir / "adapter").exists():
        return load_trained(loaded, training_dir)
    log.info("training the LoRA adapter on %d rows", len(train))
    callbacks = []
    if curve_sets:
        from memgap.training.curves_callback import FamilyGapCallback

        callbacks.append(FamilyGapCallback(
            curve_sets["seen_holdout"], curve_sets["unseen_holdout"], train_sample=curve_sets["train_sample"],
            path=training_dir / "family_gap.csv", tokenizer=loaded.tokenizer, max_length=config.model.max_length,
            eval_points=config.training.curve_points, batch_size=config.evaluation.nll_batch_size,
            alpha=config.stats.alpha,  # the first and last points come from the base and adapter evaluations
            evaluate_at_start=False, evaluate_at_end=False,
        ))
    started = time.perf_counter()
    result = train_lora(
        loaded, train,
        lora=config.lora, training=config.training, max_length=config.model.max_length,
        output_dir=training_dir, seed=config.seed, resume=True, progress=progress, examples=examples,
        callbacks=callbacks,
    )
    stages.mark_done("train", time.perf_counter() - started)
    return result


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


def _training_curves(config: AuditConfig, run_dir: Path, base_rows: Sequence[dict[str, Any]],
                     adapter_rows: Sequence[dict[str, Any]], steps: int) -> dict[str, Any] | None:
    """audit.json's `training_curves` from training/family_gap.csv, with step 0 and the last step taken
    from the base-model and adapter evaluations of the same items (None with curves off or < 2 points)."""
    from memgap.curves import CurveRow, read_family_gap, training_curves, write_family_gap

    path = run_dir / "training" / "family_gap.csv"
    if config.training.curve_points < 1:
        return None
    rows = read_family_gap(path) if path.exists() else []
    names = {"seen": "seen_holdout", "unseen": "unseen_holdout", "train": "train_sample"}
    sets = _curve_sets(config, *_evaluated_records(base_rows))
    wanted = {(holdout, record.id) for holdout, records in (sets or {}).items() for record in records}

    def points(evaluated, step):
        return [CurveRow(step, names[row["subset"]], row["id"], str(row["family"]), float(row["nll"]), int(row["n_tokens"]))
                for row in evaluated
                if row["subset"] in names and (names[row["subset"]], row["id"]) in wanted and row.get("n_tokens")]

    rows = [*points(base_rows, 0), *(row for row in rows if 0 < row.step < steps), *points(adapter_rows, steps)]
    write_family_gap(path, rows)  # with step 0, as FamilyGapCallback writes it in other scripts
    return training_curves(rows, alpha=config.stats.alpha,
                           min_generalization_ratio=config.verdict.min_generalization_ratio,
                           n_resamples=min(config.stats.n_resamples, 2000), seed=config.seed)


def _evaluated_records(rows: Sequence[dict[str, Any]]) -> tuple[list[Record], list[Record], list[Record]]:
    """Stand-in records (id, family) of the evaluated seen, unseen and training items, in evaluation order,
    so `_curve_sets` draws the same curve items from them as it drew for training."""
    by_subset: dict[str, list[Record]] = {"seen": [], "unseen": [], "train": []}
    for row in rows:
        if row["subset"] in by_subset:
            by_subset[row["subset"]].append(Record(id=row["id"], completion="", prompt_text="", family=row["family"]))
    return by_subset["seen"], by_subset["unseen"], by_subset["train"]


def _probes(config, train, seen, unseen, rows, run_dir) -> dict[str, Any]:
    from memgap.evaluation.token_stats import TokenStats
    from memgap.probes import membership_rows, run_probes

    generations: dict[str, dict[str, str]] = {"base": {}, "adapter": {}}
    token_stats: dict[str, dict[str, TokenStats]] = {"base": {}, "adapter": {}}
    for row in rows:
        token_stats[row["model"]][row["id"]] = TokenStats.from_dict(row["token_stats"])
        if row.get("generation") is not None:
            generations[row["model"]][row["id"]] = row["generation"]
    kwargs = dict(
        min_span_tokens=config.probes.verbatim_span_tokens,
        examples_per_holdout=config.probes.examples_per_holdout,
        n_resamples=min(config.stats.n_resamples, 2000),
        seed=config.seed,
        alpha=config.stats.alpha,
    )
    probes = run_probes(train, {"seen": seen, "unseen": unseen}, generations, token_stats, **kwargs)
    write_jsonl(run_dir / "membership.jsonl", membership_rows(train, {"seen": seen, "unseen": unseen}, token_stats))
    return probes


# -- writing --------------------------------------------------------------------------------------


def finish_audit(audit: dict[str, Any], config: AuditConfig, run_dir: Path, stages: Stages) -> dict[str, Any]:
    """Decide the verdict, validate, then write audit.json and the report (each atomically)."""
    from memgap.report import render_report
    from memgap.report.schema import validate_audit
    from memgap.verdict import decide

    audit["verdict"] = decide(audit, config.verdict)
    audit = json_ready(audit)
    validate_audit(audit)
    write_json_atomic(run_dir / "audit.json", audit)
    render_report(run_dir)
    stages.mark_done("report", 0.0)
    return audit


def _write_predictions(run_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    keep = ("id", "family", "subset", "model", "nll", "n_tokens", "generation", "score", "checks")
    predictions = [
        {("holdout" if key == "subset" else key): row.get(key) for key in keep}
        for row in rows
        if row["subset"] in ("seen", "unseen")
    ]
    write_jsonl(run_dir / "predictions.jsonl", predictions)


def _encode_training_rows(config: AuditConfig, loaded, train: Sequence[Record]):
    """Tokenize the training rows once, before the base evaluation: refuse rows that truncation
    empties, and estimate training memory and time, warning when the run will not fit. The encoded
    rows go on to training."""
    from memgap.encoding import encode_all, require_some_completion
    from memgap.resources import estimate_training

    examples = encode_all(loaded.tokenizer, train, config.model.max_length)
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


def _load_model(config: AuditConfig, progress: bool):
    from memgap.models import load_model

    if not progress:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    return load_model(config.model.name, trust_remote_code=config.model.trust_remote_code)


def _check_lora_targets(config: AuditConfig, loaded) -> None:
    """Fail on LoRA targets that match nothing before any evaluation time is spent."""
    from memgap.training.sft import lora_targets

    lora_targets(loaded.model, config.lora)


def _scorer_name(config: AuditConfig, records: Sequence[Record]) -> str:
    if config.evaluation.scorer != "auto":
        return config.evaluation.scorer
    from memgap.domains.tenacious.scorer import is_tenacious_record

    return "tenacious" if all(is_tenacious_record(r) for r in records) else "token-f1"


def _resume_relevant(config: AuditConfig) -> dict[str, Any]:
    settings = config.to_dict()
    settings.pop("out", None)
    return settings
