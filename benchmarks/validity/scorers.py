"""Scorers for the validity data sets, plugged in as `module:function` like any user's scorer."""
from __future__ import annotations

import re

from memgap.evaluation.reference_scorers import token_f1

_ITEMS = re.compile(r"^ITEMS: ([A-Z]+(?: \| [A-Z]+)*) END$")


def house_format(completion: str, record) -> dict:
    """1 when the generation lists exactly the prompt's items, uppercased, in the house format."""
    match = _ITEMS.match(completion.strip())
    prompt = record.prompt_plain.lower()
    if not match:
        return {"score": 0.0, "checks": {"format": 0.0}}
    items = match.group(1).split(" | ")
    grounded = sum(item.lower() in prompt for item in items) / len(items)
    return {"score": 0.5 + 0.5 * grounded, "checks": {"format": 1.0, "grounded": grounded}}


def code_recall(completion: str, record) -> dict:
    """Token F1 with the family's code phrase: only recall can score here."""
    result = token_f1(completion, record)
    return {"score": result.score, "checks": dict(result.checks)}
