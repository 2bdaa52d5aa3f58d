"""The shared tokenizer cuts every script into the same units wherever memgap compares texts."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from memgap.families.shingles import shingle_counts
from memgap.words import normalize_word, shingle_units, spaced_words, word_tokens, words


def test_punctuation_of_every_script_separates_words():
    # Arabic comma, em dash, no-break space, smart quotes, fullwidth comma and full stop, CJK quotes.
    text = "مرحبا،عالم — “quoted”\u00a0word，ＦＵＬＬ。「引用」"
    assert words(text) == ["مرحبا", "عالم", "quoted", "word", "full", "引", "用"]


def test_nfkc_and_case_folding():
    assert words("ＡＢＣ ﬁne STRASSE Straße") == ["abc", "fine", "strasse", "strasse"]
    assert normalize_word("Ǆ") == "dž"  # NFKC splits the digraph, case folding lowers both


def test_optional_arabic_marks_and_tatweel_do_not_make_a_new_word():
    assert words("مَرْحَبًا") == words("مرحبا") == words("مرحـــبا")


def test_indic_vowel_signs_stay_inside_their_word():
    assert words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]  # the standard library's \w would cut these


def test_scripts_without_spaces_give_one_unit_per_character():
    assert words("红色箱子送到哪里？") == list("红色箱子送到哪里")
    assert words("ひらがなカタカナ") == list("ひらがなカタカナ")
    assert words("ที่นี่") == ["ที่", "นี่"]  # a Thai consonant keeps its vowel and tone marks
    assert words("mix 中文 and English") == ["mix", "中", "文", "and", "english"]


def test_offsets_point_into_the_original_text():
    text = "Ｈｅｌｌｏ, 世界! don’t"
    tokens = word_tokens(text)
    assert tokens.words == ("hello", "世", "界", "don", "t")
    assert [text[start:end] for start, end in zip(tokens.starts, tokens.ends)] == ["Ｈｅｌｌｏ", "世", "界", "don", "t"]


_ASCII_UNIT = re.compile(rb"[a-z0-9_\x80-\xff]+")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_the_shingler_reads_exactly_the_tokenizer_units(text):
    # The hashed shingler splits spaced_words() output on bytes; it must find the same units.
    units = [unit.decode("utf-8") for unit in _ASCII_UNIT.findall(spaced_words(text).encode("utf-8"))]
    assert units == shingle_units(text)
    assert words(text) == list(word_tokens(text).words)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_unit_counts_match_the_shingle_unigrams(text):
    counts = shingle_counts([text])
    units = shingle_units(text)
    bigrams = max(len(units) - 1, 0)
    assert counts.sum() == len(units) + bigrams


def test_similarity_compares_character_bigrams_in_scripts_without_spaces():
    assert shingle_units("红色箱子，送到 OK 哪里？中") == ["红色", "色箱", "箱子", "送到", "ok", "哪里", "中"]
    assert shingle_units("don’t stop") == words("don’t stop") == ["don", "t", "stop"]
