"""Word tokens with character offsets, shared by the copying and fact probes.

Probes compare texts at the word level, independent of any model tokenizer, so that a span copied
from training counts the same under every model. A token is a maximal run of Unicode letters,
digits or underscores (regex `\\w+`), lowercased; punctuation and whitespace are skipped, so a
sentence copied with different spacing or punctuation still matches.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from memgap.data.records import Record, context_strings

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class WordTokens:
    """The lowercased word tokens of a text and where each one lies in it (character offsets)."""

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.words)

    def char_range(self, first: int, last_exclusive: int) -> tuple[int, int]:
        """Character range covering tokens [first, last_exclusive)."""
        return self.starts[first], self.ends[last_exclusive - 1]


def word_tokens(text: str) -> WordTokens:
    """Split text into lowercased word tokens with their character offsets."""
    matches = list(_WORD.finditer(text))
    return WordTokens(
        tuple(match.group().lower() for match in matches),
        tuple(match.start() for match in matches),
        tuple(match.end() for match in matches),
    )


def words(text: str) -> list[str]:
    """Lowercased word tokens of a text, without offsets."""
    return [word.lower() for word in _WORD.findall(text)]


def ngrams(tokens: Sequence[str], n: int) -> Iterator[tuple[str, ...]]:
    """Contiguous n-token windows, in order."""
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def licensed_text(record: Record) -> str:
    """Text an item itself licenses a generation to repeat: its prompt, reference and context values."""
    parts: Iterable[str] = [record.prompt_plain, record.completion, *context_strings(record.context)]
    return "\n".join(part for part in parts if part)
