"""Greedy, batched generation of completions for hold-out records.

Prompts are rendered exactly as in training (`memgap.encoding.prompt_text`), tokenized once,
grouped into balanced batches of similar token length (`memgap.evaluation.batching`) and left-padded;
outputs come back in input order.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from memgap.data.records import Record
from memgap.encoding import prompt_text
from memgap.evaluation.batching import length_batches


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
    """Greedy completions for each record's prompt, decoded without special tokens.

    Parameters: `max_new_tokens` caps each completion; `batch_size` is the most prompts decoded
    together (batches are balanced, so 32 prompts at 24 run as 16 + 16). Returns one string per record.
    """
    prompts = [prompt_text(tokenizer, record) for record in records]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"] if prompts else []
    outputs: list[str] = [""] * len(prompts)
    stop_ids = _stop_token_ids(tokenizer)
    batches = length_batches([len(ids) for ids in prompt_ids], batch_size)
    for batch in tqdm(batches, desc=description, disable=not progress, unit="batch"):
        encoded = _left_padded([prompt_ids[i] for i in batch], tokenizer.pad_token_id, model.device)
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
    return outputs


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int, device) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask with the padding on the left: decoder-only models must see each
    prompt's end right before the first generated token."""
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        if row:
            input_ids[index, width - len(row):] = torch.tensor(row)
            attention_mask[index, width - len(row):] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}


def _stop_token_ids(tokenizer) -> list[int]:
    vocabulary = tokenizer.get_vocab()
    # Chat models end a turn with their own marker, which is not always the tokenizer's eos.
    markers = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")
    ids = {tokenizer.eos_token_id, *(vocabulary[marker] for marker in markers if marker in vocabulary)}
    return sorted(i for i in ids if i is not None)
