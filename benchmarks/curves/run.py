"""Cost of the training curves: the default audit's training with FamilyGapCallback against the same training without it.

Both runs train the default audit's adapter (bundled data, embedded SmolLM2-135M, the default
preset's split and settings) from the same seed, one after the other in one process, so machine
load hits both alike. The callback runs as in `memgap run`: step 0 and the last step come from the audit's base and
adapter evaluations, so only the points in between are scored during training. The ratio is the
extra wall time of the run with curves over the run without.
With `--max-steps` both runs stop early; the per-step training time and the per-point evaluation
time measured then project the ratio for the full run (`training.curve_points` + 1 points over the
full step count), shown beside the measured one.

    .venv/bin/python benchmarks/curves/run.py [--max-steps N] [--curve-points K]
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from memgap import splits
from memgap.atomic import write_text_atomic
from memgap.config import load_config
from memgap.domains.tenacious import default_data_path
from memgap.families import assign_families
from memgap.data.io import read_records
from memgap.models import load_model
from memgap.training.curves_callback import FamilyGapCallback
from memgap.training.sft import train_lora

RESULTS = Path(__file__).resolve().parents[1] / "results" / "curves.md"
BOUND = 0.15


def default_holdouts(config):
    """The default audit's training rows and its seen- and unseen-family hold-outs (as the pipeline draws them)."""
    records, _ = assign_families(read_records(default_data_path(), family_field=config.data.family_field),
                                 infer=False, family_field=config.data.family_field)
    split = splits.nested_split(records, unseen_fraction=config.split.unseen_holdout_fraction,
                                seen_per_family=config.split.seen_holdout_per_family, seed=config.seed)
    seen = splits.spread_over_families(split.seen_holdout, config.split.max_holdout_items, config.seed)
    unseen = splits.spread_over_families(split.unseen_holdout, config.split.max_holdout_items, config.seed)
    train = splits.cap_rows(split.train, config.split.max_train_rows, config.seed, keep_families={r.family for r in seen})
    return train, seen, unseen


def default_split(config):
    """The default audit's training rows, curve sets of both hold-outs and training sample (as the pipeline draws them)."""
    train, seen, unseen = default_holdouts(config)
    size = config.training.curve_holdout_items
    seen_families = {r.family for r in seen}
    sample = splits.spread_over_families([r for r in train if r.family in seen_families],
                                         config.training.curve_train_items, config.seed)
    return train, splits.spread_over_families(seen, size, config.seed), splits.spread_over_families(unseen, size, config.seed), sample


def train_once(config, train, folder: Path, make_callback=None) -> tuple[float, int]:
    loaded = load_model(None)  # a fresh base model each run
    callbacks = [make_callback(loaded.tokenizer)] if make_callback else []
    started = time.perf_counter()
    result = train_lora(loaded, train, lora=config.lora, training=config.training, max_length=config.model.max_length,
                        output_dir=folder, seed=config.seed, resume=False, progress=False, callbacks=callbacks)
    return time.perf_counter() - started, result.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1, help="stop both runs after this many steps (-1: the full run)")
    parser.add_argument("--curve-points", type=int, help="evaluation points after step 0 (default: training.curve_points)")
    options = parser.parse_args()
    overrides = {"training.max_steps": options.max_steps, "training.curve_points": options.curve_points}
    config = load_config(overrides={key: value for key, value in overrides.items() if value is not None})
    full = load_config()
    train, seen, unseen, sample = default_split(config)
    full_steps = math.ceil(len(train) / full.training.batch_size) * full.training.epochs

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        plain_seconds, steps = train_once(config, train, scratch / "plain")
        made = []

        def make_callback(tokenizer):
            made.append(FamilyGapCallback(
                seen, unseen, train_sample=sample, path=scratch / "family_gap.csv", tokenizer=tokenizer,
                max_length=config.model.max_length, eval_points=config.training.curve_points,
                batch_size=config.evaluation.nll_batch_size, evaluate_at_start=False, evaluate_at_end=False))
            return made[-1]

        curves_seconds, _ = train_once(config, train, scratch / "curves", make_callback)
        callback = made[0]
    points = len({row.step for row in callback.rows})
    items = len(seen) + len(unseen) + len(sample)
    measured = (curves_seconds - plain_seconds) / plain_seconds
    per_point = callback.seconds / max(points, 1)
    per_step = plain_seconds / steps
    # the default audit scores curve_points - 1 points during training (its ends come from the evaluations)
    projected = (full.training.curve_points - 1) * per_point / (full_steps * per_step)
    lines = [
        "Cost of the training curves (`benchmarks/curves/run.py`): the default audit's training (embedded model, "
        f"bundled data, {len(train)} training rows) with and without `FamilyGapCallback` "
        f"({len(seen)} seen-family, {len(unseen)} unseen-family and {len(sample)} training items a point, "
        f"{per_point / max(items, 1):.2f} s an item), one process, "
        f"{os.cpu_count()} CPUs, load average (1 min) {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| steps run (each run) | {steps} |",
        f"| training without curves | {plain_seconds:.1f} s ({per_step:.2f} s a step) |",
        f"| training with curves | {curves_seconds:.1f} s, {points} points, {callback.seconds:.1f} s evaluating ({per_point:.2f} s a point) |",
        f"| measured extra wall time | {measured:+.1%} |",
        f"| projected for the default audit ({full_steps:g} steps, {full.training.curve_points - 1} points scored during "
        f"training, {full.training.curve_points} + step 0 in all) | {projected:.1%} (bound {BOUND:.0%}) |",
    ]
    write_text_atomic(RESULTS, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
