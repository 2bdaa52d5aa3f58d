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
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from memgap.curves import SEEN, TRAIN, UNSEEN, CurveRow, read_family_gap, step_metrics, training_curves, write_family_gap
from memgap.data.in_memory import as_records
from memgap.data.records import Record
from memgap.data.values import require_families
from memgap.errors import MemgapError
from memgap.training.precision import scoring_precision

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

    Raises `MemgapError` (at construction) for records without a family, an empty hold-out, or families
    shared by both hold-outs. `rows` holds every `CurveRow`; `curves()` returns `memgap.curves.training_curves`.
    """

    def __init__(self, seen_holdout: Sequence[Record], unseen_holdout: Sequence[Record], *,
                 train_sample: Sequence[Record] = (), path: str | Path | None = "family_gap.csv", tokenizer=None,
                 max_length: int = 768, eval_points: int = 8, batch_size: int = 4, alpha: float = 0.05, trainer=None,
                 evaluate_at_start: bool = True, evaluate_at_end: bool = True, precision: str | None = None):
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
        self.rows: list[CurveRow] = []
        self.steps: list[int] = []
        self.seconds = 0.0

    # -- Trainer events --------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self.steps = planned_steps(state.max_steps, self.eval_points)
        if not self.evaluate_at_end:
            self.steps = [step for step in self.steps if step != state.max_steps]
        if state.global_step > 0 and self.path is not None and self.path.exists():
            # resumed: keep the points measured before the interruption
            self.rows = [row for row in read_family_gap(self.path) if row.step <= state.global_step]
        if state.global_step == 0:
            if self.evaluate_at_start:
                self._evaluate(state, model, processing_class)
        elif state.global_step in self.steps and not any(row.step == state.global_step for row in self.rows):
            # resumed from a checkpoint at a planned point that was not scored before the interruption;
            # any other resume step is not a point, so the curves match an uninterrupted run's
            self._evaluate(state, model, processing_class)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.global_step in self.steps:
            self._evaluate(state, model, processing_class)

    # -- results ---------------------------------------------------------------------------------

    def curves(self, *, alpha: float | None = None, min_generalization_ratio: float = 0.5,
               n_resamples: int = 2000, seed: int = 0) -> dict[str, Any] | None:
        """`memgap.curves.training_curves` of the rows measured so far."""
        return training_curves(self.rows, alpha=alpha or self.alpha, min_generalization_ratio=min_generalization_ratio,
                               n_resamples=n_resamples, seed=seed)

    # -- work ------------------------------------------------------------------------------------

    def _evaluate(self, state, model, processing_class) -> None:
        import time

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
