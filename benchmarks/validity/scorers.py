"""Scorers for the validity data sets, plugged in as `module:function` like any user's scorer."""
from __future__ import annotations

import re


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
    """Share of the family's code words that the generation contains: only recall can score here.

    The literal "CODE" and the format earn nothing, and the code words never occur in a prompt.
    """
    code = [word for word in record.completion.lower().split() if word != "code"]
    generated = set(re.findall(r"[a-z]+", completion.lower()))
    recalled = sum(word in generated for word in code) / len(code)
    return {"score": recalled, "checks": {"recalled": recalled}}
