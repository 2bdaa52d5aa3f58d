"""Evaluate one model on the audit's subsets: NLL of the references, greedy generations, scores.

Returns plain rows (one per item) that the pipeline saves, so the analysis never needs the model.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from memgap.data.records import Record
from memgap.evaluation.generate import generate_completions
from memgap.evaluation.nll import completion_token_stats
from memgap.evaluation.scoring import ScorerFunction, score_one


def evaluate_model(
    model,
    tokenizer,
    subsets: Mapping[str, Sequence[Record]],
    *,
    model_label: str,
    scorer: ScorerFunction,
    generate_subsets: Sequence[str],
    max_length: int,
    max_new_tokens: int,
    generation_batch_size: int,
    nll_batch_size: int,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per (subset, item): NLL and token statistics for all, generation and score where asked.

    All subsets go through one NLL pass and one generation pass: on a CPU a decoding step costs
    about the same for 10 or 24 sequences, so one larger batch beats one batch per subset.
    """
    items = [(subset, record) for subset, records in subsets.items() for record in records]
    if not items:
        return []
    stats = completion_token_stats(
        model, tokenizer, [record for _, record in items], max_length=max_length, batch_size=nll_batch_size,
        progress=progress, description=f"{model_label}: reference NLL",
    )
    to_generate = [index for index, (subset, _) in enumerate(items) if subset in generate_subsets]
    generated = generate_completions(
        model, tokenizer, [items[index][1] for index in to_generate], max_new_tokens=max_new_tokens,
        batch_size=generation_batch_size, progress=progress, description=f"{model_label}: generating",
    ) if to_generate else []
    generations: dict[int, str] = dict(zip(to_generate, generated))
    rows: list[dict[str, Any]] = []
    for index, ((subset, record), token_stats) in enumerate(zip(items, stats)):
        row: dict[str, Any] = {
            "id": record.id,
            "family": record.family,
            "subset": subset,
            "model": model_label,
            "nll": token_stats.nll,
            "n_tokens": token_stats.n_tokens,
            "token_stats": token_stats.to_dict(),
        }
        if index in generations:
            result = score_one(scorer, generations[index], record)
            row.update(generation=generations[index], score=result.score, checks=result.checks)
        rows.append(row)
    return rows


@contextlib.contextmanager
def merged_lora(model) -> Iterator[None]:
    """Run a PEFT model with its LoRA weights merged into the base layers while inside the block.

    The outputs are the adapter's (up to float rounding), without the extra small matrix products of
    unmerged LoRA layers, which cost a CPU about a tenth of each forward pass. A quantized (4-bit)
    base is left unmerged: merging into packed weights would re-quantize them and change the outputs.
    """
    if not hasattr(model, "merge_adapter") or getattr(model, "is_quantized", False):
        yield
        return
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()
