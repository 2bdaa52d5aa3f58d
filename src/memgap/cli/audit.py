"""`memgap audit`: audit a LoRA adapter trained anywhere, on a nested split or on a train/eval pair."""
from __future__ import annotations

import argparse
import logging

from memgap.cli.common import add_shared_flags


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="audit an adapter you already trained (TRL, Unsloth, axolotl, PEFT): lifts, gap, probes, verdict",
        description="Audit a PEFT LoRA adapter on its base model. Data: --split DIR from `memgap split --strategy nested` "
                    "(randomized protocol), or --train FILE --eval FILE (observational: eval rows with and without a "
                    "training sibling).",
    )
    parser.add_argument("--model", help="the base model: local folder, .gguf file, or hub id (default: embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--adapter", required=True, help="adapter folder (adapter_config.json + adapter_model.safetensors)")
    parser.add_argument("--split", metavar="DIR", help="folder written by `memgap split --strategy nested` (or a run folder's split/)")
    parser.add_argument("--train", metavar="FILE", help="the adapter's training data (observational protocol, with --eval)")
    parser.add_argument("--eval", metavar="FILE", dest="evaluation", help="evaluation data (observational protocol, with --train)")
    parser.add_argument("--training-dir", metavar="DIR", help="the Trainer's output_dir: loss curve (trainer_state.json), gradient norms (gradnorms.csv, GradNormCallback), seen- and unseen-family loss over training (family_gap.csv, FamilyGapCallback)")
    parser.add_argument("--config", help="audit.yaml with settings (see docs/architecture.md)")
    parser.add_argument("--out", help="audit folder (default: memgap-audit)")
    parser.add_argument("--seed", type=int, help="seed for sampling and resampling (default 0)")
    parser.add_argument("--quick", action="store_true", default=None,
                        help="the evaluation sizes of `memgap run --quick` (generation length, membership rows, resamples), to "
                             "reproduce a quick run's figures; the hold-outs given are evaluated whole (a quick run's "
                             "split/ already holds its capped parts)")
    parser.add_argument("--allow-noop", action="store_true", default=None,
                        help="audit an adapter that changes nothing (all LoRA B matrices zero) with a warning instead of refusing it")
    parser.add_argument("--off-task", metavar="FILE", help="your own off-task prompts for the template-intrusion probe "
                        "(JSONL with a `prompt` field, or one prompt a line; default: the bundled everyday questions)")
    add_shared_flags(parser, folder="audit")
    parser.set_defaults(func=audit_command)


def audit_command(args: argparse.Namespace) -> int:
    from memgap.adapter_audit import audit_adapter
    from memgap.cli.run import print_summary
    from memgap.config import load_config

    logging.getLogger("memgap").setLevel(logging.INFO)
    config = load_config(args.config, {
        "quick": args.quick,
        "seed": args.seed,
        "out": args.out,
        # The adapter is already trained: size presets for memgap's own training do not apply.
        "data.path": args.split or args.train or "",
        "data.family_field": args.family_field,
        "data.infer_families": args.infer,
        "model.name": args.model,
        "model.trust_remote_code": args.trust_remote_code,
        "evaluation.scorer": args.scorer,
        "probes.allow_noop": args.allow_noop,
        "probes.off_task_file": args.off_task,
        # The given hold-outs are evaluated whole: --quick's split caps are not applied, so not recorded either.
        "split.max_train_rows": None,
        "split.max_holdout_items": None,
    })
    audit = audit_adapter(config, adapter=args.adapter, split_dir=args.split, train_path=args.train,
                          eval_path=args.evaluation, training_dir=args.training_dir, fresh=args.fresh,
                          progress=not args.no_progress)
    print(f"protocol: {audit['protocol']}")
    if audit["protocol"] == "observational":
        partition = audit["split"]["partition"]
        print(f"eval rows with a training sibling: {partition['with_training_sibling']}, without: "
              f"{partition['without_training_sibling']} ({partition['family_source']} families)")
    checkpoints = (audit.get("training_curves") or {}).get("checkpoints")
    if isinstance(checkpoints, dict):  # --training-dir with checkpoint-N adapters: the one to ship
        print(checkpoints["sentence"])
    elif (audit.get("training") or {}).get("checkpoints_note"):
        print(f"note: {audit['training']['checkpoints_note']}")
    print_summary(audit, config.out)
    return 0
