"""The evaluation row: one item scored by one model, the record every stage after evaluation reads.

`memgap.evaluation.evaluate.evaluate_model` builds them; the analysis, the probes, the training
curves and the observational comparability consume them; `to_dict`/`from_dict` are the file edge
(DIR/evaluation/{base,adapter}.jsonl). No torch here, so pure modules can import it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from memgap.evaluation.token_stats import TokenStats
from memgap.errors import MemgapError

# The columns of DIR/predictions.jsonl, an evaluation row without its token statistics.
PREDICTION_COLUMNS = ("id", "family", "holdout", "model", "nll", "n_tokens", "generation", "score", "checks")
METRICS = ("score", "nll")
# The two hold-outs every figure compares (a row's `holdout` may also be "train", the membership sample).
HOLDOUTS = ("seen", "unseen")


@dataclass(frozen=True)
class EvaluationRow:
    """One (item, model) evaluation.

    `holdout`: seen | unseen (the two hold-outs, or an observational audit's parts) | train (the
    membership sample, NLL only). `model`: base | adapter. `nll`: mean negative log-likelihood of
    the reference completion per token, in nats (NaN when it has no token). `generation`, `score`
    (in [0, 1]) and `checks` are set only where the item was generated and scored (the hold-outs).
    """

    id: str
    family: str | None
    holdout: str
    model: str
    nll: float
    n_tokens: int
    token_stats: TokenStats = field(repr=False, compare=False)
    generation: str | None = None
    score: float | None = None
    checks: Mapping[str, Any] | None = None

    def metric(self, name: str) -> float | None:
        """The value of `name` (score or nll), None where the row has none (score without generation)."""
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; one of {', '.join(METRICS)}")
        return getattr(self, name)

    def prediction(self) -> dict[str, Any]:
        """The row as a line of predictions.jsonl (no token statistics)."""
        return {column: _plain(getattr(self, column)) for column in PREDICTION_COLUMNS}

    def to_dict(self) -> dict[str, Any]:
        """The row as a line of evaluation/<model>.jsonl; the generation keys only where generated."""
        row: dict[str, Any] = {
            "id": self.id, "family": self.family, "holdout": self.holdout, "model": self.model,
            "nll": self.nll, "n_tokens": self.n_tokens, "token_stats": self.token_stats.to_dict(),
        }
        if self.generation is not None:
            row.update(generation=self.generation, score=self.score, checks=_plain(self.checks))
        return row

    @classmethod
    def from_dict(cls, row: Mapping[str, Any], *, where: str | None = None) -> "EvaluationRow":
        """A row read back from evaluation/<model>.jsonl.

        Run folders written before the hold-out had one name say `subset`; it is read as `holdout`.
        Raises MemgapError naming `where` when neither key or another required key is present.
        """
        holdout = row.get("holdout", row.get("subset"))
        missing = [key for key in ("id", "model", "nll", "n_tokens", "token_stats") if key not in row]
        if holdout is None or missing:
            raise MemgapError(
                f"evaluation row without {', '.join(missing or ['holdout'])}; rerun with --fresh to evaluate again",
                where=where,
            )
        return cls(
            id=str(row["id"]), family=row.get("family"), holdout=str(holdout), model=str(row["model"]),
            nll=float(row["nll"]) if row["nll"] is not None else float("nan"), n_tokens=int(row["n_tokens"]),
            token_stats=TokenStats.from_dict(row["token_stats"]), generation=row.get("generation"),
            score=row.get("score"), checks=row.get("checks"),
        )


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value
