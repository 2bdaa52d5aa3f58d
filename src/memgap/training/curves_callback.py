"""`FamilyGapCallback`: seen- and unseen-family completion NLL at evenly spaced points of any training run.

Add it to a transformers `Trainer` or a TRL `SFTTrainer`. At step 0 (the base model, unless the run
resumes) and at `eval_points` evenly spaced steps up to the last, it scores every given record's
reference completion with the audit's own scorer (`memgap.evaluation.nll.completion_token_stats`:
the same tokenization, chat template and completion-only mask as the final audit, so its figures are
the audit's for the same weights; only the NLL, `spread=False`, as the curves need no more), keeps
the per-item NLLs that the family-clustered statistics need, rewrites `family_gap.csv` (`memgap.curves.read_family_gap` reads it), and logs

    eval_seen_holdout_nll, eval_unseen_holdout_nll, eval_train_sample_nll,
    eval_family_gap, eval_family_gap_ci_low, eval_family_gap_ci_high, eval_unseen_holdout_reduction

through `Trainer.log`, so they reach every `report_to` backend as ordinary metrics. The Trainer's
own evaluation loss is a batch mean and returns no per-item values without the full logits (which
TRL's SFTTrainer recomputes with a second forward pass), so the callback runs its one forward pass itself.

With `stop_at="best-unseen"` or `"onset"` it also decides when to stop (memgap.training.stopping):
it keeps the LoRA weights of the point with the lowest unseen-family loss, stops the Trainer when
the rule says so, restores the kept weights when training ends (so `trainer.save_model()` saves
them), and records the steps and the reason in `stopping` (and stopping.json beside family_gap.csv).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from memgap.curves import SEEN, TRAIN, UNSEEN, CurveRow, read_family_gap, step_metrics, training_curves, write_family_gap
from memgap.atomic import write_text_atomic
from memgap.data.in_memory import as_records
from memgap.data.records import Record
from memgap.data.values import require_families
from memgap.errors import MemgapError
from memgap.training.precision import scoring_precision
from memgap.training.stopping import (
    DEFAULT_PATIENCE, KeptWeights, best_trained_step, check_stop_rule, load_state, point_figures, points_since_best,
    rows_from_lists, rows_to_lists, save_state, stop_reason,
)

log = logging.getLogger(__name__)


def planned_steps(max_steps: int, eval_points: int) -> list[int]:
    """The steps the curves are scored at: `eval_points` evenly spaced in 1..max_steps, the last always included.

    Returns a sorted list of distinct steps (fewer than `eval_points` when steps are few; empty when
    either argument is below 1).
    """
    if max_steps < 1 or eval_points < 1:
        return []
    return sorted({max(1, round(i * max_steps / eval_points)) for i in range(1, eval_points + 1)})


class FamilyGapCallback(TrainerCallback):
    """Log seen-family, unseen-family and training-sample completion NLL over training; write family_gap.csv.

    Parameters:
        seen_holdout: held-out records of families the training data contains (each with `family`): Records
            (`memgap.read_records`) or dicts, read as a data file's rows are (the same for the other two sets).
        unseen_holdout: records of families held out whole (each with `family`; none shared with seen).
        train_sample: optional training records, the third curve (the training loss on fixed items).
        path: where family_gap.csv goes (None: keep the rows in memory only).
        tokenizer: the tokenizer with the chat template; default: the Trainer's `processing_class`.
        max_length: tokens per example, as in training; longer rows are truncated like there.
        eval_points: evaluation points after step 0, evenly spaced up to the last step (default 8).
        batch_size: items per forward pass; all sets are scored in one pass, in batches of similar length.
            On 2 CPU cores, NLL-only scoring in batches of 4 took 0.88 of the time of full statistics in
            batches of 8 (benchmarks/results/evaluation_batches.md).
        alpha: level of the logged gap interval.
        trainer: the Trainer, for logging; found on the call stack when not given.
        evaluate_at_start: score the base model at step 0 (off where the caller has those NLLs already,
            as the audit does from its base-model evaluation).
        evaluate_at_end: score the last step (off where the caller scores the final adapter anyway).
        precision: what the points are scored in: None (default) for the weights' own dtype, or fp32, bf16
            or fp16 (autocast). The training's own mixed-precision autocast is lifted while scoring, so the
            points are comparable with the audit's evaluations whatever precision training runs in.
        stop_at: `end` (default: train to the last step, keep the last weights), `best-unseen` (stop once the
            unseen-family loss has not improved for `patience` points) or `onset` (stop once the onset rule
            confirms that the seen-unseen gap opened). With either rule the weights of the point with the
            lowest unseen-family loss are restored when training ends (docs/curves.md, "Stopping").
        patience: evaluation points without improvement before `best-unseen` stops (default 2).
        min_generalization_ratio: the onset rule's threshold (the verdict's `min_generalization_ratio`).
        start_rows: `CurveRow`s of step 0 measured elsewhere (the audit's base-model evaluation), used with
            `evaluate_at_start=False` so the rules and logged gaps start from the base model.

    Raises `MemgapError` (at construction) for records without a family, an empty hold-out, families
    shared by both hold-outs, an unknown `stop_at` or a patience below 1, or a rule with `evaluate_at_end=False`. `rows` holds every `CurveRow`; `curves()` returns `memgap.curves.training_curves`.
    """

    def __init__(self, seen_holdout: Sequence[Record], unseen_holdout: Sequence[Record], *,
                 train_sample: Sequence[Record] = (), path: str | Path | None = "family_gap.csv", tokenizer=None,
                 max_length: int = 768, eval_points: int = 8, batch_size: int = 4, alpha: float = 0.05, trainer=None,
                 evaluate_at_start: bool = True, evaluate_at_end: bool = True, precision: str | None = None,
                 stop_at: str = "end", patience: int = DEFAULT_PATIENCE, min_generalization_ratio: float = 0.5,
                 start_rows: Sequence[CurveRow] = ()):
        # Plain rows (dicts from json.loads) are read as a data file's rows are (memgap.data.in_memory).
        self.sets = {SEEN: as_records(seen_holdout, label="seen_holdout"),
                     UNSEEN: as_records(unseen_holdout, label="unseen_holdout"),
                     TRAIN: as_records(train_sample, label="train_sample")}
        _check_records(self.sets)
        self.path = Path(path) if path is not None else None
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.eval_points = eval_points
        self.batch_size = batch_size
        self.alpha = alpha
        self.trainer = trainer
        self.evaluate_at_start = evaluate_at_start
        self.evaluate_at_end = evaluate_at_end
        self.precision = precision
        check_stop_rule(stop_at, patience)
        if stop_at != "end" and not evaluate_at_end:
            raise MemgapError(f"FamilyGapCallback: stop_at={stop_at!r} needs evaluate_at_end=True: the last step's "
                              "weights may be the best ones")
        self.stop_at = stop_at
        self.patience = patience
        self.min_generalization_ratio = min_generalization_ratio
        self.start_rows = [row for row in start_rows if row.step == 0]
        self.rows: list[CurveRow] = list(self.start_rows)
        self.steps: list[int] = []
        self.seconds = 0.0
        self.kept: KeptWeights | None = None  # the LoRA weights of the best trained point so far
        self.stop: dict[str, Any] | None = None  # why the rule stopped training (None: it did not)
        self.stopping: dict[str, Any] | None = None  # the record of the run, once training ended under a rule
        self.max_steps: int | None = None
        self.rule_seconds = 0.0  # keeping weights, deciding and saving the rule's state (benchmarks/curves/stopping.py)

    # -- Trainer events --------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.steps = planned_steps(state.max_steps, self.eval_points)
        self.max_steps = int(state.max_steps)
        if not self.evaluate_at_end:
            self.steps = [step for step in self.steps if step != state.max_steps]
        if state.global_step > 0 and self.path is not None and self.path.exists():
            # resumed: keep the points measured before the interruption
            self.rows = [row for row in read_family_gap(self.path) if row.step <= state.global_step]
        self.kept, self.stop, self.stopping = None, None, None  # a callback used for a second run starts afresh
        if state.global_step > 0 and self.stop_at != "end":
            self._resume_rule(args, state)
        if state.global_step == 0:
            if self.evaluate_at_start:
                self._evaluate(state, model, processing_class)
                self._apply_rule(state, control, model)
        elif state.global_step in self.steps and not any(row.step == state.global_step for row in self.rows):
            # resumed from a checkpoint at a planned point that was not scored before the interruption;
            # any other resume step is not a point, so the curves match an uninterrupted run's
            self._evaluate(state, model, processing_class)
            self._apply_rule(state, control, model)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.global_step in self.steps:
            self._evaluate(state, model, processing_class)
            self._apply_rule(state, control, model)

    def on_save(self, args, state, control, **kwargs):
        # The rule's state travels with the checkpoint the Trainer just wrote, so a run resumed from it
        # goes on mid-patience with the same kept weights (the Trainer's own callback-state mechanism
        # re-creates a callback from its constructor arguments, which here are the hold-out records).
        if self.stop_at != "end" and state.is_world_process_zero:
            started = time.perf_counter()
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                save_state(folder, {"stop_at": self.stop_at, "patience": self.patience, "step": int(state.global_step),
                                    "stop": self.stop, "rows": rows_to_lists(self.rows)}, self.kept)
            self.rule_seconds += time.perf_counter() - started

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.stop_at == "end":
            return
        if self.kept is not None and model is not None:
            self.kept.restore(model)
        stopped = int(state.global_step)
        self.stopping = {
            "rule": self.stop_at,
            "patience": self.patience if self.stop_at == "best-unseen" else None,
            "max_steps": self.max_steps,
            "stopped_at_step": stopped,
            "restored_step": self.kept.step if self.kept is not None else None,
            "reason": self.stop["reason"] if self.stop else "end",
            "reason_text": self.stop["text"] if self.stop else "training reached its last step",
            "evaluation_steps": sorted({row.step for row in self.rows}),
            "restored": point_figures(self.rows, self.kept.step if self.kept is not None else None),
            "final": point_figures(self.rows, stopped) if any(row.step == stopped for row in self.rows) else None,
        }
        if state.is_world_process_zero and self.path is not None:
            write_text_atomic(self.path.with_name("stopping.json"), json.dumps(self.stopping, indent=1))

    # -- results ---------------------------------------------------------------------------------

    def curves(self, *, alpha: float | None = None, min_generalization_ratio: float = 0.5,
               n_resamples: int = 2000, seed: int = 0) -> dict[str, Any] | None:
        """`memgap.curves.training_curves` of the rows measured so far."""
        return training_curves(self.rows, alpha=alpha or self.alpha, min_generalization_ratio=min_generalization_ratio,
                               n_resamples=n_resamples, seed=seed)

    # -- the stopping rule ------------------------------------------------------------------------

    def _apply_rule(self, state, control, model) -> None:
        """After a point: keep the weights if it is the best trained point; stop training if the rule says so."""
        if self.stop_at == "end" or model is None:
            return
        started = time.perf_counter()
        try:
            self._decide(state, control, model)
        finally:
            self.rule_seconds += time.perf_counter() - started

    def _decide(self, state, control, model) -> None:
        step = int(state.global_step)
        if step > 0 and best_trained_step(self.rows) == step:
            self.kept = KeptWeights.of(model, step)
        if self.stop is None and 0 < step < state.max_steps:  # at the last step training ends anyway
            self.stop = stop_reason(self.rows, stop_at=self.stop_at, patience=self.patience, alpha=self.alpha,
                                    min_generalization_ratio=self.min_generalization_ratio)
            if self.stop is not None:
                log.info("stopping at step %d: %s", step, self.stop["text"])
        if self.stop is not None:
            control.should_training_stop = True

    def _resume_rule(self, args, state) -> None:
        """Read the rule's state from the checkpoint the run resumes from (written by `on_save`)."""
        saved = load_state(Path(args.output_dir) / f"checkpoint-{state.global_step}")
        if saved is None:
            log.warning("the checkpoint at step %d holds no stopping state (%s); the stopping rule starts again from "
                        "the points in family_gap.csv without the weights kept before", state.global_step, "memgap_stopping.json")
            return
        saved_state, self.kept = saved
        self.stop = saved_state.get("stop")
        if self.path is None or not self.path.exists():  # no family_gap.csv to read the points back from
            self.rows = [row for row in rows_from_lists(saved_state.get("rows") or []) if row.step <= state.global_step]

    # -- work ------------------------------------------------------------------------------------

    def _evaluate(self, state, model, processing_class) -> None:
        from memgap.evaluation.nll import completion_token_stats

        tokenizer = self.tokenizer or processing_class
        if model is None or tokenizer is None:
            raise MemgapError("FamilyGapCallback needs the model and a tokenizer: pass tokenizer= or give the "
                              "Trainer a processing_class")
        started = time.perf_counter()
        step = int(state.global_step)
        was_training = model.training
        model.eval()
        try:
            # one pass over all sets: their items share batches of similar length
            items = [(holdout, record) for holdout, records in self.sets.items() for record in records]
            with scoring_precision(model, self.precision):
                token_stats = completion_token_stats(model, tokenizer, [record for _, record in items],
                                                     max_length=self.max_length, batch_size=self.batch_size,
                                                     spread=False)
            measured = [CurveRow(step, holdout, record.id, str(record.family), stats.nll, stats.n_tokens)
                        for (holdout, record), stats in zip(items, token_stats) if stats.n_tokens]
        finally:
            model.train(was_training)
        self.rows = [row for row in self.rows if row.step != step] + measured
        self.seconds += time.perf_counter() - started
        if state.is_world_process_zero:
            if self.path is not None:
                write_family_gap(self.path, self.rows)
            self._log(step)

    def _log(self, step: int) -> None:
        from memgap.training.gradnorm import _find_running_trainer

        metrics = step_metrics(self.rows, step, alpha=self.alpha)
        if self.stop_at != "end" and step > 0 and metrics:
            best = best_trained_step(self.rows)
            if best is not None:  # the rule's course, as ordinary metrics for every report_to backend
                metrics["eval_unseen_holdout_best_step"] = float(best)
                metrics["eval_points_since_best"] = float(points_since_best(self.rows))
        trainer = self.trainer or _find_running_trainer()
        if trainer is not None and metrics:
            # Trainer.log itself: TRL's SFTTrainer.log would fold in (and clear) its pending training metrics
            # and keep the Trainer's pending training-loss log, which its on_log handler would cancel
            from transformers import Trainer

            should_log = trainer.control.should_log
            Trainer.log(trainer, metrics)
            trainer.control.should_log = should_log
        elif metrics:
            log.info("family gap at step %d: %s", step, metrics)


def _check_records(sets: dict[str, list[Record]]) -> None:
    for holdout in (SEEN, UNSEEN):
        if not sets[holdout]:
            raise MemgapError(f"FamilyGapCallback: the {holdout} records are empty; give held-out records of both kinds")
    for holdout, records in sets.items():
        require_families(records, label=f"FamilyGapCallback: {holdout} record",
                         hint="read the records with read_records(path, family_field=...)")
    shared = {r.family for r in sets[SEEN]} & {r.family for r in sets[UNSEEN]}
    if shared:
        raise MemgapError(f"FamilyGapCallback: families {sorted(map(str, shared))[:3]} are in both hold-outs; "
                          "unseen-family records must come from families held out whole")
