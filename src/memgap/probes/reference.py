"""Reference-calibrated membership: EZ-MIA's Error Zone score with the base model as the reference.

Ilić, Stanojević and Cvejoski 2026, "Powerful Training-Free Membership Inference Against
Autoregressive Language Models" (EZ-MIA, arXiv 2601.12104): memorization shows most at error
positions, tokens the fine-tuned model does not rank first. There, training on a row still raises
the probability of its true token over the pretrained reference's; on rows never trained on the
shifts go either way. The score is the directional imbalance of those shifts: the sum of upward
probability shifts over the sum of downward ones, at error positions only. Two forward passes per
row, which an audit already makes (base and adapter token statistics), and no model trained.
Implemented here from the paper's description of the method.
"""
from __future__ import annotations

import math

import numpy as np

from memgap.evaluation.token_stats import TokenStats

# Added to both sums so a row with shifts in one direction only gets a finite score.
SHIFT_FLOOR = 1e-8
# Without the top prediction's log p (rows saved before it was recorded) a token is surely the top
# prediction when p >= 1/2; below that it is counted as an error position (a superset of them).
SURE_TOP_LOGPROB = math.log(0.5)


def error_positions(adapter: TokenStats) -> np.ndarray:
    """Boolean mask (n_tokens,): positions where the adapter's top prediction is not the reference token.

    A tie with the top log-prob counts as correct. Rows without `max_logprob` fall back to p < 1/2.
    """
    logprobs = np.asarray(adapter.logprobs, dtype=np.float64)
    top = adapter.max_logprob
    if top is None or not np.all(np.isfinite(top)):
        return logprobs < SURE_TOP_LOGPROB
    # a float tolerance: the token's own log p and the max over the vocabulary come from the same row
    return logprobs < np.asarray(top, dtype=np.float64) - 1e-6


def ez_score(adapter: TokenStats, base: TokenStats) -> float:
    """The Error Zone score of one row: log(sum of upward shifts / sum of downward shifts) at error positions.

    Parameters: adapter, base: the same row's token statistics under the fine-tuned model and the
    reference (same tokens, same length). A shift is p_adapter(token) - p_base(token), in probability.
    Higher means "looks like a training row"; 0 when the row has no error position (no evidence
    either way) or its shifts balance. NaN when the two rows differ in length (not the same tokens).
    Method: EZ-MIA (Ilić et al. 2026, arXiv 2601.12104), the base model as the pretrained reference.
    """
    if adapter.n_tokens != base.n_tokens or adapter.n_tokens == 0:
        return float("nan")
    errors = error_positions(adapter)
    shifts = np.exp(np.asarray(adapter.logprobs, dtype=np.float64)[errors]) - np.exp(np.asarray(base.logprobs, dtype=np.float64)[errors])
    upward = float(shifts[shifts > 0].sum())
    downward = float(-shifts[shifts < 0].sum())
    return math.log((upward + SHIFT_FLOOR) / (downward + SHIFT_FLOOR))
