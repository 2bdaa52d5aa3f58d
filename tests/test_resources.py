"""The training estimate grows with what costs memory and time, and flags runs that will not fit."""
from __future__ import annotations

from memgap.resources import estimate_training

SMALL = dict(n_parameters=135_000_000, hidden_size=576, n_layers=30, vocab_size=49_152,
             batch_size=4, sequence_length=400, train_tokens=40_000, epochs=1.0)


def test_estimate_scales_with_batch_length_and_tokens():
    base = estimate_training(**SMALL)
    assert estimate_training(**{**SMALL, "batch_size": 8}).peak_memory_bytes > base.peak_memory_bytes
    assert estimate_training(**{**SMALL, "sequence_length": 800}).peak_memory_bytes > base.peak_memory_bytes
    assert estimate_training(**{**SMALL, "epochs": 2.0}).seconds == 2 * base.seconds
    assert estimate_training(**{**SMALL, "n_parameters": 1_350_000_000}).seconds > 9 * base.seconds
    # The embedded model at the quick size fits in a few GB on any machine memgap targets.
    assert 1e9 < base.peak_memory_bytes < 8e9 and base.fits_in_memory


def test_a_run_far_beyond_memory_does_not_fit():
    huge = estimate_training(**{**SMALL, "n_parameters": 70_000_000_000, "batch_size": 64, "sequence_length": 8192})
    assert huge.available_memory_bytes is not None and not huge.fits_in_memory
