"""Batch sizes of the default audit's evaluation passes, measured alone: which settings the defaults take.

Embedded SmolLM2-135M (base weights), the default audit's split, interleaved rounds, medians:
1. greedy generation of the 32 hold-out prompts (192 new tokens) at `evaluation.generation_batch_size`
   24 (balanced: 16 + 16) against 32 (one batch), and whether the completions are identical;
2. a training-curve point (6 seen-family, 6 unseen-family and 2 training items, the default audit's
   curve sets) with LoRA attached as during training: the full token statistics in batches of 8
   against the NLL alone (`spread=False`) in batches of 8 and of 4.

Writes benchmarks/results/evaluation_batches.md.

    .venv/bin/python benchmarks/speed/evaluation_batches.py [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "curves"))

import peft  # noqa: E402
import torch  # noqa: E402
from run import default_holdouts, default_split  # noqa: E402  (benchmarks/curves/run.py: the default audit's sets)

from memgap.atomic import write_text_atomic  # noqa: E402
from memgap.config import load_config  # noqa: E402
from memgap.evaluation.generate import generate_completions  # noqa: E402
from memgap.evaluation.nll import completion_token_stats  # noqa: E402
from memgap.models import load_model  # noqa: E402
from memgap.training.architectures import default_lora_targets  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results" / "evaluation_batches.md"


def seconds(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    config = load_config()
    train, curve_seen, curve_unseen, sample = default_split(config)
    _, seen, unseen = default_holdouts(config)
    prompts = seen + unseen
    loaded = load_model(None)
    model, tokenizer = loaded.model, loaded.tokenizer
    load = f"load average (1 min) {os.getloadavg()[0]:.1f} at the start"

    generation: dict[int, list[float]] = {24: [], 32: []}
    completions: dict[int, list[str]] = {}
    for _ in range(options.rounds):
        for size in generation:
            generation[size].append(seconds(lambda: completions.__setitem__(size, generate_completions(
                model, tokenizer, prompts, max_new_tokens=config.evaluation.max_new_tokens, batch_size=size))))
    same = sum(a == b for a, b in zip(completions[24], completions[32]))

    lora = peft.get_peft_model(model, peft.LoraConfig(task_type="CAUSAL_LM", r=config.lora.r, lora_alpha=config.lora.alpha,
                                                      target_modules=default_lora_targets(model)))
    lora.eval()
    sets = [curve_seen, curve_unseen, sample]
    variants = {"full statistics, batches of 8": (8, True), "NLL only, batches of 8": (8, False),
                "NLL only, batches of 4 (the callback's default)": (4, False)}
    point: dict[str, list[float]] = {name: [] for name in variants}

    def score(batch: int, spread: bool) -> None:
        for records in sets:
            completion_token_stats(lora, tokenizer, records, max_length=config.model.max_length, batch_size=batch, spread=spread)

    score(4, False)  # warm-up
    for _ in range(options.rounds):
        for name, (batch, spread) in variants.items():
            point[name].append(seconds(lambda: score(batch, spread)))

    lines = [
        "# Evaluation batch sizes (`benchmarks/speed/evaluation_batches.py`)", "",
        f"Greedy generation of the default audit's {len(prompts)} hold-out prompts, "
        f"{config.evaluation.max_new_tokens} new tokens, base model, float32:", "",
        "| `evaluation.generation_batch_size` | batches | seconds (median) | ratio to 24 |", "|---|---|---|---|",
    ]
    base = statistics.median(generation[24])
    for size, times in generation.items():
        count = -(-len(prompts) // size)
        lines.append(f"| {size} | {count} | {statistics.median(times):.1f} | {statistics.median(times) / base:.2f} |")
    lines += ["", f"Completions identical at 24 and 32: {same} of {len(prompts)}.", "",
              f"One training-curve point ({len(curve_seen)} + {len(curve_unseen)} + {len(sample)} items, LoRA attached):", "",
              "| scoring | seconds (median) | ratio to full statistics in batches of 8 |", "|---|---|---|"]
    first = statistics.median(point[next(iter(variants))])
    for name, times in point.items():
        lines.append(f"| {name} | {statistics.median(times):.2f} | {statistics.median(times) / first:.2f} |")
    lines += ["", f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; {load}, "
              f"{os.getloadavg()[0]:.1f} at the end; {options.rounds} interleaved rounds."]
    write_text_atomic(RESULTS, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
