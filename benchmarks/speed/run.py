"""Throughput of the audit's training and evaluation against the model's raw rates, in one run.

Embedded SmolLM2-135M, LoRA r=8 on all seven projections, bundled Tenacious rows. Three comparisons,
each interleaved round by round so that drift in machine load hits both sides alike (medians):

1. training: `train_lora` (the audit's Trainer: its seeded random batches, logging, gradient-norm
   callback, optimizer, checkpoint) against a bare forward+backward over the same rows in
   length-sorted batches (less padding than random ones, so the ratio is a lower bound); both in
   non-padding tokens per second. Goal: a ratio of at least 0.8.
2. precision: bf16 autocast against float32 for a forward+backward and for reference NLL (largest
   per-item difference), run only where the CPU/GPU has native bfloat16 (else the reason is written).
3. generation: `generate_completions`' `model.generate` (dynamic and static KV cache) against a manual
   greedy loop of forward passes with the KV cache, on the same left-padded prompts, in new tokens per second.

    .venv/bin/python benchmarks/speed/run.py [--rounds 2] [--train-rows 8] [--prompts 8] [--new-tokens 24]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import peft  # noqa: E402
import torch  # noqa: E402

from memgap import splits  # noqa: E402
from memgap.config import LoraConfig, TrainingConfig  # noqa: E402
from memgap.data.io import read_records  # noqa: E402
from memgap.domains.tenacious import default_data_path  # noqa: E402
from memgap.encoding import IGNORE_INDEX, encode_all, prompt_text  # noqa: E402
from memgap.evaluation.batching import length_batches  # noqa: E402
from memgap.evaluation.generate import _left_padded, _stop_token_ids  # noqa: E402
from memgap.evaluation.nll import completion_token_stats  # noqa: E402
from memgap.models import load_model  # noqa: E402
from memgap.training.architectures import default_lora_targets  # noqa: E402
from memgap.training.precision import cpu_flags, cpu_has_native_bf16  # noqa: E402
from memgap.training.sft import train_lora  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results" / "speed.md"
BATCH = 4


def padded(examples, pad_id):
    """Right-padded input_ids, attention_mask and completion-only labels, as the training collator makes them."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), IGNORE_INDEX)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n], labels[row, :n], mask[row, :n] = torch.tensor(example.input_ids), torch.tensor(example.labels), 1
    return ids, mask, labels


def raw_training_rate(loaded, examples, *, bf16=False) -> float:
    """Non-padding tokens per second of a bare forward+backward with fresh LoRA, length-sorted batches."""
    model = peft.get_peft_model(loaded.model, peft.LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                                                              target_modules=default_lora_targets(loaded.model)))
    model.train()
    batches = length_batches([len(e.input_ids) for e in examples], BATCH)
    started = time.perf_counter()
    for batch in batches:
        ids, mask, labels = padded([examples[i] for i in batch], loaded.tokenizer.pad_token_id)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
    seconds = time.perf_counter() - started
    model.unload()
    return sum(len(e.input_ids) for e in examples) / seconds


def pipeline_training_rate(loaded, rows, examples, folder: Path, precision: str) -> float:
    training = TrainingConfig(max_steps=len(rows) // BATCH, batch_size=BATCH, warmup_ratio=0.0, precision=precision)
    result = train_lora(loaded, rows, lora=LoraConfig(), training=training, max_length=768, output_dir=folder,
                        seed=0, resume=False, progress=False, examples=examples)
    result.model.unload()
    return sum(len(e.input_ids) for e in examples) / result.seconds


@torch.no_grad()
def raw_decode(model, encoded, steps: int) -> None:
    """Greedy decoding by hand: one prefill, then one forward per token with the KV cache."""
    mask = encoded["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=encoded["input_ids"], attention_mask=mask, position_ids=positions, use_cache=True)
    past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    position = positions[:, -1:]
    for _ in range(steps - 1):
        mask = torch.cat([mask, torch.ones_like(token)], dim=1)
        position = position + 1
        out = model(input_ids=token, attention_mask=mask, position_ids=position, past_key_values=past, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)


@torch.no_grad()
def generate(model, tokenizer, encoded, new_tokens: int, cache: str | None) -> int:
    extra = {"cache_implementation": cache} if cache else {}
    generated = model.generate(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                               num_beams=1, pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_token_ids(tokenizer), **extra)
    return generated.shape[1] - encoded["input_ids"].shape[1]


@torch.no_grad()
def decode_step_seconds(model, batch_size: int, *, context: int = 64, steps: int = 6) -> float:
    """Median seconds of one cached decoding step for `batch_size` rows (after a short prefill)."""
    ids = torch.randint(100, 1000, (batch_size, context))
    out = model(input_ids=ids, use_cache=True)
    past, token, times = out.past_key_values, out.logits[:, -1:].argmax(-1), []
    for _ in range(steps):
        started = time.perf_counter()
        out = model(input_ids=token, past_key_values=past, use_cache=True)
        times.append(time.perf_counter() - started)
        past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
    return statistics.median(times)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train-rows", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--only-steps", action="store_true", help="only the decoding-step table")
    options = parser.parse_args()
    load_before = os.getloadavg()
    torch.manual_seed(0)
    records = read_records(default_data_path())
    split = splits.nested_split(records, unseen_fraction=0.3, seen_per_family=1, seed=0)
    rows = splits.cap_rows(split.train, options.train_rows, 0)
    prompts_records = splits.spread_over_families(split.seen_holdout, options.prompts, 0)
    loaded = load_model(None)
    tokenizer = loaded.tokenizer
    examples = encode_all(tokenizer, rows, 768)
    native_bf16 = cpu_has_native_bf16()
    lines = ["# Speed: the pipeline against the model's raw rates", ""]

    training = {"pipeline (train_lora)": [], "raw forward+backward": []}
    if not options.skip_training:
        raw_training_rate(loaded, examples[:BATCH])  # warm-up: the first passes allocate and pick kernels
        with tempfile.TemporaryDirectory() as folder:
            for round_ in range(options.rounds):
                raw_first = round_ % 2 == 0  # alternate which side runs first in a round
                if raw_first:
                    training["raw forward+backward"].append(raw_training_rate(loaded, examples))
                training["pipeline (train_lora)"].append(pipeline_training_rate(loaded, rows, examples, Path(folder) / str(round_), "fp32"))
                if not raw_first:
                    training["raw forward+backward"].append(raw_training_rate(loaded, examples))
        raw = statistics.median(training["raw forward+backward"])
        lines += [f"## Training ({len(rows)} bundled rows, batch {BATCH}, float32, {options.rounds} interleaved rounds)", "",
                  "| variant | non-padding tokens/s (median) | ratio to raw |", "|---|---|---|"]
        for name, rates in training.items():
            lines.append(f"| {name} | {statistics.median(rates):.1f} | {statistics.median(rates) / raw:.2f} |")
        lines.append("")

    lines += ["## bf16 autocast against float32", ""]
    if native_bf16:
        nll = {}
        for precision in ("fp32", "bf16"):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                nll[precision] = [s.nll for s in completion_token_stats(loaded.model, tokenizer, prompts_records, max_length=768)]
        rates = {"fp32": [], "bf16": []}
        for _ in range(options.rounds):
            for precision in rates:
                rates[precision].append(raw_training_rate(loaded, examples[:BATCH], bf16=precision == "bf16"))
        pipeline = {"fp32": [], "bf16": []}
        with tempfile.TemporaryDirectory() as folder:
            for round_ in range(options.rounds):
                for precision in (pipeline if round_ % 2 == 0 else reversed(pipeline)):  # alternate the order
                    pipeline[precision].append(pipeline_training_rate(loaded, rows, examples,
                                                                      Path(folder) / f"{precision}{round_}", precision))
        fp32 = statistics.median(rates["fp32"])
        lines += ["| precision | forward+backward tokens/s | ratio |", "|---|---|---|"]
        lines += [f"| {p} | {statistics.median(r):.1f} | {statistics.median(r) / fp32:.2f} |" for p, r in rates.items()]
        lines += ["", "| precision | pipeline (train_lora) non-padding tokens/s | ratio |", "|---|---|---|"]
        lines += [f"| {p} | {statistics.median(r):.1f} | {statistics.median(r) / statistics.median(pipeline['fp32']):.2f} |"
                  for p, r in pipeline.items()]
        worst = max(abs(a - b) for a, b in zip(nll["fp32"], nll["bf16"]))
        lines += ["", f"Reference NLL, {len(prompts_records)} items: largest per-item |bf16 - fp32| = {worst:.4f} nats.", ""]
    else:
        flags = sorted(f for f in cpu_flags() if f.startswith(("avx512", "amx")))
        lines += [f"Not run: this CPU has no native bfloat16 (flags: {', '.join(flags) or 'none'}); emulated bf16 is "
                  "many times slower than float32, so `training.precision: auto` keeps float32 here.", ""]

    prompt_ids = tokenizer([prompt_text(tokenizer, r) for r in prompts_records], add_special_tokens=False)["input_ids"]
    encoded = _left_padded(prompt_ids, tokenizer.pad_token_id, loaded.model.device)
    steps = options.new_tokens
    if options.only_steps:
        decode = {}
    else:
        decode = {"raw loop (forward with KV cache)": lambda: raw_decode(loaded.model, encoded, steps),
                  "model.generate, dynamic cache (the pipeline's)": lambda: generate(loaded.model, tokenizer, encoded, steps, None),
                  "model.generate, static cache": lambda: generate(loaded.model, tokenizer, encoded, steps, "static")}
    times = {name: [] for name in decode}
    if decode:
        decode["raw loop (forward with KV cache)"]()  # warm-up
    for _ in range(options.rounds):
        for name, run in decode.items():
            times[name].append(timed(run))
    raw = statistics.median(times["raw loop (forward with KV cache)"]) if decode else 0.0
    lines += [] if not decode else [f"## Greedy generation ({len(prompt_ids)} prompts of {min(map(len, prompt_ids))}-{max(map(len, prompt_ids))} "
              f"tokens, {steps} new tokens each, float32)", "",
              "| variant | new tokens/s (median) | ratio to raw loop |", "|---|---|---|"]
    for name, values in times.items():  # empty with --only-steps
        lines.append(f"| {name} | {len(prompt_ids) * steps / statistics.median(values):.1f} | {raw / statistics.median(values):.2f} |")
    sizes = (8, 16, 24, 32)
    step = {size: [] for size in sizes}
    for _ in range(options.rounds):
        for size in sizes:
            step[size].append(decode_step_seconds(loaded.model, size))
    lines += ["", "Cost of one cached decoding step by batch size (64-token context; 32 generations at batch 24 "
              "run as 16 + 16 rows, at batch 32 as one batch of 32):", "",
              "| rows decoded together | seconds a step (median) | seconds per row a step |", "|---|---|---|"]
    for size in sizes:
        median = statistics.median(step[size])
        lines.append(f"| {size} | {median:.3f} | {median / size:.4f} |")
    load_after = os.getloadavg()
    lines += ["", f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; load average (1 min) {load_before[0]:.1f} "
              f"at the start, {load_after[0]:.1f} at the end. `benchmarks/speed/run.py` "
              f"--rounds {options.rounds} --train-rows {options.train_rows} --prompts {options.prompts} --new-tokens {options.new_tokens}"
              + (" --skip-training" if options.skip_training else "") + (" --only-steps" if options.only_steps else "") + "."]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
