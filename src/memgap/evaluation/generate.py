"""Greedy, batched generation of completions for hold-out records.

Prompts are rendered exactly as in training (`memgap.encoding.prompt_text`), left-padded, and
sorted by length so that each batch wastes little padding; outputs come back in input order.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from memgap.data.records import Record
from memgap.encoding import prompt_text


@torch.no_grad()
def generate_completions(
    model,
    tokenizer,
    records: Sequence[Record],
    *,
    max_new_tokens: int = 192,
    batch_size: int = 16,
    progress: bool = False,
    description: str = "generating",
) -> list[str]:
    """Greedy completions for each record's prompt, decoded without special tokens."""
    prompts = [prompt_text(tokenizer, record) for record in records]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    outputs: list[str] = [""] * len(prompts)
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only models must see the prompt end right before generation
    stop_ids = _stop_token_ids(tokenizer)
    try:
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for batch in tqdm(batches, desc=description, disable=not progress, unit="batch"):
            encoded = tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False)
            encoded = {key: value.to(model.device) for key, value in encoded.items()}
            generated = model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=stop_ids,
            )
            new_tokens = generated[:, encoded["input_ids"].shape[1] :]
            for index, tokens in zip(batch, new_tokens):
                outputs[index] = tokenizer.decode(tokens, skip_special_tokens=True).strip()
    finally:
        tokenizer.padding_side = previous_side
    return outputs


def _stop_token_ids(tokenizer) -> list[int]:
    vocabulary = tokenizer.get_vocab()
    # Chat models end a turn with their own marker, which is not always the tokenizer's eos.
    markers = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")
    ids = {tokenizer.eos_token_id, *(vocabulary[marker] for marker in markers if marker in vocabulary)}
    return sorted(i for i in ids if i is not None)
