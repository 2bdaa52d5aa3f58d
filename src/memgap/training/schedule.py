"""How many optimizer steps a training run takes, and the warnings for a run too short to train.

The smallest audits are the ones that need checking most, and there a default schedule can quietly
do nothing: 12 rows at batch size 4 for 2 epochs are 6 optimizer steps, and a warmup of 5 % of 6
steps rounds up to a whole step. `schedule_warnings` says so before training starts.
"""
from __future__ import annotations

import math

from memgap.config import TrainingConfig

# LoRA starts from B = 0, so the adapter is exactly the base model until the optimizer moves it.
# Under the linear warmup and decay the Trainer uses, the learning-rate schedule integrates to
# about half the steps at the full rate, and each full-rate AdamW step moves a weight by about the
# learning rate. Below 10 optimizer steps the adapter gets at most ~5 full-rate steps: an update of
# a few learning rates from zero, which the evaluation cannot tell apart from no training.
MIN_OPTIMIZER_STEPS = 10


def optimizer_steps(n_examples: int, training: TrainingConfig, *, world_size: int = 1) -> int:
    """Optimizer steps the Trainer will take: `training.max_steps` if set, else epochs x updates per epoch.

    Follows transformers' Trainer: batches per epoch = ceil(n_examples / (batch_size x world_size));
    updates per epoch = ceil(batches / gradient_accumulation_steps), at least 1.
    """
    if training.max_steps and training.max_steps > 0:
        return int(training.max_steps)
    batches = math.ceil(n_examples / (training.batch_size * world_size))
    per_epoch = max(1, math.ceil(batches / training.gradient_accumulation_steps))
    return math.ceil(training.epochs * per_epoch)


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    """Warmup steps as the Trainer counts them: a value below 1 is a share of the steps (rounded up), else a count."""
    return int(warmup_ratio) if warmup_ratio >= 1 else math.ceil(total_steps * warmup_ratio)


def schedule_warnings(n_examples: int, training: TrainingConfig, *, world_size: int = 1) -> list[str]:
    """Sentences warning of a run whose warmup takes every step, or with fewer than MIN_OPTIMIZER_STEPS steps."""
    total = optimizer_steps(n_examples, training, world_size=world_size)
    warmup = warmup_steps(total, training.warmup_ratio)
    warnings = []
    if warmup >= total:
        warnings.append(
            f"the learning-rate warmup ({warmup} steps) takes every one of the {total} optimizer steps, so the "
            "adapter never trains at the full learning rate; lower training.warmup_ratio or train for more steps "
            "(training.epochs or training.max_steps)"
        )
    if total < MIN_OPTIMIZER_STEPS:
        why = (f"training.max_steps {training.max_steps}" if training.max_steps and training.max_steps > 0 else
               f"{n_examples} rows, batch size {training.batch_size}, {training.epochs:g} epochs")
        warnings.append(
            f"training takes only {total} optimizer steps ({why}), fewer than the {MIN_OPTIMIZER_STEPS} a LoRA adapter "
            "needs to move away from the base model; raise training.epochs or training.max_steps, or lower "
            "training.batch_size"
        )
    return warnings
