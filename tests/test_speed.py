"""Length-grouped evaluation batches, the precision choice, and training under bf16 autocast."""
from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from memgap.config import LoraConfig, TrainingConfig, load_config
from memgap.errors import MemgapError
from memgap.evaluation.batching import length_batches, padding_share
from memgap.training.sft import load_trained, train_lora
from tiny_models import tiny_loaded, tiny_records


@given(st.lists(st.integers(1, 500), max_size=80), st.integers(1, 40))
def test_length_batches_cover_every_item_once_in_the_fewest_balanced_batches(lengths, batch_size):
    batches = length_batches(lengths, batch_size)
    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert len(batches) == math.ceil(len(lengths) / batch_size)
    sizes = [len(batch) for batch in batches]
    assert all(size <= batch_size for size in sizes) and (not sizes or max(sizes) - min(sizes) <= 1)
    # sorted: no batch holds an item longer than any item of a later batch
    for earlier, later in zip(batches, batches[1:]):
        assert max(lengths[i] for i in earlier) <= min(lengths[i] for i in later)


def test_length_batches_pad_less_than_input_order():
    lengths = [10, 300, 12, 290, 11, 310, 9, 305]
    in_order = [list(range(i, i + 2)) for i in range(0, 8, 2)]
    assert padding_share(lengths, length_batches(lengths, 2)) < 0.05 < padding_share(lengths, in_order)
    with pytest.raises(ValueError):
        length_batches(lengths, 0)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_records_its_precision_and_learns_under_autocast(precision, tmp_path):
    training = TrainingConfig(max_steps=12, batch_size=4, learning_rate=5e-3, warmup_ratio=0.0, precision=precision)
    result = train_lora(tiny_loaded("llama"), tiny_records(16), lora=LoraConfig(), training=training,
                        max_length=96, output_dir=tmp_path, seed=0, progress=False)
    assert result.precision == precision
    assert json.loads((tmp_path / "train_result.json").read_text())["precision"] == precision
    assert load_trained(tiny_loaded("llama"), tmp_path).precision == precision
    # LoRA weights stay float32 (autocast changes the products, not the parameters) and the loss falls.
    assert all(p.dtype == torch.float32 for n, p in result.model.named_parameters() if "lora_" in n)
    losses = result.train_losses
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.1
