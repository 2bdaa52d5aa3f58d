"""`memgap train`: train a LoRA adapter with per-module gradient norms, and say where pressure went."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a LoRA adapter and record per-module gradient norms (works under accelerate launch)",
        description="Train a LoRA adapter on a data file; write DIR/adapter, DIR/gradnorms.csv, DIR/updates.csv.",
    )
    parser.add_argument("--data", required=True, help="JSONL, JSON, CSV or Parquet file of SFT records")
    parser.add_argument("--model", help="local model folder, .gguf file, or hub id (default: embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--config", help="audit.yaml with lora/training/model settings")
    parser.add_argument("--family-field", help="field holding each row's family (default: family)")
    parser.add_argument("--seed", type=int, help="seed for initialisation and data order (default 0)")
    parser.add_argument("--epochs", type=float, help="training epochs")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (overrides --epochs)")
    parser.add_argument("--seen-holdout", help="held-out rows of the training families: with --unseen-holdout, "
                        "their loss curves over training go to DIR/family_gap.csv")
    parser.add_argument("--unseen-holdout", help="rows of families held out whole (with --seen-holdout)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    from memgap.config import load_config
    from memgap.training.recipe import train_adapter

    config = load_config(args.config, {
        "seed": args.seed,
        "model.name": args.model,
        "data.family_field": args.family_field,
        "training.epochs": args.epochs,
        "training.max_steps": args.max_steps,
    })
    run = train_adapter(config, args.data, args.out, progress=not args.no_progress,
                        seen_holdout=args.seen_holdout, unseen_holdout=args.unseen_holdout)
    if not run.is_main_process:
        return 0
    loss = (f"; loss {run.train_loss_first:.3f} -> {run.train_loss_last:.3f}"
            if run.train_loss_first is not None and run.train_loss_last is not None else "")
    print(f"trained {run.steps} steps in {run.seconds:.1f} s ({run.tokens_per_s:.0f} tokens/s){loss}")
    if run.truncated_rows:
        print(f"{run.truncated_rows} rows were longer than model.max_length and were truncated")
    print(run.gradients.get("sentence", ""))
    print(f"adapter: {run.adapter_dir}")
    print(f"gradient norms: {run.gradnorms_csv}")
    print(f"realised updates: {run.updates_csv}")
    if run.curves is not None:
        print(run.curves["sentence"])
        print(f"loss curves: {run.family_gap_csv}")
    if run.stopping is not None:
        from memgap.training.stopping import stopping_summary

        print(stopping_summary(run.stopping)["sentence"])
    return 0
