"""What a Tenacious brief's structured context states: its words, numbers, company, bench and segment.

The checks compare an email against these facts; keeping the readers here leaves `checks` with the rules.
"""
from __future__ import annotations

import re
from typing import Any

from memgap.data.records import context_strings
from memgap.domains.tenacious import catalog

NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "dozen": 12,
}
NUMBER_WORD = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def as_number(text: str) -> float | None:
    """A digit string ("1,200", "3.5") as a number, or None."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def context_numbers(context: Any) -> set[float]:
    """Every number the context states, in digits or as a word ("two product lines")."""
    text = "\n".join(context_strings(context))
    numbers = {n for token in NUMBER.findall(text) if (n := as_number(token)) is not None}
    return numbers | {float(NUMBER_WORDS[word.lower()]) for word in NUMBER_WORD.findall(text)}


def context_words(context: Any) -> set[str]:
    """Every word of the context, lower-cased, with and without edge dots and hyphens."""
    words = {word.lower() for word in re.findall(r"[\w.#+-]+", "\n".join(context_strings(context)))}
    return words | {word.strip(".-") for word in words}


def company_name(context: dict) -> str:
    """The company's name, whether the context gives a name or a company object."""
    company = context.get("company")
    if isinstance(company, dict):
        return str(company.get("name") or "")
    return str(company or "")


def _stack_patterns(stack: str) -> tuple[str, ...]:
    known = catalog.STACKS.get(stack)
    return known["patterns"] if known else (r"(?<!\w)" + re.escape(stack) + r"(?!\w)",)


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def bench_counts(context: dict) -> dict[str, int]:
    """Engineers on the bench per stack; repeated stacks add up and bad counts count as 0."""
    counts: dict[str, int] = {}
    for entry in context.get("bench") or []:
        if isinstance(entry, dict) and entry.get("stack"):
            counts[str(entry["stack"])] = counts.get(str(entry["stack"]), 0) + _count(entry.get("count"))
    return counts


def stacks_in(text: str, stacks: list[str]) -> list[tuple[str, int]]:
    """(stack, position) for every mention of one of `stacks` in the text."""
    found = []
    for stack in stacks:
        for pattern in _stack_patterns(stack):
            found += [(stack, match.start()) for match in re.finditer(pattern, text)]
    return sorted(found, key=lambda item: item[1])


SEGMENT_NAMES = (
    ("recently_funded", r"fund"), ("restructuring", r"restruct|cost"), ("mature_enterprise", r"enterprise|mature"),
    ("ai_transformation", r"\bai\b|ai[_ -]|artificial"),
)


def segment_of(context: dict) -> str | None:
    """The context's segment as one of the four keys, from a key or a free-text label."""
    company = context.get("company")
    raw = context.get("segment") or (company.get("segment") if isinstance(company, dict) else None)
    text = str(raw or "").lower()
    return next((key for key, pattern in SEGMENT_NAMES if re.search(pattern, text)), None)
