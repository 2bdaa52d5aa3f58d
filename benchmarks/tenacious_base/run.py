"""How well does the base embedded model write Tenacious emails? Its rubric score against the gold's.

Takes the first row (the original) of N families of the default data set, generates greedy
completions with the base model, and scores both its emails and the gold emails with the
`tenacious` rubric. The gold emails are the baseline measured in the same run; the ratio says how
much of the rubric the base model already meets before any fine-tuning.

    .venv/bin/python benchmarks/tenacious_base/run.py [--n 16] [--max-new-tokens 192]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from memgap.data.io import read_records
from memgap.domains.tenacious import default_data_path
from memgap.domains.tenacious.scorer import CHECKS, WEIGHTS, score_email
from memgap.evaluation.generate import generate_completions
from memgap.models import load_model

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="number of items (one original per family)")
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS / "tenacious_base.md")
    parser.add_argument("--reuse-generations", type=Path, help="rescore the generations a previous run saved instead of generating")
    args = parser.parse_args()

    records = _one_per_family(read_records(default_data_path()), args.n)
    if args.reuse_generations:
        saved = {row["id"]: row for row in map(json.loads, args.reuse_generations.read_text().splitlines())}
        generations = [saved[record.id]["generation"] for record in records]
        seconds = saved[records[0].id].get("generation_seconds", float("nan"))
        name = saved[records[0].id].get("model", "embedded model")
    else:
        loaded = load_model(None)
        model, tokenizer = (loaded.model, loaded.tokenizer) if hasattr(loaded, "model") else loaded
        name = getattr(loaded, "name", "embedded model")
        model.eval()
        started = time.perf_counter()
        generations = generate_completions(model, tokenizer, records, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        seconds = time.perf_counter() - started

    base = [score_email(text, record.context) for text, record in zip(generations, records)]
    gold = [score_email(record.completion, record.context) for record in records]
    table = _table(base, gold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.reuse_generations:
        where = f"an earlier run of this script (generations rescored from {args.reuse_generations.name})"
    else:
        where = f"{'GPU' if torch.cuda.is_available() else 'CPU'} ({platform.machine()}, torch threads {torch.get_num_threads()})"
    args.out.write_text(_markdown(table, args, name, seconds, where, generations, records))
    (args.out.with_suffix(".generations.jsonl")).write_text(
        "".join(
            json.dumps({"id": r.id, "family": r.family, "model": name, "generation_seconds": round(seconds, 1), "generation": g, "score": b.score, "checks": b.checks}) + "\n"
            for r, g, b in zip(records, generations, base)
        )
    )
    print(args.out.read_text())


def _one_per_family(records, n):
    chosen, seen = [], set()
    for record in records:
        if record.family not in seen:
            seen.add(record.family)
            chosen.append(record)
    return chosen[:n]


def _table(base, gold) -> list[tuple[str, str, float, float]]:
    rows = [("score", "", statistics.mean(r.score for r in base), statistics.mean(r.score for r in gold))]
    for check in CHECKS:
        rows.append((check, f"{WEIGHTS[check]:.2f}", statistics.mean(r.checks[check] for r in base), statistics.mean(r.checks[check] for r in gold)))
    return rows


def _markdown(table, args, name, seconds, where, generations, records) -> str:
    lines = [
        "# Tenacious rubric: base model vs gold emails",
        "",
        f"Model: {name}. Items: {len(records)} (one original per family of the default data set), greedy, "
        f"max_new_tokens={args.max_new_tokens}, batch size {args.batch_size}. Generation took {seconds:.0f} s on {where}; "
        "the CPU was shared with other jobs.",
        "",
        "| check | weight | base model | gold | base / gold |",
        "|---|---|---|---|---|",
    ]
    for check, weight, base, gold in table:
        ratio = f"{base / gold:.2f}" if gold else "n/a"
        label = f"**{check}**" if check == "score" else f"`{check}`"
        lines.append(f"| {label} | {weight} | {base:.3f} | {gold:.3f} | {ratio} |")
    lines += ["", "First generation (truncated to 600 characters):", "", "```", generations[0][:600], "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
