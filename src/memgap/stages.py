"""The stages `memgap run` and `memgap audit` share: evaluate a model, analyse, probe, decide, write.

`pipeline.run_audit` (split, train, then these) and `adapter_audit.audit_adapter` (an adapter trained
elsewhere, then these) call the same functions, so an adapter audited either way gets the same
figures from the same rows. Each stage saves what it made in the run folder.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from memgap import splits
from memgap.analysis import analyse
from memgap.atomic import write_json_atomic
from memgap.audit_document import json_ready
from memgap.config import AuditConfig
from memgap.data.io import read_jsonl_rows, write_jsonl
from memgap.data.records import Record
from memgap.run_folder import Stages

log = logging.getLogger(__name__)

HOLDOUTS = ("seen", "unseen")


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


def membership_sample(config: AuditConfig, train: Sequence[Record], seen: Sequence[Record]) -> list[Record]:
    """Training rows scored for the membership probe: spread over the families that also have a
    seen hold-out member, so the per-family train-vs-held-out NLL gap can be measured too."""
    seen_families = {r.family for r in seen}
    return splits.spread_over_families(
        [r for r in train if r.family in seen_families], config.evaluation.membership_train_rows, config.seed
    )


def evaluate_stage(label: str, model, loaded, subsets: Mapping[str, Sequence[Record]], scorer: str,
                   config: AuditConfig, run_dir: Path, stages: Stages, progress: bool, *,
                   adapter_disabled: bool = False) -> list[dict[str, Any]]:
    """Evaluate one model (base or adapter) on every subset; rows saved to evaluation/<label>.jsonl.

    `adapter_disabled`: `model` is a PeftModel evaluated as its base, inside PEFT's
    `disable_adapter()` (one model in memory); otherwise LoRA weights are merged for the pass.
    Generation and scoring run on the `seen` and `unseen` subsets; the others get NLL only.
    """
    from memgap.evaluation.evaluate import evaluate_model, merged_lora
    from memgap.evaluation.scoring import resolve_scorer

    path = run_dir / "evaluation" / f"{label}.jsonl"
    if stages.done(f"evaluate-{label}") and path.exists():
        return read_jsonl_rows(path)
    log.info("evaluating the %s model: reference NLL, greedy generation, %s score", label, scorer)
    started = time.perf_counter()
    context = model.disable_adapter() if adapter_disabled else merged_lora(model)
    with context:
        rows = evaluate_model(
            model, loaded.tokenizer, subsets,
            model_label=label,
            scorer=resolve_scorer(scorer),
            generate_subsets=HOLDOUTS,
            max_length=config.model.max_length,
            max_new_tokens=config.evaluation.max_new_tokens,
            generation_batch_size=config.evaluation.generation_batch_size,
            nll_batch_size=config.evaluation.nll_batch_size,
            progress=progress,
        )
    write_jsonl(path, rows)
    stages.mark_done(f"evaluate-{label}", time.perf_counter() - started)
    return rows


def analyse_stage(rows: Sequence[dict[str, Any]], config: AuditConfig, run_dir: Path) -> dict[str, Any]:
    """predictions.jsonl, then the figures: means, lifts, gap, ratio, per-family lifts, power."""
    write_predictions(run_dir, rows)
    return analyse(rows, n_resamples=config.stats.n_resamples, alpha=config.stats.alpha, seed=config.seed)


def probes_stage(config: AuditConfig, train: Sequence[Record], seen: Sequence[Record], unseen: Sequence[Record],
                 rows: Sequence[dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """Copying, verbatim spans, carried-over facts and membership; membership.jsonl saved."""
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


def finish_audit(audit: dict[str, Any], config: AuditConfig, run_dir: Path, stages: Stages) -> dict[str, Any]:
    """Decide the verdict, validate, then write audit.json and the report (each atomically).

    An observational audit's claim is reworded for a partition that was not randomized
    (`memgap.observational.reword_verdict`).
    """
    from memgap.report import render_report
    from memgap.report.schema import validate_audit
    from memgap.verdict import decide

    audit["verdict"] = decide(audit, config.verdict)
    if audit.get("protocol") == "observational":
        from memgap.observational import reword_verdict

        audit["verdict"] = reword_verdict(audit["verdict"], audit)
    audit = json_ready(audit)
    validate_audit(audit)
    write_json_atomic(run_dir / "audit.json", audit)
    render_report(run_dir)
    stages.mark_done("report", 0.0)
    return audit


def write_predictions(run_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    """predictions.jsonl: one row per (hold-out item, model) with NLL, generation, score and checks."""
    keep = ("id", "family", "subset", "model", "nll", "n_tokens", "generation", "score", "checks")
    predictions = [
        {("holdout" if key == "subset" else key): row.get(key) for key in keep}
        for row in rows
        if row["subset"] in HOLDOUTS
    ]
    write_jsonl(run_dir / "predictions.jsonl", predictions)
