"""Word tokens with character offsets, shared by the copying and fact probes.

Probes compare texts at the word level, independent of any model tokenizer, so that a span copied
from training counts the same under every model. The units are those of `memgap.words` (the one
tokenizer of every text comparison: NFKC, case-folded, Unicode word boundaries, one unit per
character in scripts written without spaces); punctuation and whitespace are skipped, so a sentence
copied with different spacing or punctuation still matches.
"""
from __future__ import annotations

from collections.abc import Iterable

from memgap.data.records import Record, context_strings
from memgap.words import WordTokens, ngrams, word_tokens, words

__all__ = ["WordTokens", "licensed_text", "ngrams", "word_tokens", "words"]


def licensed_text(record: Record) -> str:
    """Text an item itself licenses a generation to repeat: its prompt, reference and context values."""
    parts: Iterable[str] = [record.prompt_plain, record.completion, *context_strings(record.context)]
    return "\n".join(part for part in parts if part)
