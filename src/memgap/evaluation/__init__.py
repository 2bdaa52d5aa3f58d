"""Scoring a model on hold-out records: batched generation, per-item NLL, and scorers."""
