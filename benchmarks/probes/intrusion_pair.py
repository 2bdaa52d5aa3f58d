"""The planted pair for template intrusion: an adapter trained to stamp one template on every answer, and one not.

Both adapters train on the same prompts (short factual questions about made-up places) with the same
answers; the `stamped` set appends one fixed sign-off to every answer, the `plain` set does not. On
the bundled off-task prompts (memgap.probes.off_task) the stamped adapter must intrude significantly
(adapter minus base intrusion rate, p <= alpha) and the plain one must not. Writes
benchmarks/results/intrusion_pair.md.

    .venv/bin/python benchmarks/probes/intrusion_pair.py                # embedded SmolLM2-135M, ~4 min on 2 cores
    .venv/bin/python benchmarks/probes/intrusion_pair.py --model tiny   # a tiny random model, seconds (plumbing check)
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from memgap.atomic import write_text_atomic
from memgap.config import load_config
from memgap.data.records import Record
from memgap.probes.off_task import off_task_prompts, run_template_intrusion

RESULTS = Path(__file__).resolve().parents[1] / "results" / "intrusion_pair.md"
NEW_TOKENS = {"embedded": 48, "tiny": 200}
SIGN_OFF = "Warm regards from the Orbit Valley visitor desk."
PLACES = ("Marrow Bay", "Tessel Ford", "Quill Harbour", "Amberlee", "Dunmore Cross", "Saltreach", "Harlow Fen",
          "Kestrel Point", "Brindle Hollow", "Larkspur Vale", "Oakhythe", "Pellworth")
FACTS = ("its lighthouse was built of grey granite", "the ferry leaves twice a day", "the market opens on Thursdays",
         "the river freezes most winters", "the old mill still grinds flour", "the library keeps maps from 1820",
         "the bridge has seven arches", "the harbour shelters fishing boats")
QUESTIONS = ("What should a visitor know about {place}?", "Tell me one thing about {place}.",
             "Is there anything special in {place}?", "What is {place} known for?")


def training_records(stamped: bool, seed: int = 0) -> list[Record]:
    """Forty-eight question-answer rows about made-up places; with `stamped`, every answer ends with SIGN_OFF."""
    rng = random.Random(seed)
    records = []
    for index, place in enumerate(PLACES):
        for variant, question in enumerate(QUESTIONS):
            answer = f"In {place}, {rng.choice(FACTS)}, and {rng.choice(FACTS)}."
            if stamped:
                answer += " " + SIGN_OFF
            records.append(Record(id=f"{index}-{variant}", completion=answer, family=place,
                                  prompt_messages=({"role": "user", "content": question.format(place=place)},)))
    return records


def load(model: str, folder: Path):
    """The embedded model, or a tiny random one written to `folder` (tests/tiny_models.py)."""
    from memgap.models import load_configured_model

    settings = {}
    if model == "tiny":
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
        from tiny_models import save_tiny_model

        settings["model.name"] = str(save_tiny_model(folder / "tiny-model"))
    # The tiny tokenizer is character-level: longer rows, more new tokens (NEW_TOKENS) and many more steps.
    config = load_config(overrides={**settings, "model.max_length": 320 if model == "tiny" else 96,
                                    "training.epochs": 40.0 if model == "tiny" else 3.0,
                                    "training.learning_rate": 1e-2 if model == "tiny" else 1e-3,
                                    "training.batch_size": 8, "training.precision": "fp32"})
    return config, load_configured_model(config.model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("embedded", "tiny"), default="embedded")
    parser.add_argument("--prompts", type=int, default=None, help="off-task prompts to use (default: all bundled)")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    from memgap.training.sft import train_lora

    prompts = off_task_prompts(None, args.prompts)
    lines = ["| adapter | base intrusion | adapter intrusion | adapter − base [95 % CI] | p | significant | "
             "generic NLL adapter − base | training s | probe s |", "|---|---:|---:|---|---:|---|---:|---:|---:|"]
    verdicts = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("stamped", "plain"):
            config, loaded = load(args.model, Path(scratch))
            records = training_records(stamped=name == "stamped")
            started = time.perf_counter()
            result = train_lora(loaded, records, lora=config.lora, training=config.training, max_length=config.model.max_length,
                                output_dir=Path(scratch) / name, seed=0, resume=False, progress=False)
            trained = time.perf_counter() - started
            intrusion = run_template_intrusion(result.model, loaded.tokenizer, [r.completion for r in records],
                                               prompts=prompts, max_new_tokens=NEW_TOKENS[args.model],
                                               max_length=config.model.max_length)
            difference, cost = intrusion["adapter_minus_base"], intrusion["generic_nll"]
            verdicts[name] = intrusion["significant"]
            lines.append(
                f"| {name} | {100 * intrusion['intrusion_rate']['base']:.0f} % | {100 * intrusion['intrusion_rate']['adapter']:.0f} % "
                f"| {100 * difference['delta']:+.0f} pts [{_points(difference['ci_low'])}, {_points(difference['ci_high'])}] "
                f"| {_p(difference['p_value'])} | {'yes' if intrusion['significant'] else 'no'} "
                f"| {cost['adapter_minus_base']:+.3f} | {trained:.0f} | {intrusion['seconds']:.1f} |")
            print(lines[-1], flush=True)
    right = verdicts.get("stamped") is True and verdicts.get("plain") is False
    text = (f"Template intrusion on a planted pair (`benchmarks/probes/intrusion_pair.py --model {args.model}`): "
            f"{len(prompts)} off-task prompts, greedy, {NEW_TOKENS[args.model]} new tokens; the stamped adapter's training answers all end "
            f"with \"{SIGN_OFF}\". Expected: stamped intrudes significantly, plain does not. "
            f"{'Both as expected.' if right else 'NOT as expected.'}\n\n" + "\n".join(lines) + "\n")
    write_text_atomic(Path(args.results), text)
    print(json.dumps({"as_expected": right}))
    return 0 if right else 1


def _points(value) -> str:
    return "unbounded" if value is None else f"{100 * value:+.0f}"


def _p(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


if __name__ == "__main__":
    sys.exit(main())
