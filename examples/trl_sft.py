"""Train a LoRA adapter with TRL's SFTTrainer on memgap's nested split, then audit it with memgap.

The recipe for people who train with their own stack (a GPU, TRL, Unsloth, axolotl): memgap writes
the split, your trainer trains on its train.jsonl with memgap's GradNormCallback (per-module gradient
norms) and FamilyGapCallback (seen- and unseen-family loss over training) added, and
`memgap audit` compares the adapter's lifts on the seen-family and unseen-family hold-outs.

    memgap split data.jsonl --strategy nested --out split
    python examples/trl_sft.py --model BASE --split split --out trl-run
    memgap audit --model BASE --adapter trl-run/adapter --split split --training-dir trl-run --out audit

`--audit` runs the last command at the end. Needs `pip install "memgap[trl]"`. On several GPUs:
`accelerate launch examples/trl_sft.py ...` (docs/training.md). Without a CUDA GPU it trains on the CPU
in float32 (`device_settings`: TRL's SFTConfig turns bf16 on by default, which a CPU-only machine refuses).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="base model: local folder or hub id")
    parser.add_argument("--split", required=True, help="folder written by `memgap split --strategy nested`")
    parser.add_argument("--out", required=True, help="Trainer output_dir; the adapter goes to OUT/adapter")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=768)
    parser.add_argument("--r", type=int, default=16, help="LoRA rank")
    parser.add_argument("--alpha", type=int, default=32, help="LoRA alpha")
    parser.add_argument("--target-modules", default="q_proj,k_proj,v_proj,o_proj")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audit", action="store_true", help="run `memgap audit` on the result")
    parser.add_argument("--audit-config", help="audit.yaml for `memgap audit` (with --audit)")
    return parser.parse_args(argv)


def device_settings() -> dict:
    """SFTConfig's `use_cpu` and `bf16` for this machine: bf16 autocast on a CUDA GPU that supports it,
    float32 on the CPU elsewhere.

    TRL's SFTConfig sets `bf16=True` unless told otherwise; without a CUDA GPU transformers then stops
    with "Your setup doesn't support bf16/gpu" unless `use_cpu=True`, and `use_cpu=True` alone would
    emulate bfloat16 on the CPU, many times slower than float32 on a CPU without native bfloat16.
    """
    import torch

    cuda = torch.cuda.is_available()
    return {"use_cpu": not cuda, "bf16": cuda and torch.cuda.is_bf16_supported()}


def to_prompt_completion(row: dict) -> dict:
    """A chat row (messages ending in the assistant's answer) as TRL's conversational prompt/completion,
    so the loss covers the completion only, as in memgap's own training."""
    if row.get("messages"):
        return {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}
    return {"prompt": row["prompt"], "completion": row["completion"]}


def main(argv=None) -> None:
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from memgap import FamilyGapCallback, GradNormCallback
    from memgap.data.io import read_records

    args = parse_args(argv)
    out = Path(args.out)
    train = load_dataset("json", data_files=str(Path(args.split) / "train.jsonl"), split="train")
    train = train.map(to_prompt_completion, remove_columns=train.column_names)
    trainer = SFTTrainer(
        model=args.model,
        train_dataset=train,
        args=SFTConfig(
            output_dir=str(out), num_train_epochs=args.epochs, max_steps=args.max_steps,
            per_device_train_batch_size=args.batch_size, learning_rate=args.learning_rate,
            max_length=args.max_length, logging_steps=1, save_strategy="no", report_to="none", seed=args.seed,
            **device_settings(),  # use_cpu and bf16: TRL's default bf16 needs a GPU that has it
        ),
        peft_config=LoraConfig(r=args.r, lora_alpha=args.alpha, target_modules=args.target_modules.split(","),
                               task_type="CAUSAL_LM"),
        callbacks=[
            GradNormCallback(out / "gradnorms.csv"),  # per-module pre-clip gradient norms
            # Completion NLL of both hold-outs at 4 points over training: where the seen-family loss keeps
            # falling while the unseen-family loss stalls, the adapter started memorizing its families.
            FamilyGapCallback(read_records(Path(args.split) / "seen_holdout.jsonl"),
                              read_records(Path(args.split) / "unseen_holdout.jsonl"),
                              path=out / "family_gap.csv", max_length=args.max_length, eval_points=4),
        ],
    )
    trainer.train()
    trainer.save_model(str(out / "adapter"))  # PEFT files: adapter_config.json, adapter_model.safetensors
    trainer.save_state()  # trainer_state.json: the loss curve memgap audit reads
    if args.audit and trainer.is_world_process_zero():
        from memgap.cli import main as memgap

        memgap(["audit", "--model", args.model, "--adapter", str(out / "adapter"), "--split", args.split,
                "--training-dir", str(out), "--out", str(out / "audit"), "--no-progress",
                *(["--config", args.audit_config] if args.audit_config else [])])


if __name__ == "__main__":
    main()
