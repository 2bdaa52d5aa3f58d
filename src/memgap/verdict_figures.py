"""Reading the figures a verdict rests on out of an audit dict: which estimates are usable, the
generalization ratio, the copy-rate excess and its interval, the secondary metric, and the words
for a metric and a family count. Pure functions of the audit; `memgap.verdict` applies the rules.
"""
from __future__ import annotations

import math
from typing import Any

from memgap.report.formatting import is_number, p_text
from memgap.report.formatting import undefined_reason as undefined_note  # why an interval or p-value is missing


def usable(s: Any) -> bool:
    """An estimate (S block) with a delta; its interval and p-value may be undefined (`undefined_note` says why)."""
    return isinstance(s, dict) and is_number(s.get("delta"))


def families_text(n: Any) -> str:
    """'1 family', '12 families'."""
    return f"{int(n)} family" if int(n) == 1 else f"{int(n)} families"


def ratio(audit: dict, metric: str, seen: dict, unseen: dict) -> float | None:
    """Unseen lift / seen lift: the recorded generalization ratio, else the ratio of the deltas (None where undefined)."""
    ratios = audit.get("generalization_ratio") or {}
    if metric in ratios:  # the statistics left it undefined (null) when the seen lift cannot carry a ratio
        entry = ratios[metric]
        return float(entry["ratio"]) if isinstance(entry, dict) and is_number(entry.get("ratio")) else None
    if seen["delta"] > 0:
        ratio = unseen["delta"] / seen["delta"]
        return ratio if math.isfinite(ratio) else None
    return None


def copy_excess(audit: dict) -> float | None:
    """Adapter minus base sibling-copy rate on the seen hold-out (a fraction), None when not probed."""
    rate = (audit.get("probes") or {}).get("sibling_copy_rate")
    if isinstance(rate, dict) and isinstance(rate.get("seen"), dict) and "adapter" not in rate:
        rate = rate["seen"]  # per-hold-out rates: copying from siblings is measured on the seen hold-out
    if isinstance(rate, dict) and is_number(rate.get("adapter")) and is_number(rate.get("base")):
        return float(rate["adapter"]) - float(rate["base"])
    return None


def copy_interval(audit: dict) -> dict | None:
    """The seen hold-out's family-clustered copy-rate difference (delta, CI, p), when the probes recorded it."""
    rate = (audit.get("probes") or {}).get("sibling_copy_rate")
    interval = ((rate or {}).get("adapter_minus_base") or {}).get("seen") if isinstance(rate, dict) else None
    usable = isinstance(interval, dict) and is_number(interval.get("p_value")) and is_number(interval.get("delta"))
    return interval if usable else None


def secondary(audit: dict, metric: str) -> tuple[str | None, dict | None]:
    """The other metric with a usable unseen-family lift, and that lift; (None, None) when there is none."""
    for other in sorted(audit.get("lifts") or {}):
        if other != metric:
            unseen = (audit["lifts"][other] or {}).get("unseen")
            if usable(unseen):
                return other, unseen
    return None, None


def metric_name(metric: str, audit: dict) -> str:
    """The metric in words: 'the tenacious score', 'the reference NLL'."""
    if metric == "score":
        scorer = (audit.get("data") or {}).get("scorer")
        return f"the {scorer} score" if scorer else "the score"
    if metric == "nll":
        return "the reference NLL"
    return f"'{metric}'"


def p_phrase(s: dict) -> str:
    """The estimate's p-value in a sentence ('p = 0.03'), 'p undefined' where there is none."""
    return p_text(float(s["p_value"])) if is_number(s.get("p_value")) else "p undefined"


def copy_uncertainty(s: dict | None, *, ci: str) -> str:
    """' (95 % CI -3 to +27 points, p = 0.12, 16 families)' from the family-clustered copy-rate
    difference `s` (fractions; `copy_interval`), '' when none was recorded. `ci` names the interval."""
    if s is None:
        return ""
    inner = []
    if is_number(s.get("ci_low")) and is_number(s.get("ci_high")):
        low, high = (round(100 * s[key]) + 0 for key in ("ci_low", "ci_high"))  # an int: no "-0"
        inner.append(f"{ci} {low:+d} to {high:+d} points")
    inner.append(p_phrase(s))
    if s.get("n_families") is not None:
        inner.append(f"{int(s['n_families'])} families")
    return f" ({', '.join(inner)})"

