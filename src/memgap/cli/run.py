"""`memgap run`: the whole audit (nested hold-out protocol) on a data set and a model."""
from __future__ import annotations

import argparse
import logging
import sys

from memgap.cli.common import add_shared_flags
from memgap.errors import MemgapError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the whole audit: split, train once, evaluate both hold-outs, verdict, report",
        description="Run the nested hold-out audit. With no arguments: the bundled Tenacious data on the embedded model.",
    )
    parser.add_argument("--config", help="audit.yaml with settings (see docs/configuration.md)")
    parser.add_argument("--data", help="JSONL, JSON, CSV or Parquet file of SFT records (default: bundled Tenacious set)")
    parser.add_argument("--model", help="local model folder, .gguf file, or hub id (default: embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--out", help="run folder (default: memgap-audit)")
    parser.add_argument("--quick", action="store_true", default=None, help="a smaller audit that finishes in about 5 minutes on 2 CPU cores")
    parser.add_argument("--seed", type=int, help="seed for the split, training and resampling (default 0)")
    parser.add_argument("--seeds", help="comma-separated seeds: repeat split, training and evaluation, and pool (e.g. 0,1,2)")
    parser.add_argument("--allow-noop", action="store_true", default=None,
                        help="go on when training left the adapter unchanged (all LoRA B matrices zero), with a warning")
    parser.add_argument("--off-task", metavar="FILE", help="your own off-task prompts for the template-intrusion probe "
                        "(JSONL with a `prompt` field, or one prompt a line; default: the bundled everyday questions)")
    add_shared_flags(parser, folder="run")
    parser.set_defaults(func=run_command)


def config_from_args(args: argparse.Namespace):
    from memgap.config import load_config

    seeds = None
    if args.seeds:
        try:
            seeds = [int(part) for part in args.seeds.split(",") if part.strip()]
        except ValueError:
            raise MemgapError(f"--seeds must be comma-separated integers, got '{args.seeds}'") from None
    overrides = {
        "quick": args.quick,
        "seed": args.seed if args.seed is not None else (seeds[0] if seeds else None),
        "seeds": seeds,
        "out": args.out,
        "data.path": args.data,
        "data.family_field": args.family_field,
        "data.infer_families": args.infer,
        "model.name": args.model,
        "model.trust_remote_code": args.trust_remote_code,
        "evaluation.scorer": args.scorer,
        "probes.allow_noop": args.allow_noop,
        "probes.off_task_file": args.off_task,
    }
    return load_config(args.config, overrides)


def run_command(args: argparse.Namespace) -> int:
    from memgap.multiseed import run_seeds

    progress_log = logging.getLogger("memgap")
    if progress_log.getEffectiveLevel() > logging.INFO:  # -v may have asked for more already
        progress_log.setLevel(logging.INFO)
    config = config_from_args(args)
    audit = run_seeds(config, fresh=args.fresh, progress=not args.no_progress)
    print_summary(audit, config.out)
    return 0


def print_summary(audit: dict, out: str) -> None:
    """The verdict, then every lift and gap on one line each; an undefined interval or p-value says why."""
    from memgap.report.formatting import estimate_line, is_pooled

    alpha = float(((audit.get("config") or {}).get("stats") or {}).get("alpha", 0.05))
    verdict = audit["verdict"]
    print(f"\nverdict: {verdict['label']}")
    print(verdict["claim"])
    estimates = [s for lifts in audit["lifts"].values() for s in lifts.values()]
    pooled = any(is_pooled(s) for s in estimates)
    kind = f"pooled over {len(audit.get('seeds') or [])} seeds" if pooled else "family-clustered"
    print(f"\nlift (adapter over base; positive is better), {kind}:")
    observational = audit.get("protocol") == "observational"
    part_names = {"seen": "with sibling", "unseen": "no sibling", "gap": "gap"} if observational \
        else {"seen": "seen", "unseen": "unseen", "gap": "gap"}
    width = max(len(name) for name in part_names.values())
    for metric, by_holdout in audit["lifts"].items():
        for holdout in ("seen", "unseen"):
            print(f"  {metric:5s} {part_names[holdout]:{width}s} {estimate_line(by_holdout[holdout], alpha=alpha)}")
        gap = (audit.get("gap") or {}).get(metric)
        if isinstance(gap, dict):
            print(f"  {metric:5s} {'gap':{width}s} {estimate_line(gap, alpha=alpha)}")
    stopping = (audit.get("training_curves") or {}).get("stopping")
    if isinstance(stopping, dict) and stopping.get("sentence"):
        print(f"\nstopping: {stopping['sentence']}")
    for warning in audit.get("warnings") or []:
        print(f"warning: {warning}")
    print(f"\nwrote {out}/audit.json, {out}/report.md, {out}/report.html", file=sys.stdout)

