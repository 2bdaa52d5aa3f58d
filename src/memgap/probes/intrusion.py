"""Template intrusion: does the adapter stamp its training template on answers to unrelated prompts?

An adapter that memorized the shape of its training completions (a sign-off, a header, a fixed
phrase) repeats it where it does not belong. Both models answer the same off-task prompts (everyday
questions, bundled in probes/data/off_task_prompts.jsonl, or the user's own); an answer intrudes when
it carries a characteristic span: a word n-gram found in at least `min_training_share` of the
training completions and in at most `max_base_share` of the base model's other off-task answers.
The n-grams are chosen leaving the answer's own prompt out (its base answer is not used to choose
them), so the base's rate is an honest chance rate and adapter minus base measures intrusion. The
difference gets a sign-flip interval over prompts (memgap.stats.paired_delta, each prompt its own
cluster). Beside it, the generic-text cost: the NLL per token of a small bundled set of generic
texts under both models (what the adapter cost outside its task).
Pure functions on strings and numbers; memgap.probes.off_task runs the models.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from memgap.errors import MemgapError
from memgap.stats.paired import paired_delta
from memgap.words import ngrams, words

SPAN_WORDS = 3
MIN_TRAINING_SHARE = 0.1  # of training completions holding the n-gram (and at least 2 of them)
MAX_BASE_SHARE = 0.1  # of the base's other off-task answers holding it
EXAMPLES = 3


def bundled_texts(name: str, field: str) -> list[str]:
    """The bundled `field` of each row of probes/data/<name> (off_task_prompts.jsonl, generic_texts.jsonl)."""
    text = resources.files("memgap.probes").joinpath("data", name).read_text(encoding="utf-8")
    return [json.loads(line)[field] for line in text.splitlines() if line.strip()]


def read_prompts(path: str | Path) -> list[str]:
    """Off-task prompts from a user's file: JSONL rows with a `prompt` field, or plain text, one prompt a line.

    Raises MemgapError (naming the file and line) for a missing file, a JSON row without a string
    `prompt`, or a file with no prompt.
    """
    file = Path(path)
    if not file.is_file():
        raise MemgapError("no such off-task prompt file", where=str(file))
    prompts = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise MemgapError("unparsable JSON row", where=f"{file}:{number}") from None
            if not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
                raise MemgapError("expected a non-empty string field 'prompt'", where=f"{file}:{number}")
            prompts.append(row["prompt"].strip())
        else:
            prompts.append(line)
    if not prompts:
        raise MemgapError("the off-task prompt file holds no prompt", where=str(file))
    return prompts


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    return set(ngrams(words(text), n))


def training_ngrams(completions: Sequence[str], *, n: int = SPAN_WORDS,
                    min_share: float = MIN_TRAINING_SHARE) -> set[tuple[str, ...]]:
    """Word n-grams held by at least `min_share` of the training completions (and by at least two)."""
    counts = Counter(gram for text in completions for gram in _grams(text, n))
    needed = max(2, int(np.ceil(min_share * len(completions))))
    return {gram for gram, count in counts.items() if count >= needed}


def intrusions(prompts: Sequence[str], base_answers: Sequence[str], adapter_answers: Sequence[str],
               training_completions: Sequence[str], *, n: int = SPAN_WORDS, min_training_share: float = MIN_TRAINING_SHARE,
               max_base_share: float = MAX_BASE_SHARE) -> list[dict]:
    """Per prompt: the characteristic spans in the base's and in the adapter's answer.

    Characteristic for prompt i: frequent in training completions (`training_ngrams`), in at most
    `max_base_share` of the base's answers to the other prompts, and not in prompt i itself.
    Returns [{prompt, base_spans, adapter_spans}] with spans as strings.
    """
    if not (len(prompts) == len(base_answers) == len(adapter_answers)):
        raise ValueError("prompts, base answers and adapter answers differ in length")
    frequent = training_ngrams(training_completions, n=n, min_share=min_training_share)
    base_grams = [_grams(answer, n) & frequent for answer in base_answers]
    base_counts = Counter(gram for grams in base_grams for gram in grams)
    others = max(1, len(prompts) - 1)
    results = []
    for index, prompt in enumerate(prompts):
        own = base_grams[index]

        def characteristic(gram) -> bool:
            held_elsewhere = base_counts[gram] - (gram in own)
            return held_elsewhere <= max_base_share * others

        excluded = _grams(prompt, n)
        base_spans = sorted(" ".join(g) for g in own if characteristic(g) and g not in excluded)
        adapter_spans = sorted(" ".join(g) for g in (_grams(adapter_answers[index], n) & frequent)
                               if characteristic(g) and g not in excluded)
        results.append({"prompt": prompt, "base_spans": base_spans, "adapter_spans": adapter_spans})
    return results


def intrusion_summary(prompts: Sequence[str], base_answers: Sequence[str], adapter_answers: Sequence[str],
                      training_completions: Sequence[str], *, n_resamples: int = 2000, alpha: float = 0.05,
                      seed: int = 0) -> dict:
    """Intrusion rates of base and adapter, adapter minus base with a sign-flip interval, and examples.

    Returns {n_prompts, span_words, intrusion_rate {base, adapter}, adapter_minus_base (memgap's `S` block:
    delta, ci_low, ci_high, p_value), significant (p <= alpha and delta > 0), examples}.
    Method: characteristic n-grams chosen leaving each prompt out; Fisher's sign-flip test over prompts.
    """
    found = intrusions(prompts, base_answers, adapter_answers, training_completions)
    base_flags = [float(bool(item["base_spans"])) for item in found]
    adapter_flags = [float(bool(item["adapter_spans"])) for item in found]
    summary: dict = {"n_prompts": len(found), "span_words": SPAN_WORDS,
                     "intrusion_rate": {"base": None, "adapter": None}, "adapter_minus_base": None,
                     "significant": False, "examples": []}
    if not found:
        return summary
    summary["intrusion_rate"] = {"base": float(np.mean(base_flags)), "adapter": float(np.mean(adapter_flags))}
    # each prompt its own cluster: answers to different prompts are independent
    difference = paired_delta(adapter_flags, base_flags, list(range(len(found))), n_resamples=n_resamples, alpha=alpha,
                              seed=seed).to_dict()
    summary["adapter_minus_base"] = difference
    summary["significant"] = bool(difference["p_value"] is not None and difference["p_value"] <= alpha
                                  and (difference["delta"] or 0) > 0)
    summary["examples"] = [{"prompt": item["prompt"], "answer": adapter_answers[index], "spans": item["adapter_spans"]}
                           for index, item in enumerate(found) if item["adapter_spans"]][:EXAMPLES]
    return summary


def generic_nll_cost(base_nll: Sequence[float], adapter_nll: Sequence[float], *, n_resamples: int = 2000,
                     alpha: float = 0.05, seed: int = 0) -> dict:
    """Mean NLL per token of the generic texts under base and adapter, and adapter minus base with its interval.

    Positive adapter_minus_base: the adapter finds generic text less likely than the base did (a cost).
    """
    estimate = paired_delta(adapter_nll, base_nll, None, n_resamples=n_resamples, alpha=alpha, seed=seed).to_dict()
    return {"n_texts": len(base_nll), "base": float(np.mean(base_nll)), "adapter": float(np.mean(adapter_nll)),
            "adapter_minus_base": estimate["delta"], "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"],
            "p_value": estimate["p_value"]}
