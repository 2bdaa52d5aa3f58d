"""Word units of any script: the one tokenizer every text comparison in memgap shares.

Family inference (its shingles), the leakage audit (its similarity and its 13-gram check), the
copying and fact probes and the token-F1 scorer all compare texts as sequences of these units, so
that one text in any script is cut the same way everywhere, and independent of any model tokenizer.

A text is cut as follows:
- Each word is normalised: Unicode NFKC (fullwidth letters and digits, ligatures and the
  no-break space become their plain forms), then case-folded (`str.casefold`: `ß` -> `ss`), then
  the marks that writers of Arabic and Hebrew may leave out (harakat, niqqud) and the tatweel are
  dropped, so a vocalised and an unvocalised spelling of one word are one unit.
- Words are maximal runs of Unicode word characters (letters, marks, digits, connector
  punctuation: the `regex` package's Unicode `\\w`, which unlike the standard library's keeps the
  vowel signs of Indic scripts inside their words). Punctuation and spaces of every script (Arabic
  comma U+060C, em dash, smart quotes, fullwidth and CJK punctuation) separate words and are not
  units themselves.
- Scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer,
  Myanmar) have no word boundary a regular expression can find, so each of their characters (with
  its combining marks) is one unit; the n-grams callers build over units are then character
  n-grams there, the usual fallback for near-duplicate detection in those scripts.

Pure ASCII text takes a fast path with the same result (`\\w` on ASCII is `[A-Za-z0-9_]`, NFKC and
case folding are lower-casing there).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

UNSPACED_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
_UNSPACED = "".join(rf"\p{{Script={script}}}" for script in UNSPACED_SCRIPTS)
# One unit: a character of an unspaced script with its marks, or a run of other word characters.
_UNIT = regex.compile(rf"[{_UNSPACED}]\p{{M}}*|(?:(?![{_UNSPACED}])\w)+")
# Harakat and niqqud are Script=Inherited; their Script_Extensions name the scripts that use them.
_OPTIONAL_MARKS = regex.compile(r"(?V1)[[\p{Mn}&&[\p{scx=Arabic}\p{scx=Hebrew}]]\u0640]")
_UNSPACED_UNIT = regex.compile(rf"[{_UNSPACED}]\p{{M}}*")
_ASCII_WORD = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class WordTokens:
    """The normalised word units of a text and where each lies in it (character offsets)."""

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.words)

    def char_range(self, first: int, last_exclusive: int) -> tuple[int, int]:
        """Character range of the original text covering units [first, last_exclusive)."""
        return self.starts[first], self.ends[last_exclusive - 1]


def normalize_word(word: str) -> str:
    """One word's normal form: NFKC, case-folded, optional Arabic and Hebrew marks dropped."""
    return _OPTIONAL_MARKS.sub("", unicodedata.normalize("NFKC", word).casefold())


def word_tokens(text: str) -> WordTokens:
    """The word units of `text` (see the module docstring) with offsets into `text` itself.

    A word whose normal form falls apart into several units (NFKC turns `¼` into `1⁄4`) gives all
    of them the word's offsets.
    """
    if text.isascii():
        matches = [(match.group(), match.start(), match.end()) for match in _ASCII_WORD.finditer(text.lower())]
    else:
        matches = []
        for match in _UNIT.finditer(text):
            normal = normalize_word(match.group())
            for unit in (_UNIT.findall(normal) if normal != match.group() else (normal,)):
                matches.append((unit, match.start(), match.end()))
    return WordTokens(
        tuple(unit for unit, _, _ in matches),
        tuple(start for _, start, _ in matches),
        tuple(end for _, _, end in matches),
    )


def words(text: str) -> list[str]:
    """The normalised word units of `text`, in order (`word_tokens` without offsets)."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return list(word_tokens(text).words)


def shingle_units(text: str) -> list[str]:
    """The units similarity compares: `words(text)`, except that each run of characters of an
    unspaced script becomes its overlapping character bigrams (a run of one stays a unigram).

    A word of Chinese or Japanese is about two characters long, so a single character says about
    as little as a syllable of an English word; bigrams stand in for words there, and pairs of
    bigrams (the shingler's 2-grams) for word pairs.
    """
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    tokens = word_tokens(text)
    units: list[str] = []
    run: list[str] = []
    previous_end = -1
    for unit, start, end in zip(tokens.words, tokens.starts, tokens.ends):
        if _UNSPACED_UNIT.fullmatch(unit) and (not run or start == previous_end):
            run.append(unit)
        else:
            units.extend(_bigrams(run))
            run = [unit] if _UNSPACED_UNIT.fullmatch(unit) else []
            if not run:
                units.append(unit)
        previous_end = end
    units.extend(_bigrams(run))
    return units


def _bigrams(run: list[str]) -> list[str]:
    if len(run) <= 1:
        return run
    return [first + second for first, second in zip(run, run[1:])]


def spaced_words(text: str) -> str:
    """A text whose maximal runs of `[a-z0-9_]` and non-ASCII characters are exactly its
    `shingle_units`.

    The hashed shingler of family inference reads units from bytes this way, which is several
    times faster than a regular expression per row; ASCII text only needs lower-casing for it.
    """
    if text.isascii():
        return text.lower()
    return " ".join(shingle_units(text))


def ngrams(tokens: Sequence[str], n: int):
    """Contiguous n-unit windows, in order, as tuples."""
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bag_of_words_f1(generated: Sequence[str], reference: Sequence[str]) -> tuple[float, float, float]:
    """(F1, precision, recall) of two bags of word units (SQuAD's token F1); zeros without overlap."""
    overlap = sum((Counter(generated) & Counter(reference)).values())
    if overlap == 0:
        return 0.0, 0.0, 0.0
    precision, recall = overlap / len(generated), overlap / len(reference)
    return 2 * precision * recall / (precision + recall), precision, recall

