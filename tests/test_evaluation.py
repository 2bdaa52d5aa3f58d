"""Evaluation on tiny models: per-item NLL equals the model's own loss; generation is greedy and ordered."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from memgap.encoding import encode
from memgap.evaluation.generate import generate_completions
from memgap.evaluation.nll import completion_token_stats
from memgap.evaluation.scoring import resolve_scorer, score_one
from memgap.errors import MemgapError
from tiny_models import tiny_loaded, tiny_records


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_nll_matches_the_models_own_loss_per_item(family):
    loaded = tiny_loaded(family)
    records = tiny_records(6, families=3)
    records[1] = records[1].__class__(id="long", completion="a much longer completion " * 3, prompt_messages=records[1].prompt_messages, family="f9")
    stats = completion_token_stats(loaded.model, loaded.tokenizer, records, max_length=96, batch_size=4)
    for record, item in zip(records, stats):
        example = encode(loaded.tokenizer, record, 96)
        with torch.no_grad():
            loss = loaded.model(
                input_ids=torch.tensor([example.input_ids]), labels=torch.tensor([example.labels])
            ).loss.item()
        assert item.nll == pytest.approx(loss, rel=1e-4)
        assert item.n_tokens == example.completion_tokens
        # E_p[log p] is minus the entropy, never above 0, and the token's own log-prob is <= 0.
        assert np.all(item.mean_logprob <= 1e-6) and np.all(item.logprobs <= 1e-6) and np.all(item.std_logprob >= 0)


def test_nll_only_scoring_gives_the_same_logprobs_and_no_spread():
    loaded = tiny_loaded("llama")
    records = tiny_records(5, families=5)
    full = completion_token_stats(loaded.model, loaded.tokenizer, records, max_length=96, batch_size=2)
    lean = completion_token_stats(loaded.model, loaded.tokenizer, records, max_length=96, batch_size=2, spread=False)
    for a, b in zip(full, lean):
        np.testing.assert_array_equal(a.logprobs, b.logprobs)
        assert b.nll == a.nll and b.n_tokens == a.n_tokens
        assert b.mean_logprob.shape == a.mean_logprob.shape and np.isnan(b.mean_logprob).all()
        assert np.isnan(b.std_logprob).all() and np.isfinite(a.std_logprob).all()


def test_generation_is_deterministic_and_keeps_input_order():
    loaded = tiny_loaded("llama")
    records = tiny_records(5, families=5)
    one_by_one = [generate_completions(loaded.model, loaded.tokenizer, [r], max_new_tokens=5, batch_size=1)[0] for r in records]
    batched = generate_completions(loaded.model, loaded.tokenizer, records, max_new_tokens=5, batch_size=5)
    assert batched == generate_completions(loaded.model, loaded.tokenizer, records, max_new_tokens=5, batch_size=5)
    assert len(batched) == len(records)
    # Left padding must not change greedy output on the tiny model: each item matches its own run.
    assert batched == one_by_one
    assert loaded.tokenizer.padding_side == "right"  # restored for training


def test_scorer_contract_checks_range_and_user_functions():
    record = tiny_records(1)[0]
    f1 = resolve_scorer("token-f1")
    assert score_one(f1, record.completion, record).score == pytest.approx(1.0)
    assert score_one(f1, "nothing alike", record).score == 0.0
    with pytest.raises(MemgapError, match="scores must lie in"):
        score_one(lambda completion, r: 1.5, "x", record)
    with pytest.raises(MemgapError, match="did you mean token-f1"):
        resolve_scorer("token-f")
    assert score_one(resolve_scorer("memgap.evaluation.reference_scorers:token_f1"), record.completion, record).score == 1.0
