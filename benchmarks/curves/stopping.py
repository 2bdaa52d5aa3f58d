"""Cost of stopping: live stopping's overhead on training, and the post-hoc checkpoint scoring per checkpoint.

Live: the default audit's training (bundled data, embedded SmolLM2-135M, the default split) three times
from the same seed, one after the other in one process so machine load hits them alike: without curves,
with `FamilyGapCallback` (`stop_at="end"`), and with the rule (`stop_at="best-unseen"` with a patience
no run reaches, so all three train the same steps and only the rule's own work differs: keeping the
best point's LoRA weights, deciding, writing its state into each checkpoint). The ratio is the rule
run's wall time over the curves run's (and over the plain run's).

Post hoc: the rule run keeps its checkpoints; each checkpoint's adapter is scored on both whole
hold-outs as `memgap audit --training-dir` does (`memgap.checkpoint_curves.score_checkpoints`: PEFT
`load_adapter`, `set_adapter`, score, `delete_adapter` on one PeftModel), against one reference-NLL
pass over both hold-outs with the adapter already active.

    .venv/bin/python benchmarks/curves/stopping.py [--max-steps N] [--save-steps S] [--model DIR --data FILE]

`--model` and `--data` (with a `family` field) swap in a local model and data set, to check the script
on a tiny model; the results then go to stopping_<model folder name>.md, not stopping.md.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from memgap import splits
from memgap.atomic import write_text_atomic
from memgap.checkpoint_curves import find_checkpoint_adapters, score_checkpoints
from memgap.config import load_config
from memgap.data.io import read_records
from memgap.domains.tenacious import default_data_path
from memgap.evaluation.nll import completion_token_stats
from memgap.families import assign_families
from memgap.models import load_model
from memgap.training.curves_callback import FamilyGapCallback
from memgap.training.sft import train_lora

RESULTS = Path(__file__).resolve().parents[1] / "results"
NEVER = 10**9  # a patience no run reaches: the rule does all its work but never stops training


def holdouts(config, data_path: Path):
    """Training rows and the seen- and unseen-family hold-outs, as the pipeline draws them."""
    records, _ = assign_families(read_records(data_path, family_field=config.data.family_field),
                                 infer=False, family_field=config.data.family_field)
    split = splits.nested_split(records, unseen_fraction=config.split.unseen_holdout_fraction,
                                seen_per_family=config.split.seen_holdout_per_family, seed=config.seed)
    seen = splits.spread_over_families(split.seen_holdout, config.split.max_holdout_items, config.seed)
    unseen = splits.spread_over_families(split.unseen_holdout, config.split.max_holdout_items, config.seed)
    train = splits.cap_rows(split.train, config.split.max_train_rows, config.seed, keep_families={r.family for r in seen})
    return train, seen, unseen


def train_once(config, model_name, train, folder: Path, make_callback=None):
    loaded = load_model(model_name)  # a fresh base model each run
    callbacks = [make_callback(loaded.tokenizer)] if make_callback else []
    started = time.perf_counter()
    result = train_lora(loaded, train, lora=config.lora, training=config.training, max_length=config.model.max_length,
                        output_dir=folder, seed=config.seed, resume=False, progress=False, callbacks=callbacks)
    return time.perf_counter() - started, result, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1, help="stop every run after this many steps (-1: the full run)")
    parser.add_argument("--save-steps", type=int, default=None, help="checkpoint spacing (default: training.save_steps)")
    parser.add_argument("--model", default=None, help="a local model folder (default: the embedded model)")
    parser.add_argument("--data", default=None, help="a data file with families (default: the bundled data)")
    parser.add_argument("--max-length", type=int, default=None, help="model.max_length (default: the config's)")
    options = parser.parse_args()
    overrides = {"training.max_steps": options.max_steps, "training.save_steps": options.save_steps,
                 "training.keep_checkpoints": True, "model.max_length": options.max_length}
    config = load_config(overrides={key: value for key, value in overrides.items() if value is not None})
    train, seen, unseen = holdouts(config, Path(options.data) if options.data else default_data_path())
    size = config.training.curve_holdout_items
    curve_seen = splits.spread_over_families(seen, size, config.seed)
    curve_unseen = splits.spread_over_families(unseen, size, config.seed)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        made: dict[str, FamilyGapCallback] = {}

        def callback_for(name, **rule):
            def make(tokenizer):
                made[name] = FamilyGapCallback(
                    curve_seen, curve_unseen, path=scratch / name / "family_gap.csv", tokenizer=tokenizer,
                    max_length=config.model.max_length, eval_points=config.training.curve_points, **rule)
                return made[name]
            return make

        plain_seconds, plain, _ = train_once(config, options.model, train, scratch / "plain")
        curves_seconds, _, _ = train_once(config, options.model, train, scratch / "curves", callback_for("curves"))
        rule_seconds, ruled, loaded = train_once(config, options.model, train, scratch / "rule",
                                                 callback_for("rule", stop_at="best-unseen", patience=NEVER))
        rule = made["rule"]

        # post hoc: the rule run's checkpoints on both whole hold-outs, one PeftModel, adapters swapped
        model = ruled.model
        model.eval()
        checkpoints = find_checkpoint_adapters(scratch / "rule")
        parts = {"seen_holdout": seen, "unseen_holdout": unseen}
        _, posthoc_seconds = score_checkpoints(model, loaded.tokenizer, checkpoints, parts,
                                               max_length=config.model.max_length)
        started = time.perf_counter()
        completion_token_stats(model, loaded.tokenizer, [*seen, *unseen], max_length=config.model.max_length,
                               batch_size=4, spread=False)
        one_pass = time.perf_counter() - started

    per_checkpoint = posthoc_seconds / max(len(checkpoints), 1)
    name = "stopping.md" if options.model is None else f"stopping_{Path(options.model).name}.md"
    lines = [
        f"Cost of stopping (`benchmarks/curves/stopping.py`): {'the embedded model' if options.model is None else options.model}, "
        f"{'bundled data' if options.data is None else options.data}, {len(train)} training rows, {plain.steps} steps, "
        f"{len({row.step for row in rule.rows})} curve points of {len(curve_seen)} + {len(curve_unseen)} items; "
        f"{os.cpu_count()} CPUs, load average (1 min) {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| training without curves | {plain_seconds:.1f} s |",
        f"| training with curves (stop_at end) | {curves_seconds:.1f} s ({curves_seconds / plain_seconds:.3f} of plain) |",
        f"| training with curves and the rule (best-unseen, never reached) | {rule_seconds:.1f} s |",
        f"| live stopping's overhead: rule run / curves run | {rule_seconds / curves_seconds:.3f} |",
        f"| rule run / plain run | {rule_seconds / plain_seconds:.3f} |",
        f"| time inside the rule (keep weights, decide, write state) | {rule.rule_seconds:.2f} s |",
        f"| post hoc: checkpoints scored | {len(checkpoints)} ({len(seen)} + {len(unseen)} hold-out items each) |",
        f"| post hoc: seconds per checkpoint | {per_checkpoint:.2f} s |",
        f"| one reference-NLL pass over both hold-outs | {one_pass:.2f} s |",
        f"| per checkpoint / one pass | {per_checkpoint / one_pass:.2f} |",
    ]
    write_text_atomic(RESULTS / name, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
