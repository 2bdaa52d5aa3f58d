"""Validity experiment: memgap's verdict on two data sets whose right answer is known, 3 seeds each.

`learnable` must come out `generalizes`, `memorizable` must come out `memorizes-families`. Over
training, the seen-/unseen-family loss curves must show a lasting onset (the gap opens and stays
open) on `memorizable` and none on `learnable`; each row reports the onset and the best step.
Writes benchmarks/results/validity.md (float32 training) or validity_bf16.md (`--precision bf16`: bfloat16
autocast training, evaluation in float32 as always) after each run. Runs the embedded model on the CPU:
about 6 minutes a run on 2 free cores, 35 minutes for all six; bf16 is run only where the CPU has native
bfloat16 (emulated, it would take many times longer), unless `--force` is given.

`--stop-at best-unseen` (or `onset`) instead compares live stopping with training to the end
(benchmarks/validity/stopping.py): per data set and seed, the run to the end (read back where
`make validity` left it), the same run with the rule, and `memgap audit --training-dir` of the
stopped run's kept checkpoints; writes benchmarks/results/validity_stopping.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from validity_data import make_rows  # noqa: E402

from memgap.atomic import write_text_atomic  # noqa: E402
from memgap.config import load_config  # noqa: E402
from memgap.data.io import write_jsonl  # noqa: E402
from memgap.pipeline import run_audit  # noqa: E402
from memgap.training.precision import cpu_has_native_bf16  # noqa: E402

EXPECTED = {"learnable": "generalizes", "memorizable": "memorizes-families"}
# Recalling a random code needs repetition: 4 passes over ~5 siblings per family. The same budget
# applies to both data sets, so the verdicts differ only because the data do.
EPOCHS = 4.0
SCORERS = {"learnable": "scorers:house_format", "memorizable": "scorers:code_recall"}


# Over training: the memorizable data must show the gap opening and staying open, the learnable data must not.
EXPECTED_ONSET = {"learnable": False, "memorizable": True}
HEADER = [
    "| data set | seed | expected | verdict | score lift seen [95% CI] | score lift unseen [95% CI] | gap (p) "
    "| gap opened at step | unseen loss lowest at step |",
    "|---|---|---|---|---|---|---|---|---|",
]


def fmt(value) -> str:
    return "unbounded" if value is None else f"{value:+.3f}"


def curve_cells(audit: dict) -> tuple[str, str]:
    """'S of T' where the gap opened (or 'none of T') and the step with the lowest unseen-family loss."""
    curves = audit.get("training_curves")
    if not curves:
        return "not measured", "not measured"
    total = curves["total_steps"]
    onset = curves.get("onset")
    return (f"{onset['step']} of {total}" if onset else f"none of {total}"), f"{curves['best_step']} of {total}"


def is_right(kind: str, audit: dict) -> bool:
    """The expected verdict, and the expected course over training (an onset on memorizable data only)."""
    curves = audit.get("training_curves")
    onset_right = curves is not None and (curves.get("onset") is not None) == EXPECTED_ONSET[kind]
    return audit["verdict"]["label"] == EXPECTED[kind] and onset_right


def table_row(kind: str, seed: int, audit: dict) -> str:
    """One Markdown row of the validity table."""
    label = audit["verdict"]["label"]
    seen, unseen = audit["lifts"]["score"]["seen"], audit["lifts"]["score"]["unseen"]
    gap = audit["gap"]["score"]
    opened, best = curve_cells(audit)
    return (
        f"| {kind} | {seed} | {EXPECTED[kind]} | **{label}** | {seen['delta']:+.3f} [{fmt(seen['ci_low'])}, {fmt(seen['ci_high'])}] "
        f"| {unseen['delta']:+.3f} [{fmt(unseen['ci_low'])}, {fmt(unseen['ci_high'])}] "
        f"| {gap['delta']:+.3f} (p={'n/a' if gap['p_value'] is None else format(gap['p_value'], '.3g')}) "
        f"| {opened} | {best} |"
    )


def run_settings(kind: str, seed: int, data: Path, out: Path, precision: str) -> dict:
    """The settings of one validity run (also the run to the end that --stop-at compares with)."""
    return {
        "seed": seed, "out": str(out), "data.path": str(data),
        "training.precision": precision,
        "evaluation.scorer": SCORERS[kind], "evaluation.max_new_tokens": 24,
        "evaluation.membership_train_rows": 16, "split.max_train_rows": 96,
        "split.max_holdout_items": 20, "training.epochs": EPOCHS, "model.max_length": 128,
        "stats.n_resamples": 4000,
        # template intrusion has its own planted pair (benchmarks/probes/intrusion_pair.py); off here to keep each run's time
        "probes.off_task": False,
        # the curves on every hold-out item at the 8 points: rows of 128 tokens make them cheap here
        "training.curve_points": 8, "training.curve_holdout_items": 20, "training.curve_train_items": 8,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--kinds", default="learnable,memorizable", help="which data sets, in this order")
    parser.add_argument("--out", default="runs/validity")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="training.precision of every run")
    parser.add_argument("--force", action="store_true", help="run bf16 also where the CPU emulates it")
    parser.add_argument("--results", default=None, help="default: benchmarks/results/validity.md (fp32), validity_bf16.md")
    parser.add_argument("--stop-at", choices=("best-unseen", "onset"), default=None,
                        help="compare training.stop_at with training to the end (writes validity_stopping.md)")
    parser.add_argument("--patience", type=int, default=2, help="training.stop_patience with --stop-at best-unseen")
    args = parser.parse_args()
    if args.stop_at:
        from stopping import compare_stopping

        return compare_stopping(args, settings=run_settings, results=Path(
            args.results or HERE.parent / "results" / "validity_stopping.md"))
    results = Path(args.results or HERE.parent / "results" / ("validity.md" if args.precision == "fp32" else "validity_bf16.md"))
    if args.precision == "bf16" and not cpu_has_native_bf16() and not args.force:
        print("bf16 validity not run: this CPU has no native bfloat16 (AVX512_BF16 or AMX); --force runs it emulated")
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    lines = list(HEADER)
    kinds = args.kinds.split(",")
    total, all_right = len(kinds) * len(seeds), True
    for kind in kinds:
        data = write_jsonl(out / f"{kind}.jsonl", make_rows(kind, seed=0))
        for seed in seeds:
            config = load_config(overrides=run_settings(kind, seed, data, out / f"{kind}-{args.precision}-seed{seed}",
                                                        args.precision))
            audit = run_audit(config, progress=False)
            all_right &= is_right(kind, audit)
            lines.append(table_row(kind, seed, audit))
            print(lines[-1], flush=True)
            done = len(lines) - 2
            status = "complete" if done == total else f"in progress: {done} of {total} runs"
            write_text_atomic(results, (
                f"Validity experiment (`make validity`, {status}): verdicts on data sets with a known answer, "
                f"embedded model, CPU; {EPOCHS:g} epochs over at most 96 training rows, 20 items per hold-out; "
                f"training.precision {args.precision}, evaluation in float32.\n\n"
                + "\n".join(lines) + "\n"
            ))
    print(json.dumps({"all_verdicts_and_onsets_right": all_right}))
    return 0 if all_right else 1


if __name__ == "__main__":
    sys.exit(main())
