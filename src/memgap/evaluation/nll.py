"""Per-item token statistics of the reference completion: the NLL metric and the membership inputs.

One forward pass per batch gives, for every completion token, log p(token) and the mean and standard
deviation of log p(.) over the vocabulary at that position (Min-K%++ needs the last two).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from memgap.data.records import Record
from memgap.encoding import IGNORE_INDEX, encode
from memgap.evaluation.batching import length_batches
from memgap.evaluation.token_stats import TokenStats


@torch.no_grad()
def completion_token_stats(
    model,
    tokenizer,
    records: Sequence[Record],
    *,
    max_length: int,
    batch_size: int = 8,
    progress: bool = False,
    description: str = "scoring",
    spread: bool = True,
) -> list[TokenStats]:
    """TokenStats of each record's reference completion under the model (teacher forcing).

    The reference is the final assistant turn, given everything before it. With `spread=False` only
    log p(token) is computed (the NLL; the training curves need no more) and `mean_logprob` and
    `std_logprob` are NaN arrays of the same shape: that skips the passes over the vocabulary that
    the entropy statistics need (0.95 of a curve point's time on the embedded model,
    benchmarks/results/evaluation_batches.md). Raises MemgapError naming
    the rows whose reference `max_length` cuts off entirely (their NLL would be NaN); an audit
    refuses or drops such rows before any stage, so this only guards direct callers.
    """
    encoded = [encode(tokenizer, record, max_length, assistant_turns="last") for record in records]
    empty = [example.record_id for example in encoded if not example.completion_tokens]
    if empty:
        from memgap.encoding import overlong_error

        raise overlong_error(empty, max_length, max(e.full_length for e in encoded if e.record_id in set(empty)))
    results: list[TokenStats | None] = [None] * len(encoded)
    pad_id = tokenizer.pad_token_id
    batches = length_batches([len(example.input_ids) for example in encoded], batch_size)
    for batch in tqdm(batches, desc=description, disable=not progress, unit="batch"):
        width = max(len(encoded[i].input_ids) for i in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, index in enumerate(batch):
            example = encoded[index]
            length = len(example.input_ids)
            input_ids[row, :length] = torch.tensor(example.input_ids)
            labels[row, :length] = torch.tensor(example.labels)
            attention[row, :length] = 1
        # Only positions from the shortest prompt's end on can predict a completion token; asking for
        # just those logits skips most of the vocabulary projection over the prompts.
        start = max(min(encoded[i].prompt_length for i in batch) - 1, 0)
        logits = model(
            input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device), logits_to_keep=width - start
        ).logits
        # Position t predicts token t+1: shift so each kept logit row lines up with its label.
        targets = labels[:, start + 1 :].to(logits.device)
        mask = targets != IGNORE_INDEX
        kept = logits[:, :-1][mask].float()
        log_probs = torch.log_softmax(kept, dim=-1)
        token_logprobs = log_probs.gather(1, targets[mask].unsqueeze(1)).squeeze(1)
        if spread:
            probs = log_probs.exp()
            mean = (probs * log_probs).sum(-1)
            variance = (probs * log_probs.square()).sum(-1) - mean.square()
            std = variance.clamp_min(0).sqrt()
            top = log_probs.max(-1).values  # the top prediction's log p, for EZ-MIA's error positions
        else:
            mean = std = top = torch.full_like(token_logprobs, float("nan"))
        counts = mask.sum(1).tolist()
        pieces = zip(
            torch.split(token_logprobs.cpu(), counts), torch.split(mean.cpu(), counts), torch.split(std.cpu(), counts),
            torch.split(top.cpu(), counts),
        )
        for index, (lp, mu, sigma, best) in zip(batch, pieces):
            results[index] = TokenStats(
                lp.numpy().astype(np.float64), mu.numpy().astype(np.float64), sigma.numpy().astype(np.float64),
                best.numpy().astype(np.float64) if spread else None,
            )
    return [stats for stats in results if stats is not None]
