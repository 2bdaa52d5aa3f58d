"""Per-token statistics of a reference completion under a model, as plain arrays.

Evaluation fills these in one forward pass; the NLL metric and the membership probes (loss, Min-K%,
Min-K%++) read them without touching torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenStats:
    """For each completion token t: log p(t), and the mean and std of log p(.) under p at that position."""

    logprobs: np.ndarray  # shape (n_tokens,)
    mean_logprob: np.ndarray  # E_{v~p}[log p(v)], for Min-K%++
    std_logprob: np.ndarray  # sqrt(Var_{v~p}[log p(v)])
    # max_v log p(v): the token is the model's top prediction where logprobs == max_logprob (EZ-MIA's
    # error positions are the others, memgap.probes.reference). None in rows written before it was recorded.
    max_logprob: np.ndarray | None = None

    @property
    def n_tokens(self) -> int:
        return int(self.logprobs.shape[0])

    @property
    def nll(self) -> float:
        """Mean negative log-likelihood per completion token (nats)."""
        return float(-self.logprobs.mean()) if self.n_tokens else float("nan")

    def to_dict(self) -> dict[str, list[float]]:
        data = {
            "logprobs": self.logprobs.tolist(),
            "mean_logprob": self.mean_logprob.tolist(),
            "std_logprob": self.std_logprob.tolist(),
        }
        if self.max_logprob is not None:
            data["max_logprob"] = self.max_logprob.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> "TokenStats":
        return cls(
            np.asarray(data["logprobs"], dtype=np.float64),
            np.asarray(data["mean_logprob"], dtype=np.float64),
            np.asarray(data["std_logprob"], dtype=np.float64),
            np.asarray(data["max_logprob"], dtype=np.float64) if data.get("max_logprob") is not None else None,
        )
