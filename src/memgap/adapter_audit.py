"""`audit_adapter`: audit a LoRA adapter trained anywhere (TRL, Unsloth, axolotl, PEFT, `memgap run`).

Read top to bottom, it is the method for an adapter that already exists: take the hold-outs (a
nested split's seen- and unseen-family hold-outs, the randomized protocol; or a user's eval set
partitioned into rows with and without a training sibling, the observational protocol); load the
base and wrap it with the adapter (one model in memory); evaluate the base with the adapter
disabled, then the adapter; compare the lifts on both parts; probe; decide; write audit.json and
the report. Every stage after loading is the one `memgap run` uses (memgap.stages).
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.adapter_base import check_base_architecture
from memgap.adapter_tokenizer import TEMPLATE_FILES, TOKENIZER_FILES, rows_tokenizer
from memgap.adapter_fit import merge_blocker
from memgap.adapters import check_fits_base, load_adapter, read_adapter_folder
from memgap.adapter_document import adapter_loading, assemble_adapter_audit
from memgap.checkpoint_curves import NO_CHECKPOINTS_NOTE, checkpoint_curves, find_checkpoint_adapters, score_checkpoints
from memgap.config import AuditConfig
from memgap.curves import CurveRow
from memgap.data.io import read_records
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.probes.noop import check_adapter_changes_something, probe_token_ids
from memgap.run_folder import Stages, settings_fingerprint
from memgap.stages import (
    RunContext, adapter_precision_plan, SplitParts, check_scorer_setting, evaluate_stage, finish_audit, load_model, membership_sample, scorer_name,
    statistics_and_probes,
)
from memgap.stages import check_probe_settings, off_task_stage

log = logging.getLogger(__name__)

SPLIT_PARTS = ("train", "seen_holdout", "unseen_holdout")


@dataclass(frozen=True)
class AuditData:
    """The rows an adapter audit evaluates, and where they came from."""

    protocol: str  # randomized-nested | observational
    train: list[Record]
    seen: list[Record]  # seen-family hold-out, or eval rows with a training sibling
    unseen: list[Record]  # unseen-family hold-out, or eval rows without one
    family_source: str  # declared | inferred
    files: list[Path]  # the data files, for the fingerprint


def audit_adapter(config: AuditConfig, *, adapter: str | Path, split_dir: str | Path | None = None,
                  train_path: str | Path | None = None, eval_path: str | Path | None = None,
                  training_dir: str | Path | None = None, fresh: bool = False, progress: bool = True) -> dict[str, Any]:
    """Audit `adapter` on `config.model.name` into `config.out`; return audit.json's content.

    Data: either `split_dir` (written by `memgap split --strategy nested` or a `memgap run` folder's
    split/) or `train_path` and `eval_path` (observational). `training_dir`: the Trainer's output
    folder, for the loss curve and gradient norms. Raises MemgapError for every input mistake
    (adapter folder, split, data files, training folder, a base that does not fit) before evaluating.
    """
    from memgap.devices import resolve_placement

    resolve_placement(config.model.device, config.model.dtype, load_in_4bit=config.model.load_in_4bit)  # device errors first
    check_scorer_setting(config)  # a mistyped scorer fails here, before the model loads
    check_probe_settings(config)  # and a broken --off-task file
    for key in ("max_train_rows", "max_holdout_items"):
        if getattr(config.split, key) is not None:
            raise MemgapError(f"split.{key} does not apply to memgap audit: the training rows and hold-outs given are "
                              "used whole (a `memgap run --quick` folder's split/ already holds its capped parts); "
                              "remove the setting", where=f"setting 'split.{key}'")
    folder = read_adapter_folder(adapter)
    data = read_audit_data(config, split_dir=split_dir, train_path=train_path, eval_path=eval_path)
    trainer_output = _read_training_dir(training_dir)
    run_dir = Path(config.out)
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    run = RunContext(config, run_dir, Stages(run_dir, settings_fingerprint(_resume_relevant(config, folder, data))), progress)
    run.stages.check_compatible()
    log.info("%s protocol: training rows %d, seen part %d, unseen part %d", data.protocol, len(data.train),
             len(data.seen), len(data.unseen))

    log.info("loading model %s and the adapter %s", config.model.name or "(embedded SmolLM2-135M-Instruct)", folder.path)
    loaded = load_model(config, progress=progress)
    run = dataclasses.replace(run, precision=adapter_precision_plan(config, loaded.model, folder.weights, trainer_output))
    n_base_parameters = loaded.n_parameters
    base_warning = check_base_architecture(folder.path, folder.config, loaded.model.config, type(loaded.model).__name__,
                                           training_dir=training_dir)
    if base_warning:
        log.warning("%s", base_warning)
    # The tokenizer and chat template the adapter was trained with, when saved beside it (memgap.adapter_tokenizer);
    # its vocabulary decides whether the base's embeddings are resized to the adapter's first.
    rendering_tokenizer = rows_tokenizer(folder.path, loaded.tokenizer, base_path=str(loaded.name))
    fit = check_fits_base(folder, loaded.model, tokenizer_size=rendering_tokenizer.adapter_tokenizer_size)
    model = load_adapter(loaded.model, folder, fit=fit)
    adapter_warnings = [*folder.warnings, *rendering_tokenizer.warnings, *fit.notes]
    for warning in adapter_warnings:
        log.warning("%s", warning)
    log.info("rows rendered with the chat template of %s (%s)",
             "the adapter's folder" if rendering_tokenizer.template_source == "adapter" else "the base model",
             rendering_tokenizer.path)
    # Merging is an optimisation: decided now, before any stage is written (memgap.evaluation.evaluate.merged_lora).
    unmerged_because = merge_blocker(model)
    if unmerged_because:
        log.info("the adapter is evaluated unmerged, as PEFT cannot merge it: %s", unmerged_because)
    data, rendering = _render_every_row(config, rendering_tokenizer.tokenizer, data)
    rendering["chat_template"] = rendering_tokenizer.facts()
    # An adapter that changes nothing is said so in one line, never audited into a `no-lift` (memgap.probes.noop).
    noop_warning = check_adapter_changes_something(
        model, probe_token_ids(rendering_tokenizer.tokenizer, [*data.seen, *data.unseen], config.model.max_length),
        allow_noop=config.probes.allow_noop, where=str(folder.path))
    if noop_warning:
        log.warning("%s", noop_warning)
        adapter_warnings.append(noop_warning)
    # The audit folder is created only now, once every input has been checked.
    run_dir.mkdir(parents=True, exist_ok=True)
    scorer = scorer_name(config, [*data.train, *data.seen, *data.unseen])
    parts = SplitParts(data.train, data.seen, data.unseen)
    holdouts = parts.evaluated(membership_sample(config, parts))
    tokenizer = rendering_tokenizer.tokenizer
    base_rows = evaluate_stage(run, model, label="base", tokenizer=tokenizer, holdouts=holdouts, scorer=scorer,
                               adapter_disabled=True)
    adapter_rows = evaluate_stage(run, model, label="adapter", tokenizer=tokenizer, holdouts=holdouts, scorer=scorer)

    rows, figures, probes = statistics_and_probes(run, base_rows, adapter_rows, parts=parts)
    probes["template_intrusion"] = off_task_stage(run, model, tokenizer, train=data.train)
    audit = assemble_adapter_audit(config, data=data, loaded=loaded, n_base_parameters=n_base_parameters, model=model,
                                   folder=folder, scorer=scorer, trainer_output=trainer_output, figures=figures,
                                   probes=probes, rows=rows, run_dir=run_dir, stages=run.stages,
                                   loading=adapter_loading(folder, fit, unmerged_because))
    audit["data"]["rendering"] = rendering
    # Where the training log says training broke (memgap.training.trainer_output.training_log_warnings).
    warnings = [base_warning] if base_warning else []
    warnings += adapter_warnings
    warnings += list(trainer_output.warnings) if trainer_output is not None else []
    audit["warnings"] = warnings or None
    audit["precision"] = run.precision.to_dict()
    audit["training_curves"] = _training_curves(config, trainer_output)
    if trainer_output is not None:  # checkpoint-N adapters: the curves scored post hoc (memgap.checkpoint_curves)
        audit["training_curves"] = _checkpoint_curves(run, model, tokenizer, data, base_rows, trainer_output,
                                                      audit) or audit["training_curves"]
    return finish_audit(run, audit)


def _checkpoint_curves(run: RunContext, model, tokenizer, data: AuditData, base_rows, trainer_output,
                       audit: dict[str, Any]) -> dict[str, Any] | None:
    """The seen-/unseen-family curves from the training folder's checkpoint-N adapters, step 0 from the
    base evaluation; preferred to family_gap.csv, with which they are compared where both exist.
    Without checkpoints, the training section says what the post-hoc curves need."""
    checkpoints = find_checkpoint_adapters(trainer_output.folder)
    if not checkpoints:
        if isinstance(audit.get("training"), dict) and not trainer_output.family_gap:
            audit["training"]["checkpoints_note"] = NO_CHECKPOINTS_NOTE
        log.info("%s", NO_CHECKPOINTS_NOTE)
        return None
    config = run.config
    log.info("scoring %d checkpoints on both hold-outs (reference NLL)", len(checkpoints))
    holdouts = {"seen_holdout": data.seen, "unseen_holdout": data.unseen}
    rows, seconds = score_checkpoints(model, tokenizer, checkpoints, holdouts, max_length=config.model.max_length,
                                      precision=run.precision.evaluation.value if run.precision else None)
    names = {"seen": "seen_holdout", "unseen": "unseen_holdout"}
    start = [CurveRow(0, names[row.holdout], row.id, str(row.family), float(row.nll), row.n_tokens)
             for row in base_rows if row.holdout in names and row.n_tokens]
    return checkpoint_curves([*start, *rows], checkpoints, live_rows=trainer_output.family_gap, seconds=seconds,
                             alpha=config.stats.alpha, min_generalization_ratio=config.verdict.min_generalization_ratio,
                             n_resamples=min(config.stats.n_resamples, 2000), seed=config.seed)


def _training_curves(config: AuditConfig, trainer_output) -> dict[str, Any] | None:
    """The seen-/unseen-family curves from the user's family_gap.csv (FamilyGapCallback), if it ran."""
    if trainer_output is None or not trainer_output.family_gap:
        return None
    from memgap.curves import training_curves

    return training_curves(trainer_output.family_gap, alpha=config.stats.alpha,
                           min_generalization_ratio=config.verdict.min_generalization_ratio,
                           n_resamples=min(config.stats.n_resamples, 2000), seed=config.seed)


def _render_every_row(config: AuditConfig, tokenizer, data: AuditData) -> tuple[AuditData, dict[str, Any]]:
    """Every row the audit scores through the chat template once, before the first stage, with the
    rules `memgap run` applies (data.system_turn, data.overlong_rows; memgap.preflight)."""
    import dataclasses

    from memgap.preflight import RenderedData, apply_system_turn, render_every_row

    parts, folded_rows, dropped = {}, 0, []
    for name in ("train", "seen", "unseen"):
        records, folded = apply_system_turn(getattr(data, name), config.data.system_turn)
        rendered = render_every_row(tokenizer, records, max_length=config.model.max_length, assistant_turns="last",
                                    overlong_rows=config.data.overlong_rows)
        parts[name], folded_rows, dropped = rendered.records, folded_rows + folded, dropped + rendered.overlong_ids
    facts = RenderedData(records=[], examples={}, max_length=config.model.max_length,
                         assistant_turns=config.training.assistant_turns, overlong_policy=config.data.overlong_rows,
                         overlong_ids=dropped, system_turn=config.data.system_turn, folded_system_turns=folded_rows).facts()
    return dataclasses.replace(data, **parts), facts


def read_audit_data(config: AuditConfig, *, split_dir=None, train_path=None, eval_path=None) -> AuditData:
    """The training rows and the two parts, from a nested split folder or a train/eval pair."""
    if split_dir is not None and (train_path is not None or eval_path is not None):
        raise MemgapError("pass either --split DIR or --train FILE --eval FILE, not both")
    if split_dir is not None:
        return _read_nested_split(Path(split_dir), config)
    if train_path is None or eval_path is None:
        raise MemgapError("pass --split DIR (from `memgap split --strategy nested`) or both --train FILE and --eval FILE")
    from memgap.observational import partition_eval_rows

    family_field = None if config.data.infer_families else config.data.family_field
    train = read_records(train_path, family_field=family_field)
    evaluation = read_records(eval_path, family_field=family_field)
    partition = partition_eval_rows(train, evaluation, infer=config.data.infer_families,
                                    family_field=config.data.family_field)
    return AuditData("observational", partition.train, partition.with_sibling, partition.without_sibling,
                     partition.family_source, [Path(train_path), Path(eval_path)])


def _read_nested_split(folder: Path, config: AuditConfig) -> AuditData:
    import json

    manifest_file = folder / "manifest.json"
    if not manifest_file.exists():
        raise MemgapError("no manifest.json: not a folder written by `memgap split`", where=str(folder))
    strategy = json.loads(manifest_file.read_text(encoding="utf-8")).get("strategy")
    if strategy != "nested":
        raise MemgapError(f"this split was made with --strategy {strategy}; the randomized protocol needs "
                          "--strategy nested (or pass --train FILE --eval FILE for an observational audit)", where=str(manifest_file))
    files = [folder / f"{part}.jsonl" for part in SPLIT_PARTS]
    for file in files:
        if not file.exists():
            raise MemgapError(f"the split has no {file.name}", where=str(folder))
    train, seen, unseen = (read_records(file, family_field=config.data.family_field) for file in files)
    if not seen or not unseen:
        raise MemgapError("the split has an empty hold-out; re-split with more families", where=str(folder))
    return AuditData("randomized-nested", train, seen, unseen, "declared", files)


def _read_training_dir(training_dir):
    if training_dir is None:
        return None
    from memgap.training.trainer_output import read_trainer_output

    return read_trainer_output(training_dir)


def _resume_relevant(config: AuditConfig, folder, data: AuditData) -> dict[str, Any]:
    from memgap.atomic import sha256_file

    settings = config.to_dict()
    settings.pop("out", None)
    settings["adapter_sha256"] = sha256_file(folder.weights)
    beside = sorted(file for name in (*TOKENIZER_FILES, *TEMPLATE_FILES) if (file := folder.path / name).is_file())
    if beside:  # the tokenizer and template beside the adapter render the rows
        settings["adapter_tokenizer_sha256"] = [sha256_file(file) for file in beside]
    settings["data_sha256"] = [sha256_file(file) for file in data.files]
    return settings
