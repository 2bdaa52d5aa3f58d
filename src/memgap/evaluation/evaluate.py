"""Evaluate one model on the audit's subsets: NLL of the references, greedy generations, scores.

Returns plain rows (one per item) that the pipeline saves, so the analysis never needs the model.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """One row per (subset, item): NLL and token statistics for all, generation and score where asked."""
    rows: list[dict[str, Any]] = []
    for subset, records in subsets.items():
        if not records:
            continue
        stats = completion_token_stats(
            model, tokenizer, records, max_length=max_length, batch_size=nll_batch_size,
            progress=progress, description=f"{model_label}: NLL on {subset}",
        )
        generations: list[str | None] = [None] * len(records)
        if subset in generate_subsets:
            generations = list(generate_completions(
                model, tokenizer, records, max_new_tokens=max_new_tokens, batch_size=generation_batch_size,
                progress=progress, description=f"{model_label}: generating {subset}",
            ))
        for record, token_stats, generation in zip(records, stats, generations):
            row: dict[str, Any] = {
                "id": record.id,
                "family": record.family,
                "subset": subset,
                "model": model_label,
                "nll": token_stats.nll,
                "n_tokens": token_stats.n_tokens,
                "token_stats": token_stats.to_dict(),
            }
            if generation is not None:
                result = score_one(scorer, generation, record)
                row.update(generation=generation, score=result.score, checks=result.checks)
            rows.append(row)
    return rows
