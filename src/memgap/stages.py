"""The stages `memgap run` and `memgap audit` share: evaluate a model, analyse, probe, decide, write.

`pipeline.run_audit` (split, train, then these) and `adapter_audit.audit_adapter` (an adapter trained
elsewhere, then these) call the same functions, so an adapter audited either way gets the same
figures from the same rows. Each stage saves what it made in the run folder.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap import splits
from memgap.analysis import analyse
from memgap.atomic import write_json_atomic
from memgap.audit_document import json_ready
from memgap.config import AuditConfig
from memgap.data.io import read_jsonl_rows, write_jsonl
from memgap.data.records import Record
from memgap.errors import where_in_file
from memgap.evaluation.rows import HOLDOUTS, EvaluationRow
from memgap.run_folder import Stages
from memgap.training.precision import Hardware, PrecisionPlan, evaluation_autocast, plan_precision, weights_dtype

log = logging.getLogger(__name__)
GENERIC_TEXT_MAX_LENGTH = 512  # tokens: every bundled generic text with its prompt fits (190 with a character tokenizer)

def scorer_name(config: AuditConfig, records: Sequence[Record]) -> str:
    """The configured scorer, or for `auto` the data's domain scorer (tenacious) or token-f1."""
    if config.evaluation.scorer != "auto":
        return config.evaluation.scorer
    from memgap.domains.tenacious.scorer import is_tenacious_record

    return "tenacious" if all(is_tenacious_record(r) for r in records) else "token-f1"


def check_scorer_setting(config: AuditConfig) -> None:
    """Import or look up a named scorer now, so a typo is refused before the model loads or a folder is written.

    Raises MemgapError for an unknown name (with the closest known ones) or a module:function that does not import.
    """
    if config.evaluation.scorer != "auto":
        from memgap.evaluation.scoring import resolve_scorer

        resolve_scorer(config.evaluation.scorer)


def membership_sample(config: AuditConfig, parts: "SplitParts") -> list[Record]:
    """Training rows scored for the membership probe: spread over the families that also have a
    seen hold-out member, so the per-family train-vs-held-out NLL gap can be measured too."""
    seen_families = {r.family for r in parts.seen_holdout}
    return splits.spread_over_families(
        [r for r in parts.train if r.family in seen_families], config.evaluation.membership_train_rows, config.seed
    )


@dataclass(frozen=True)
class SplitParts:
    """The three parts an audit evaluates: training rows and the two hold-outs (or, for an
    observational audit, eval rows with and without a training sibling)."""

    train: list[Record]
    seen_holdout: list[Record]
    unseen_holdout: list[Record]

    def evaluated(self, membership: Sequence[Record]) -> dict[str, list[Record]]:
        """What each model is evaluated on, by hold-out name: both hold-outs and the membership sample."""
        return {"seen": list(self.seen_holdout), "unseen": list(self.unseen_holdout), "train": list(membership)}


@dataclass(frozen=True)
class RunContext:
    """What every stage of one audit shares: its settings, its folder, its stage markers, progress bars."""

    config: AuditConfig
    run_dir: Path
    stages: Stages
    progress: bool = True
    precision: PrecisionPlan | None = None  # resolved once the model is loaded (`plan_precision_for`)


def load_model(config: AuditConfig, *, progress: bool = True):
    """The configured base model and tokenizer (`memgap.models.load_configured_model`), quiet without progress."""
    from memgap.models import load_configured_model

    if not progress:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    return load_configured_model(config.model)


def plan_precision_for(config: AuditConfig, model, *, trains: bool) -> PrecisionPlan:
    """Resolve `training.precision`, `evaluation.precision` and `training.adapter_dtype` once, for the
    loaded base `model` on its device, and log the one line that says what each resolved to and why.

    `trains`: memgap trains the adapter (`memgap run`); an audit of a given adapter resolves evaluation only.
    Raises MemgapError for a precision the device cannot run (memgap.training.precision).
    """
    plan = plan_precision(training=config.training.precision if trains else None,
                          evaluation=config.evaluation.precision,
                          adapter_dtype=config.training.adapter_dtype if trains else None,
                          weights_dtype=weights_dtype(model), hardware=Hardware.detect(model.device.type))
    log.info("%s", plan.describe())
    return plan


def adapter_precision_plan(config: AuditConfig, model, weights_file: Path, trainer_output=None) -> PrecisionPlan:
    """`plan_precision_for` an adapter audited as given: evaluation resolved, the adapter's saved dtype
    as its safetensors file records it, and training's precision where the training folder records it
    (memgap's own train_result.json; a Trainer's trainer_state.json does not), else None."""
    import dataclasses

    from memgap.training.precision import Resolved, saved_adapter_dtype

    result = getattr(trainer_output, "result", None) or {}
    training = (Resolved(result["precision"], "as recorded",
                         f"read from train_result.json: {result.get('precision_reason', 'no reason recorded')}")
                if isinstance(result.get("precision"), str) else None)
    return dataclasses.replace(plan_precision_for(config, model, trains=False), training=training,
                               adapter_weights=saved_adapter_dtype(weights_file))


def _evaluation_precision(run: RunContext, model):
    """The autocast context every evaluation pass runs in: the run's resolved `evaluation.precision`."""
    precision = run.precision.evaluation if run.precision else plan_precision_for(run.config, model, trains=False).evaluation
    return evaluation_autocast(precision, weights_dtype(model), model.device.type)


def evaluate_stage(run: RunContext, model, *, label: str, tokenizer, holdouts: Mapping[str, Sequence[Record]],
                   scorer: str, adapter_disabled: bool = False) -> list[EvaluationRow]:
    """Evaluate one model (base or adapter) on every hold-out; rows saved to evaluation/<label>.jsonl.

    `adapter_disabled`: `model` is a PeftModel evaluated as its base, inside PEFT's
    `disable_adapter()` (one model in memory); otherwise LoRA weights are merged for the pass.
    Generation and scoring run on the `seen` and `unseen` hold-outs; the others get NLL only.
    A finished stage is read back (rows written with the older `subset` key included).
    """
    from memgap.evaluation.evaluate import evaluate_model, merged_lora
    from memgap.evaluation.scoring import resolve_scorer

    config = run.config
    path = run.run_dir / "evaluation" / f"{label}.jsonl"
    if run.stages.done(f"evaluate-{label}") and path.exists():
        return [EvaluationRow.from_dict(row, where=where_in_file(path, line))
                for line, row in enumerate(read_jsonl_rows(path), start=1)]
    log.info("evaluating the %s model: reference NLL, greedy generation, %s score", label, scorer)
    started = time.perf_counter()
    context = model.disable_adapter() if adapter_disabled else merged_lora(model)
    with context, _evaluation_precision(run, model):
        rows = evaluate_model(
            model, tokenizer, holdouts,
            model_label=label,
            scorer=resolve_scorer(scorer),
            generate_holdouts=HOLDOUTS,
            max_length=config.model.max_length,
            max_new_tokens=config.evaluation.max_new_tokens,
            generation_batch_size=config.evaluation.generation_batch_size,
            nll_batch_size=config.evaluation.nll_batch_size,
            progress=run.progress,
        )
    write_jsonl(path, [row.to_dict() for row in rows])
    run.stages.mark_done(f"evaluate-{label}", time.perf_counter() - started)
    return rows


def analyse_stage(run: RunContext, rows: Sequence[EvaluationRow]) -> dict[str, Any]:
    """predictions.jsonl, then the figures: means, lifts, gap, ratio, per-family lifts, power."""
    write_predictions(run.run_dir, rows)
    config = run.config
    return analyse(rows, n_resamples=config.stats.n_resamples, alpha=config.stats.alpha, seed=config.seed)


def statistics_and_probes(run: RunContext, base_rows: Sequence[EvaluationRow], adapter_rows: Sequence[EvaluationRow],
                          *, parts: SplitParts) -> tuple[list[EvaluationRow], dict[str, Any], dict[str, Any]]:
    """Both models' rows, then `analyse_stage`'s figures and `probes_stage`'s probes on them."""
    log.info("statistics, probes, verdict and report")
    rows = [*base_rows, *adapter_rows]
    return rows, analyse_stage(run, rows), probes_stage(run, rows, parts=parts)


def probes_stage(run: RunContext, rows: Sequence[EvaluationRow], *, parts: SplitParts) -> dict[str, Any]:
    """Copying, verbatim spans, carried-over facts and membership; membership.jsonl saved."""
    from memgap.evaluation.token_stats import TokenStats
    from memgap.probes import membership_rows, run_probes

    config = run.config
    generations: dict[str, dict[str, str]] = {"base": {}, "adapter": {}}
    token_stats: dict[str, dict[str, TokenStats]] = {"base": {}, "adapter": {}}
    for row in rows:
        token_stats[row.model][row.id] = row.token_stats
        if row.generation is not None:
            generations[row.model][row.id] = row.generation
    holdouts = {"seen": parts.seen_holdout, "unseen": parts.unseen_holdout}
    probes = run_probes(
        parts.train, holdouts, generations, token_stats,
        min_span_tokens=config.probes.verbatim_span_tokens,
        examples_per_holdout=config.probes.examples_per_holdout,
        n_resamples=min(config.stats.n_resamples, 2000),
        seed=config.seed,
        alpha=config.stats.alpha,
    )
    write_jsonl(run.run_dir / "membership.jsonl", membership_rows(parts.train, holdouts, token_stats))
    return probes


def check_probe_settings(config: AuditConfig) -> None:
    """Read the user's off-task prompt file now (`probes.off_task_file`), so a mistake in it is refused before any stage."""
    if config.probes.off_task and config.probes.off_task_file:
        from memgap.probes.off_task import off_task_prompts

        off_task_prompts(config.probes.off_task_file)


def off_task_stage(run: RunContext, model, tokenizer, *, train: Sequence[Record]) -> dict[str, Any] | None:
    """Template intrusion and the generic-text NLL cost (memgap.probes.off_task); saved to template_intrusion.json.

    None when `probes.off_task` is false. `model` is the PeftModel (its base is `disable_adapter()`).
    """
    import json

    from memgap.probes.off_task import off_task_prompts, run_template_intrusion

    config = run.config
    if not config.probes.off_task:
        return {"skipped": "switched off (probes.off_task: false)"}
    path = run.run_dir / "template_intrusion.json"
    if run.stages.done("template-intrusion") and path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    log.info("template intrusion: off-task prompts with both models, generic-text NLL")
    prompts = off_task_prompts(config.probes.off_task_file, config.probes.off_task_prompts)
    with _evaluation_precision(run, model):
        result = run_template_intrusion(model, tokenizer, [record.completion for record in train], prompts=prompts,
                                        max_new_tokens=config.probes.off_task_max_new_tokens,
                                        batch_size=config.evaluation.generation_batch_size,
                                        # the bundled generic texts are scored whole, whatever the rows' limit
                                        max_length=max(config.model.max_length, GENERIC_TEXT_MAX_LENGTH),
                                        n_resamples=min(config.stats.n_resamples, 2000),
                                        alpha=config.stats.alpha, seed=config.seed)
    result = json_ready(result, name="template_intrusion", warn=False)
    write_json_atomic(path, result)
    run.stages.mark_done("template-intrusion", result["seconds"])
    return result


def finish_audit(run: RunContext, audit: dict[str, Any]) -> dict[str, Any]:
    """Decide the verdict, validate, then write audit.json and the report (each atomically).

    An observational audit's claim is reworded for a partition that was not randomized
    (`memgap.observational.reword_verdict`).
    """
    from memgap.report import render_report
    from memgap.report.schema import validate_audit
    from memgap.verdict import decide

    audit["verdict"] = decide(audit, run.config.verdict)
    if audit.get("protocol") == "observational":
        from memgap.observational import reword_verdict

        audit["verdict"] = reword_verdict(audit["verdict"], audit)
    audit = json_ready(audit)
    validate_audit(audit)
    write_json_atomic(run.run_dir / "audit.json", audit)
    render_report(run.run_dir)
    run.stages.mark_done("report", 0.0)
    return audit


def write_predictions(run_dir: Path, rows: Sequence[EvaluationRow]) -> None:
    """predictions.jsonl: one row per (hold-out item, model) with NLL, generation, score and checks."""
    write_jsonl(run_dir / "predictions.jsonl", [row.prediction() for row in rows if row.holdout in HOLDOUTS])
