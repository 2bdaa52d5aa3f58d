"""Live stopping against training to the end, on the planted data sets (`run.py --stop-at best-unseen`).

Per data set and seed: the validity run trained to the end (read back where `make validity` left it,
trained otherwise), the same run under `training.stop_at` with its checkpoints kept, and
`memgap audit --training-dir` of the stopped run (the curves scored post hoc from the checkpoints).
Checked, as the issue asks:

- the restored adapter's unseen-family loss is within 2 % of the lowest on its curve;
- memorizable: the restored adapter's seen/unseen score gap is smaller than the final adapter's;
- learnable: the restored adapter's unseen score lift lies within the final adapter's 95 % interval;
- the post-hoc curves from the checkpoints agree with the live curves at the steps both scored.

Writes benchmarks/results/validity_stopping.md after each pair.
"""
from __future__ import annotations

import json
from pathlib import Path

from validity_data import make_rows

from memgap.adapter_audit import audit_adapter
from memgap.atomic import write_text_atomic
from memgap.config import load_config
from memgap.data.io import write_jsonl
from memgap.pipeline import run_audit

# 96 training rows in batches of 4 for 4 epochs: 96 steps, curve points every 12th step; a checkpoint at each
SAVE_STEPS = 12
WITHIN = 0.02  # the restored unseen-family loss may exceed the curve's lowest by this share
HEADER = [
    "| data set | seed | trained to step | restored step | restored unseen NLL | lowest on its curve (step) | within 2 % "
    "| lowest, trained to the end (step) | score gap: restored / final | unseen score lift: restored / final [95% CI] "
    "| criterion | post-hoc = live |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def _lowest(curves: dict) -> tuple[float, int]:
    point = min(curves["points"], key=lambda p: p["unseen_holdout"]["mean"])
    return point["unseen_holdout"]["mean"], point["step"]


def compare(kind: str, seed: int, final: dict, stopped: dict, posthoc: dict) -> tuple[str, dict]:
    """One table row and the checks for one data set and seed."""
    curves = stopped["training_curves"]
    stopping = curves["stopping"]
    restored_unseen = stopping["restored"]["unseen_holdout_nll"]
    lowest, lowest_step = _lowest(curves)
    lowest_full, lowest_full_step = _lowest(final["training_curves"])
    within = restored_unseen <= lowest * (1 + WITHIN)
    gap_restored, gap_final = stopped["gap"]["score"]["delta"], final["gap"]["score"]["delta"]
    lift_restored, lift_final = stopped["lifts"]["score"]["unseen"], final["lifts"]["score"]["unseen"]
    low, high = lift_final["ci_low"], lift_final["ci_high"]
    if kind == "memorizable":
        criterion = gap_restored < gap_final
        criterion_text = "gap smaller" if criterion else "gap not smaller"
    else:
        criterion = (low is None or low <= lift_restored["delta"]) and (high is None or lift_restored["delta"] <= high)
        criterion_text = "lift within CI" if criterion else "lift outside CI"
    agreement = ((posthoc.get("training_curves") or {}).get("checkpoints") or {}).get("agreement") or {}
    agrees = bool(agreement.get("agree"))
    largest = agreement.get("largest_nll_difference")

    def bound(value):
        return "unbounded" if value is None else f"{value:+.3f}"

    row = (f"| {kind} | {seed} | {stopping['stopped_at_step']} of {stopping['max_steps']} | {stopping['restored_step']} "
           f"| {restored_unseen:.3f} | {lowest:.3f} ({lowest_step}) | {'yes' if within else 'no'} "
           f"| {lowest_full:.3f} ({lowest_full_step}) "
           f"| {gap_restored:+.3f} / {gap_final:+.3f} | {lift_restored['delta']:+.3f} / {lift_final['delta']:+.3f} "
           f"[{bound(low)}, {bound(high)}] | {criterion_text} "
           f"| {'yes' if agrees else 'no'} (largest difference {'n/a' if largest is None else format(largest, '.1e')} "
           f"nats at steps {agreement.get('common_steps')}) |")
    return row, {"within_2_percent": within, "criterion": bool(criterion), "post_hoc_agrees": agrees}


def compare_stopping(args, *, settings, results: Path) -> int:
    """Run the comparison for `args.kinds` and `args.seeds`; `settings(kind, seed, data, out, precision)` is
    run.py's settings of one validity run."""
    seeds = [int(s) for s in args.seeds.split(",")]
    kinds = args.kinds.split(",")
    out = Path(args.out)
    lines, checks = list(HEADER), []
    for kind in kinds:
        data = write_jsonl(out / f"{kind}.jsonl", make_rows(kind, seed=0))
        for seed in seeds:
            final = run_audit(load_config(overrides=settings(
                kind, seed, data, out / f"{kind}-{args.precision}-seed{seed}", args.precision)), progress=False)
            stop_dir = out / f"{kind}-{args.precision}-stop-{args.stop_at}-seed{seed}"
            rule = {**settings(kind, seed, data, stop_dir, args.precision), "training.stop_at": args.stop_at,
                    "training.stop_patience": args.patience, "training.keep_checkpoints": True,
                    "training.save_steps": SAVE_STEPS}
            stopped = run_audit(load_config(overrides=rule), progress=False)
            posthoc = audit_adapter(
                load_config(overrides={**rule, "out": str(stop_dir / "posthoc"), "data.path": str(stop_dir / "split"),
                                       "split.max_train_rows": None, "split.max_holdout_items": None}),
                adapter=stop_dir / "training" / "adapter", split_dir=stop_dir / "split",
                training_dir=stop_dir / "training", progress=False)
            row, passed = compare(kind, seed, final, stopped, posthoc)
            lines.append(row)
            checks.append(passed)
            print(row, flush=True)
            done, total = len(checks), len(kinds) * len(seeds)
            status = "complete" if done == total else f"in progress: {done} of {total}"
            write_text_atomic(results, (
                f"Live stopping on the planted data sets (`benchmarks/validity/run.py --stop-at {args.stop_at}`, "
                f"{status}): training.stop_at {args.stop_at}"
                + (f", patience {args.patience} curve points" if args.stop_at == "best-unseen" else "")
                + f", 8 curve points, checkpoints every {SAVE_STEPS} steps; the final adapter is the `make validity` "
                f"run trained to the end (training.precision {args.precision}). Criterion: memorizable, the restored "
                "adapter's seen-unseen score gap is smaller than the final adapter's; learnable, its unseen score "
                "lift lies within the final adapter's 95 % interval. Post-hoc: `memgap audit --training-dir` of the "
                "stopped run's checkpoints against its live family_gap.csv, per item, at the steps both scored.\n\n"
                + "\n".join(lines) + "\n"))
    summary = {key: all(check[key] for check in checks) for key in ("within_2_percent", "criterion", "post_hoc_agrees")}
    print(json.dumps(summary))
    return 0 if all(summary.values()) else 1
