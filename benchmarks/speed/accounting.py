"""Where a slice of the default audit's training and evaluation spends its time (cProfile, embedded model).

Trains the embedded SmolLM2-135M with the audit's LoRA settings on a few bundled training rows through
`train_lora` (checkpoint every `--save-steps` steps, so a write is measured), then scores and generates
for a few hold-out rows through `evaluate_model`. Each phase's time is read from the profile by the
function that does it. Run it with another checkout's src on PYTHONPATH to profile that code.

    .venv/bin/python benchmarks/speed/accounting.py [--steps 4] [--save-steps 2] [--items 8] [--new-tokens 32]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from memgap import splits  # noqa: E402
from memgap.config import LoraConfig, TrainingConfig  # noqa: E402
from memgap.data.io import read_records  # noqa: E402
from memgap.domains.tenacious import default_data_path  # noqa: E402
from memgap.evaluation.evaluate import merged_lora  # noqa: E402
from memgap.evaluation.generate import generate_completions  # noqa: E402
from memgap.evaluation.nll import completion_token_stats  # noqa: E402
from memgap.models import load_model  # noqa: E402
from memgap.training.sft import train_lora  # noqa: E402

# (phase, file fragment, function name): the phase's time is the cumulative time of that function.
TRAINING_PHASES = [
    ("whole `trainer.train`", "transformers/trainer.py", "train"),
    ("forward + loss", "transformers/trainer.py", "compute_loss"),
    ("backward", "torch/_tensor.py", "backward"),
    ("gradient clipping", "torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
    ("optimizer step", "torch/optim/optimizer.py", "wrapper"),
    ("gradient-norm callback", "memgap/training/gradnorm.py", "on_pre_optimizer_step"),
    ("gradient-norm callback (log, csv)", "memgap/training/gradnorm.py", "on_log"),
    ("logging", "transformers/trainer.py", "log"),
    ("checkpoint writes", "transformers/trainer.py", "_save_checkpoint"),
    ("batches (collate)", "transformers/data/data_collator.py", "__call__"),
]
FORWARD = ("transformers/models/llama/modeling_llama.py", "forward")  # the largest match: LlamaForCausalLM


def phase_seconds(stats: pstats.Stats, fragment: str, name: str) -> tuple[float, int]:
    """Cumulative seconds and primitive calls of the named function (the largest match, for nested ones)."""
    best = (0.0, 0)
    for (file, _, function), (primitive, _, _, cumulative, _) in stats.stats.items():
        if function == name and fragment in file.replace(os.sep, "/") and cumulative > best[0]:
            best = (cumulative, primitive)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--save-steps", type=int, default=2)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--label", default="")
    options = parser.parse_args()

    records = read_records(default_data_path())
    split = splits.nested_split(records, unseen_fraction=0.3, seen_per_family=1, seed=0)
    train = splits.cap_rows(split.train, 4 * options.steps, 0)
    holdout = splits.spread_over_families(split.seen_holdout, options.items, 0)
    started = time.perf_counter()
    loaded = load_model(None)
    load_seconds = time.perf_counter() - started

    training = TrainingConfig(max_steps=options.steps, save_steps=options.save_steps, batch_size=4, warmup_ratio=0.0)
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as folder:
        profile.enable()
        result = train_lora(loaded, train, lora=LoraConfig(), training=training, max_length=768,
                            output_dir=Path(folder), seed=0, progress=False)
        profile.disable()
    train_stats = pstats.Stats(profile)
    whole_train = phase_seconds(train_stats, "transformers/trainer.py", "train")[0]
    print(f"## {options.label or 'profile'}\n")
    print(f"load_model: {load_seconds:.1f} s; {options.steps} steps, batch 4, checkpoint every {options.save_steps}; "
          f"tokens/s (non-padding) {result.tokens_per_s:.1f}\n")
    print("| training phase | seconds | calls | share of `train` |\n|---|---|---|---|")
    for label, fragment, name in TRAINING_PHASES:
        seconds, calls = phase_seconds(train_stats, fragment, name)
        print(f"| {label} | {seconds:.2f} | {calls} | {seconds / whole_train:.1%} |", flush=True)

    evaluation = {}
    with merged_lora(result.model):
        for label, run in [
            ("reference NLL", lambda: completion_token_stats(result.model, loaded.tokenizer, holdout, max_length=768, batch_size=8)),
            ("generation", lambda: generate_completions(result.model, loaded.tokenizer, holdout,
                                                        max_new_tokens=options.new_tokens, batch_size=24)),
        ]:
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            run()
            profile.disable()
            evaluation[label] = (time.perf_counter() - started, phase_seconds(pstats.Stats(profile), *FORWARD))

    print(f"\n{len(holdout)} hold-out items, {options.new_tokens} new tokens\n")
    print("| evaluation phase | seconds | model forward calls | forward seconds | share outside the forward |\n|---|---|---|---|---|")
    for label, (seconds, (forward, calls)) in evaluation.items():
        print(f"| {label} | {seconds:.2f} | {calls} | {forward:.2f} | {1 - forward / seconds:.1%} |", flush=True)


if __name__ == "__main__":
    main()
