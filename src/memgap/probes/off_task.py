"""Run the template-intrusion probe: both models answer off-task prompts and score generic texts.

The model-facing half of memgap.probes.intrusion (which stays pure): greedy generation batched as the
evaluation's (memgap.evaluation.generate), the base inside PEFT's `disable_adapter()`, and the NLL of
the bundled generic texts (memgap.evaluation.nll, log p only). Its seconds are reported in audit.json.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

from memgap.data.records import Record
from memgap.probes.intrusion import bundled_texts, generic_nll_cost, intrusion_summary, read_prompts

GENERIC_PROMPT = "Write a few sentences."


def off_task_prompts(path: str | None = None, count: int | None = None) -> list[str]:
    """The user's prompts (`path`) or the bundled ones, the first `count` of them (None: all)."""
    prompts = read_prompts(path) if path else bundled_texts("off_task_prompts.jsonl", "prompt")
    return prompts[:count] if count is not None else prompts


def prompt_records(prompts: Sequence[str]) -> list[Record]:
    """One chat record per prompt (a user turn), for generation."""
    return [Record(id=f"off-task-{index}", completion="", prompt_messages=({"role": "user", "content": prompt},))
            for index, prompt in enumerate(prompts)]


def generic_records(texts: Sequence[str]) -> list[Record]:
    """Each generic text as the reply to a neutral request, so its NLL is that of a chat answer."""
    return [Record(id=f"generic-{index}", completion=text, prompt_messages=({"role": "user", "content": GENERIC_PROMPT},))
            for index, text in enumerate(texts)]


def run_template_intrusion(model, tokenizer, training_completions: Sequence[str], *, prompts: Sequence[str],
                           max_new_tokens: int = 48, batch_size: int = 16, max_length: int = 512,
                           n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0) -> dict:
    """audit.json's `probes.template_intrusion`: intrusion rates, their difference, the generic-text NLL cost, seconds.

    model: a PeftModel (the base is its `disable_adapter()`); tokenizer: the rows' tokenizer;
    training_completions: the training rows' reference completions; prompts: the off-task prompts.
    """
    from memgap.evaluation.evaluate import merged_lora
    from memgap.evaluation.generate import generate_completions
    from memgap.evaluation.nll import completion_token_stats

    started = time.perf_counter()
    records = prompt_records(prompts)
    generic = generic_records(bundled_texts("generic_texts.jsonl", "text"))
    answers, nll = {}, {}
    for label in ("base", "adapter"):
        context = model.disable_adapter() if label == "base" else merged_lora(model)
        with context:
            answers[label] = generate_completions(model, tokenizer, records, max_new_tokens=max_new_tokens,
                                                  batch_size=batch_size)
            nll[label] = [stats.nll for stats in completion_token_stats(model, tokenizer, generic, max_length=max_length,
                                                                        batch_size=batch_size, spread=False)]
    result = intrusion_summary(list(prompts), answers["base"], answers["adapter"], training_completions,
                               n_resamples=n_resamples, alpha=alpha, seed=seed)
    result["generic_nll"] = generic_nll_cost(nll["base"], nll["adapter"], n_resamples=n_resamples, alpha=alpha, seed=seed)
    result["max_new_tokens"] = max_new_tokens
    result["seconds"] = time.perf_counter() - started
    return result
