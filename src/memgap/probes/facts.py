"""Carried-over facts: names and figures in a generation that came from training, not from the item.

An adapter that memorized its families tends to repeat another row's specifics: a company's name,
a role count, a funding figure. We pull fact-like strings out of a generation (capitalised names,
money, percentages, scaled figures, multi-digit numbers, small counts with their noun) and flag
those that occur in some training completion but not in the text the item licenses (its prompt,
reference and context values). Heuristic by design: the base model, run through the same probe, is
the control for what the heuristic flags by chance.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memgap.data.records import Record
from memgap.probes.text import licensed_text, words

# Capitalised words that start a letter or a sentence without naming anything specific.
_NOT_NAMES = frozenset(
    """
    i a an the this that these those it its we our you your he she they my me us hi hello hey dear
    thanks thank best regards kind warm sincerely cheers yours regarding re subject fyi ps
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december
    """.split()
)
_CAPITALISED = r"[A-Z\u00c0-\u00de][\w'\u2019&-]*"
_NAME_RUN = re.compile(rf"{_CAPITALISED}(?:[ \t]+(?:(?:of|de|van|von|der|&)[ \t]+)?{_CAPITALISED})*")
_NUMBER = re.compile(
    r"(?P<currency>[$\u20ac\u00a3\u00a5])?[ \t]?"
    r"(?P<number>\d+(?:[.,]\d+)*)"
    r"(?:[ \t]?(?P<scale>k|m|mm|mn|bn|b|thousand|million|billion|trillion)\b)?"
    r"(?P<percent>[ \t]?%|[ \t]percent\b)?"
    r"(?:[ \t]+(?P<noun>[a-z][a-z-]+))?",
    re.IGNORECASE,
)
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "million": 1e6,
           "b": 1e9, "bn": 1e9, "billion": 1e9, "trillion": 1e12}
_SENTENCE_END = ".!?:;\n"


@dataclass(frozen=True)
class Fact:
    """A fact-like string in a text: its kind, a normalised key, and its character range."""

    kind: str  # name | number | count
    key: str  # "name:sarah chen", "number:12000000", "count:3 role"
    value: str  # the word tokens of a name or the numeric value, for the licensed-text check
    start: int
    end: int

    def to_dict(self, text: str) -> dict:
        return {"kind": self.kind, "key": self.key, "start": self.start, "end": self.end, "text": text[self.start : self.end]}


def extract_facts(text: str) -> list[Fact]:
    """Names and figures in a text, with normalised keys so that reformatting still matches."""
    return sorted([*_names(text), *_numbers(text)], key=lambda fact: fact.start)


def _names(text: str) -> Iterable[Fact]:
    for match in _NAME_RUN.finditer(text):
        parts = [(word.group(), match.start() + word.start(), match.start() + word.end())
                 for word in re.finditer(r"\S+", match.group())]
        while parts and parts[0][0].lower() in _NOT_NAMES:
            parts.pop(0)
        while parts and parts[-1][0].lower() in _NOT_NAMES:
            parts.pop()
        if not parts:
            continue
        start, end = parts[0][1], parts[-1][2]
        if len(parts) == 1 and not _lone_name(parts[0][0], text, start):
            continue
        tokens = words(text[start:end])
        if tokens:
            name = " ".join(tokens)
            yield Fact("name", f"name:{name}", name, start, end)


def _lone_name(word: str, text: str, start: int) -> bool:
    """A single capitalised word counts as a name mid-sentence, unless it is short, an acronym or has digits.

    At a sentence start it is usually just the sentence's first word; short acronyms (CEO, AI) and
    identifiers (B2B, Q3) are generic vocabulary rather than another row's specifics.
    """
    core = word.strip("'\u2019&-")
    if len(core) < 3 or any(ch.isdigit() for ch in core) or (core.isupper() and len(core) <= 4):
        return False
    return not _starts_sentence(text, start)


def _starts_sentence(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \t\"'(\u201c")
    return not before or before[-1] in _SENTENCE_END


def _numbers(text: str) -> Iterable[Fact]:
    for match in _NUMBER.finditer(text):
        if match.start("number") > 0 and (text[match.start("number") - 1].isalpha()):
            continue  # part of an identifier such as B2B or Q3
        value = _numeric_value(match.group("number"), match.group("scale"))
        if value is None:
            continue
        figure = bool(match.group("currency") or match.group("scale") or match.group("percent"))
        if figure or value >= 10:
            end = max(match.end(group) for group in ("number", "scale", "percent") if match.group(group))
            start = match.start("currency") if match.group("currency") else match.start("number")
            yield Fact("number", f"number:{_format(value)}", _format(value), start, end)
        elif match.group("noun"):
            noun = match.group("noun").lower()
            noun = noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun
            yield Fact("count", f"count:{_format(value)} {noun}", _format(value), match.start("number"), match.end("noun"))


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e18 else f"{value:.6g}"


def _numeric_value(number: str, scale: str | None) -> float | None:
    cleaned = number.replace(",", "") if number.count(".") <= 1 else number.replace(".", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value * _SCALES.get((scale or "").lower(), 1.0)


class TrainingFacts:
    """The fact keys of all training completions, and the word text to look names up in."""

    def __init__(self, train_records: Sequence[Record]):
        self.keys: dict[str, str] = {}  # fact key -> first training id that states it
        for record in train_records:
            for fact in extract_facts(record.completion):
                self.keys.setdefault(fact.key, record.id)

    def source_of(self, fact: Fact) -> str | None:
        return self.keys.get(fact.key)


def carried_over_facts(generation: str, record: Record, training: TrainingFacts) -> list[tuple[Fact, str]]:
    """Facts in a generation stated in some training completion but not in the item's own text.

    Parameters: generation: the generated text; record: the hold-out item (its prompt and context
    are its own text); training: the facts of the training completions (`TrainingFacts`).
    Returns each such fact with the id of a training row that states it. A figure counts as the
    item's own when its value appears anywhere in the licensed text (as any kind of number), a name
    when its words appear there in order.
    """
    facts = extract_facts(generation)
    if not facts:
        return []
    licensed = licensed_text(record)
    own_values = {_format(value) for value in _all_values(licensed)}
    own_words = f" {' '.join(words(licensed))} "
    carried = []
    for fact in facts:
        source = training.source_of(fact)
        if source is None:
            continue
        own = f" {fact.value} " in own_words if fact.kind == "name" else fact.value in own_values
        if not own:
            carried.append((fact, source))
    return carried


def _all_values(text: str) -> Iterable[float]:
    for match in _NUMBER.finditer(text):
        value = _numeric_value(match.group("number"), match.group("scale"))
        if value is not None:
            yield value
            if match.group("scale"):
                yield _numeric_value(match.group("number"), None)
