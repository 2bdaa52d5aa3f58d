"""What would settle an inconclusive verdict, as one fact (`SettleNeed`) that the verdict's `to_settle`
sentence and the report's next action both read, so that the two never disagree.

The fact: families enough for an interval where a primary lift has none (`interval`), else the unseen
families the power analysis asks for (`power`, from `audit["power"]`), else more unseen families
without a number (`more-families`: the power analysis is missing or found no finite figure, e.g. for a
gap of exactly 0). The verdict records it in audit.json as `verdict.settle`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from memgap.report.formatting import is_number, percent_number, signed
from memgap.stats.signflip import min_families_for_interval
from memgap.verdict_figures import undefined_note, usable

SETTLE_REASONS = ("interval", "power", "more-families")


@dataclass(frozen=True)
class SettleNeed:
    """The evidence that would decide an inconclusive verdict.

    `reason`: one of SETTLE_REASONS (the first that applies). `unseen_families`: the unseen families this
    audit has. `interval_families`: the families a hold-out needs for any interval at the audit's alpha,
    and `short_holdouts` the hold-outs with fewer ({"seen": 3, "unseen": 1}), for reason `interval`.
    `power_families`: the power analysis's `families_needed`, rounded up (None where it has no finite
    figure), with the gap it detects (`power_effect`) at `target_power`.
    """

    reason: str
    unseen_families: int | None = None
    interval_families: int | None = None
    short_holdouts: dict[str, int] = field(default_factory=dict)
    power_families: int | None = None
    power_effect: float | None = None
    target_power: float = 0.8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SettleNeed | None:
        """The fact as audit.json's `verdict.settle` holds it; None for anything else."""
        if not isinstance(data, dict) or data.get("reason") not in SETTLE_REASONS:
            return None
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    @property
    def more_families_needed(self) -> int | None:
        """Unseen families the power analysis asks for beyond those in hand; None where it gives no such number."""
        if self.power_families is None or (self.unseen_families is not None and self.power_families <= self.unseen_families):
            return None
        return self.power_families


def settle_need(audit: dict, metric: str, *, alpha: float | None = None, gap: Any = None) -> SettleNeed:
    """The fact for `audit`'s primary `metric`: see the module docstring for the order of the reasons.

    `alpha` sets the families an interval needs (default: the audit's `config.stats.alpha`, else 0.05);
    `gap` the gap whose size the power sentence quotes where `audit["power"]` records no effect.
    """
    if alpha is None:
        alpha = float(((audit.get("config") or {}).get("stats") or {}).get("alpha", 0.05))
    lifts = (audit.get("lifts") or {}).get(metric) or {}
    seen, unseen = lifts.get("seen") or {}, lifts.get("unseen") or {}
    interval_families = min_families_for_interval(alpha)
    short = {where: int(s["n_families"]) for where, s in (("seen", seen), ("unseen", unseen))
             if usable(s) and undefined_note(s) and isinstance(s.get("n_families"), int)
             and s["n_families"] < interval_families}
    power = (audit.get("power") or {}).get(metric) or {}
    needed = power.get("families_needed")
    power_families = int(math.ceil(needed)) if is_number(needed) and math.isfinite(needed) else None
    gap = gap if gap is not None else (audit.get("gap") or {}).get(metric)
    effect = power.get("effect", gap.get("delta") if usable(gap) else None)
    reason = "interval" if short else "power" if power_families is not None else "more-families"
    have = unseen.get("n_families")
    return SettleNeed(reason, unseen_families=int(have) if is_number(have) else None,
                      interval_families=interval_families if short else None, short_holdouts=short,
                      power_families=power_families, power_effect=float(effect) if is_number(effect) else None,
                      target_power=float(power.get("target_power", 0.8)))


def settle_sentence(need: SettleNeed, *, ci: str, name: str) -> str:
    """`to_settle` in words: the interval's need, then the power analysis's figure (where it has one)."""
    power_text = _power_sentence(need, name=name)
    if need.reason != "interval":
        return power_text
    have = ", ".join(f"{n} {where}" for where, n in need.short_holdouts.items())
    interval_text = (f"A {ci} and a p-value need at least {need.interval_families} families in a hold-out "
                     f"(this audit has {have}): add distinct originals (new families), not more variants of the same "
                     "ones, and re-run.")
    # Without a power figure its fallback ("more unseen families") says less than the interval's need.
    return interval_text if need.power_families is None else f"{interval_text} {power_text}"


def _power_sentence(need: SettleNeed, *, name: str) -> str:
    """'About 40 unseen families (this audit has 8) would detect a gap of +0.12 in NAME with 80 % power.'"""
    if need.power_families is None:
        return ("More unseen families (the power analysis is missing or found no finite number): "
                "re-run with a larger unseen-family hold-out or several seeds.")
    text = f"About {need.power_families} unseen families"
    if need.unseen_families is not None:
        text += f" (this audit has {need.unseen_families})"
    if need.power_effect is not None:
        text += f" would detect a gap of {signed(need.power_effect)} in {name}"
    return text + f" with {percent_number(need.target_power * 100)} % power."
