"""Sanity checks of the planted-family generators in tests/planted/ (not of memgap)."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import pytest

from planted import GENERATORS, SMALL, generate, planned_sizes
from planted import arabic, chinese, it_support, web_english

KINDS = sorted(GENERATORS)
SHARED = {"it_support": it_support.FOOTER, "chinese": chinese.BOILERPLATE, "arabic": arabic.BOILERPLATE,
          "web_english": web_english.FOOTER}


def _text(row: dict) -> str:
    if "messages" in row:
        return "\n".join(m["content"] for m in row["messages"])
    return row["prompt"] + "\n" + row["completion"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bytes_other_seed_other_rows(kind):
    a = generate(kind, SMALL, seed=3)
    b = generate(kind, SMALL, seed=3)
    c = generate(kind, SMALL, seed=4)
    dump = lambda s: json.dumps(s.rows, ensure_ascii=False, sort_keys=True)  # noqa: E731
    assert dump(a) == dump(b)
    assert a.planted == b.planted
    assert dump(a) != dump(c)


@pytest.mark.parametrize("kind", KINDS)
def test_every_family_has_its_planned_rows(kind):
    s = generate(kind, SMALL, seed=5)
    plan = planned_sizes(kind, SMALL, seed=5)
    assert Counter(s.planted) == Counter(plan)
    assert len(plan) == SMALL
    assert [r["planted"] for r in s.rows] == s.planted
    assert [r["family"] for r in s.rows] == s.planted
    assert len({r["id"] for r in s.rows}) == len(s.rows)
    sizes = sorted(plan.values())
    assert sizes[0] == 1 and sizes[-1] >= 20  # uneven
    # exactly one original (no augmentation) per family
    originals = Counter(r["planted"] for r in s.rows if r["augmentation"] == [])
    assert all(originals[f] == 1 for f in plan)


@pytest.mark.parametrize("kind", KINDS)
def test_families_differ_and_siblings_share_the_boilerplate(kind):
    s = generate(kind, SMALL, seed=6)
    by_text: dict[str, set] = defaultdict(set)
    for r in s.rows:
        by_text[_text(r)].add(r["planted"])
        assert _text(r).endswith(SHARED[kind])
    assert all(len(families) == 1 for families in by_text.values()), "one text in two families"
    originals = {r["planted"]: _text(r) for r in s.rows if r["augmentation"] == []}
    assert len(set(originals.values())) == SMALL
    # variants are not all copies of their original
    changed = [r for r in s.rows if r["augmentation"] and _text(r) != originals[r["planted"]]]
    assert len(changed) >= 0.7 * sum(1 for r in s.rows if r["augmentation"])


@pytest.mark.parametrize("kind", KINDS)
def test_messages_shape_and_undeclared_family(kind):
    s = generate(kind, 6, seed=1, shape="messages", declare_family=False)
    for r in s.rows:
        assert [m["role"] for m in r["messages"]] == ["user", "assistant"]
        assert "family" not in r and "prompt" not in r
    with pytest.raises(ValueError):
        generate(kind, 6, seed=1, shape="chat")


def test_scripts_and_punctuation():
    zh = " ".join(_text(r) for r in generate("chinese", SMALL, seed=2).rows)
    assert all(" " not in _text(r) for r in generate("chinese", SMALL, seed=2).rows)
    for ch in "，。？“”、":
        assert ch in zh, ch
    ar = " ".join(_text(r) for r in generate("arabic", SMALL, seed=2).rows)
    for ch in ("\u060c", "\u061f", "\u0640"):
        assert ch in ar, hex(ord(ch))
    assert re.search("[\u064b-\u0652]", ar)
    web = " ".join(_text(r) for r in generate("web_english", SMALL, seed=2).rows)
    for ch in ("\u2014", "\u2013", "\u00a0", "\u2019", "\u201c", "\u2026", "\u2022", "\u200b", "https://"):
        assert ch in web, repr(ch)
    assert re.search("[\U0001F300-\U0001FAFF]", web)


def test_it_support_shared_ids_option():
    easy = generate("it_support", SMALL, seed=8, declare_family=False)
    hard = it_support.generate(SMALL, seed=8, declare_family=False, unique_ids=False)
    tags = lambda s: {t for r in s.rows for t in re.findall(r"\b(?:LT|NB|WS)-\d{5}\b", r["prompt"])}  # noqa: E731
    assert len(tags(easy)) > 10
    assert tags(hard) <= set(it_support.SHARED_IDS["asset"])
    assert Counter(hard.planted) == Counter(easy.planted)
