"""What would settle an inconclusive verdict: families enough for an interval where a lift has none,
then the families the power analysis asks for (`audit["power"]`). Sentences for `memgap.verdict`."""
from __future__ import annotations

import math
from typing import Any

from memgap.report.formatting import percent_number, signed
from memgap.verdict_figures import usable


def to_settle(audit: dict, metric: str, *, seen: dict, unseen: dict, gap: Any, untestable: list[str],
              families_for_interval: int, ci: str, name: str) -> str:
    """What would decide: families enough for an interval where a primary lift has none, then the power analysis."""
    needs_interval = interval_needs(seen, unseen, untestable=untestable, families_for_interval=families_for_interval,
                                    ci=ci)
    power_text = power_to_settle(audit, metric, unseen=unseen, gap=gap, name=name)
    if not needs_interval:
        return power_text
    # The power analysis's fallback ("more unseen families") says less than the interval's need.
    return needs_interval if power_text.startswith("More unseen families") else f"{needs_interval} {power_text}"


def interval_needs(seen: dict, unseen: dict, *, untestable: list[str], families_for_interval: int, ci: str) -> str:
    """'A 95 % CI needs at least 6 families in a hold-out (this audit has 3 seen, 1 unseen): ...' or ''."""
    short = [(where, s.get("n_families")) for where, s in (("seen", seen), ("unseen", unseen))
             if where in untestable and isinstance(s.get("n_families"), int)
             and s["n_families"] < families_for_interval]
    if not short:
        return ""
    have = ", ".join(f"{n} {where}" for where, n in short)
    return (f"A {ci} and a p-value need at least {families_for_interval} families in a hold-out "
            f"(this audit has {have}): add distinct originals (new families), not more variants of the same "
            "ones, and re-run.")


def power_to_settle(audit: dict, metric: str, *, unseen: dict, gap: Any, name: str) -> str:
    """'About 40 unseen families (this audit has 8) would detect a gap of +0.12 in NAME with 80 % power.'"""
    power = (audit.get("power") or {}).get(metric) or {}
    needed = power.get("families_needed")
    have = unseen.get("n_families")
    target = power.get("target_power", 0.8)
    if isinstance(needed, (int, float)) and math.isfinite(needed):
        text = f"About {int(math.ceil(needed))} unseen families"
        if have is not None:
            text += f" (this audit has {int(have)})"
        effect = power.get("effect", gap.get("delta") if usable(gap) else None)
        if effect is not None:
            text += f" would detect a gap of {signed(effect)} in {name}"
        return text + f" with {percent_number(float(target) * 100)} % power."
    return (
        "More unseen families (the power analysis is missing or found no finite number): "
        "re-run with a larger unseen-family hold-out or several seeds."
    )
