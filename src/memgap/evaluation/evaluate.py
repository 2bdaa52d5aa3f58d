"""Evaluate one model on the audit's hold-outs: NLL of the references, greedy generations, scores.

Returns one `EvaluationRow` per item that the pipeline saves, so the analysis never needs the model.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from memgap.adapter_fit import merge_blocker
from memgap.data.records import Record
from memgap.evaluation.generate import generate_completions
from memgap.evaluation.nll import completion_token_stats
from memgap.evaluation.rows import EvaluationRow
from memgap.evaluation.scoring import ScorerFunction, score_one


def evaluate_model(
    model,
    tokenizer,
    holdouts: Mapping[str, Sequence[Record]],
    *,
    model_label: str,
    scorer: ScorerFunction,
    generate_holdouts: Sequence[str],
    max_length: int,
    max_new_tokens: int,
    generation_batch_size: int,
    nll_batch_size: int,
    progress: bool = True,
) -> list[EvaluationRow]:
    """One row per (hold-out, item): NLL and token statistics for all, generation and score where asked.

    `holdouts` maps a hold-out name (seen, unseen, train) to its records; items of the names in
    `generate_holdouts` are also generated greedily (at most `max_new_tokens`) and scored.
    All hold-outs go through one NLL pass and one generation pass: on a CPU a decoding step costs
    about the same for 10 or 24 sequences, so one larger batch beats one batch per hold-out.
    """
    items = [(holdout, record) for holdout, records in holdouts.items() for record in records]
    if not items:
        return []
    stats = completion_token_stats(
        model, tokenizer, [record for _, record in items], max_length=max_length, batch_size=nll_batch_size,
        progress=progress, description=f"{model_label}: reference NLL",
    )
    to_generate = [index for index, (holdout, _) in enumerate(items) if holdout in generate_holdouts]
    generated = generate_completions(
        model, tokenizer, [items[index][1] for index in to_generate], max_new_tokens=max_new_tokens,
        batch_size=generation_batch_size, progress=progress, description=f"{model_label}: generating",
    ) if to_generate else []
    generations: dict[int, str] = dict(zip(to_generate, generated))
    rows: list[EvaluationRow] = []
    for index, ((holdout, record), token_stats) in enumerate(zip(items, stats)):
        scored = {}
        if index in generations:
            result = score_one(scorer, generations[index], record)
            scored = {"generation": generations[index], "score": result.score, "checks": result.checks}
        rows.append(EvaluationRow(
            id=record.id, family=record.family, holdout=holdout, model=model_label, nll=token_stats.nll,
            n_tokens=token_stats.n_tokens, token_stats=token_stats, **scored,
        ))
    return rows


@contextlib.contextmanager
def merged_lora(model) -> Iterator[None]:
    """Run a PEFT model with its LoRA weights merged into the base layers while inside the block, where PEFT can.

    Merging is an optimisation: the outputs are the adapter's either way (up to float rounding,
    tested in tests/test_adapter_ecosystem.py), merged without the extra small matrix products of
    unmerged LoRA layers, which cost a CPU about a tenth of each forward pass. Where PEFT cannot merge
    (`memgap.adapter_fit.merge_blocker`: `lora_bias=True` on bias-less layers, aLoRA, a quantized base),
    the block runs unmerged; the decision is made on a meta-device twin, so no weight is touched.
    """
    if merge_blocker(model) is not None:
        yield
        return
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()
