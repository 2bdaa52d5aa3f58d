"""Shared machinery of the planted-family generators.

Everything here is driven by a ``random.Random`` made from the caller's seed, so the output
depends on the seed alone (no ``hash()``, no set iteration order, no clock).
"""
from __future__ import annotations

import random
import re
from typing import Callable, NamedTuple, Sequence

SHAPES = ("prompt_completion", "messages")


class PlantedSet(NamedTuple):
    """What every generator returns; unpacks as ``rows, planted = generate(...)``."""

    rows: list[dict]
    planted: list[str]

    @property
    def sizes(self) -> dict[str, int]:
        """Planted family label -> number of rows (in order of first appearance)."""
        out: dict[str, int] = {}
        for label in self.planted:
            out[label] = out.get(label, 0) + 1
        return out


def family_sizes(rng: random.Random, n_families: int) -> list[int]:
    """Uneven family sizes: about 40 % of families have 1-2 rows, 42 % 2-4, 14 % 5-8 and
    4 % 20-26. With 3 or more families at least one family has a single row and at least one
    has 20 or more (so every set, even a small one, is uneven)."""
    if n_families < 1:
        raise ValueError(f"n_families must be at least 1, got {n_families}")
    sizes = []
    for _ in range(n_families):
        u = rng.random()
        if u < 0.40:
            sizes.append(rng.randint(1, 2))
        elif u < 0.82:
            sizes.append(rng.randint(2, 4))
        elif u < 0.96:
            sizes.append(rng.randint(5, 8))
        else:
            sizes.append(rng.randint(20, 26))
    if n_families >= 3:
        if max(sizes) < 20:
            sizes[rng.randrange(n_families)] = rng.randint(20, 24)
        if min(sizes) > 1:
            candidates = [i for i, s in enumerate(sizes) if s < 20]
            sizes[rng.choice(candidates)] = 1
    return sizes


def planned_sizes(n_families: int, seed: int, salt: int) -> list[int]:
    """The family sizes ``build`` draws for this seed: entry f is the size of family f (the
    label whose number is f)."""
    return family_sizes(random.Random(seed * 1_000_003 + salt), n_families)


def pick(rng: random.Random, pool: Sequence, k: int) -> list:
    """k distinct items of pool, in random order."""
    return rng.sample(list(pool), k)


# --- synonym swaps ---------------------------------------------------------------------------

class Thesaurus:
    """Groups of interchangeable phrases. ``swap`` replaces each occurrence of a member, with
    probability p, by another member of its group. ``word_bounded`` puts \\b around members
    (for scripts written with spaces); Chinese uses plain substring matches."""

    def __init__(self, groups: Sequence[Sequence[str]], word_bounded: bool = True):
        self.lookup: dict[str, list[str]] = {}
        for group in groups:
            for member in group:
                if member in self.lookup:
                    raise ValueError(f"{member!r} is in two synonym groups")
                self.lookup[member] = [m for m in group if m != member]
        members = sorted(self.lookup, key=lambda m: (-len(m), m))
        alternation = "|".join(re.escape(m) for m in members)
        pattern = rf"(?<!\w)(?:{alternation})(?!\w)" if word_bounded else f"(?:{alternation})"
        self.regex = re.compile(pattern, flags=re.IGNORECASE if word_bounded else 0)
        self.word_bounded = word_bounded

    def swap(self, rng: random.Random, text: str, p: float = 0.6) -> str:
        def repl(m: re.Match) -> str:
            found = m.group(0)
            key = found if found in self.lookup else found.lower()
            if key not in self.lookup or rng.random() >= p:
                return found
            new = rng.choice(self.lookup[key])
            if found[:1].isupper() and new[:1].islower():
                new = new[:1].upper() + new[1:]
            return new

        return self.regex.sub(repl, text)


# --- character typos ---------------------------------------------------------------------------

def typo_word(rng: random.Random, word: str) -> str:
    """One edit: swap two adjacent characters, drop one, or double one."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def add_typos(rng: random.Random, text: str, n: int, word_regex: str) -> str:
    """Apply ``typo_word`` to n distinct words matched by word_regex (chosen at random)."""
    spans = [m.span() for m in re.finditer(word_regex, text)]
    if not spans:
        return text
    chosen = sorted(rng.sample(spans, min(n, len(spans))), reverse=True)
    for a, b in chosen:
        text = text[:a] + typo_word(rng, text[a:b]) + text[b:]
    return text


def reorder(rng: random.Random, items: list, strength: str | None = None) -> list:
    """Either swap one adjacent pair or shuffle everything (never the identity when len >= 2)."""
    items = list(items)
    if len(items) < 2:
        return items
    strength = strength or rng.choice(("adjacent", "shuffle"))
    if strength == "adjacent" or len(items) == 2:
        i = rng.randrange(len(items) - 1)
        items[i], items[i + 1] = items[i + 1], items[i]
        return items
    original = list(items)
    for _ in range(10):
        rng.shuffle(items)
        if items != original:
            break
    return items


def choose_ops(rng: random.Random, ops: Sequence[str], min_ops: int = 1, max_ops: int = 3) -> list[str]:
    """A random non-empty subset of the operation names, in the order given."""
    k = rng.randint(min_ops, min(max_ops, len(ops)))
    chosen = set(rng.sample(list(ops), k))
    return [op for op in ops if op in chosen]


def make_row(shape: str, row_id: str, prompt: str, completion: str, label: str,
             declare_family: bool, ops: list[str], system: str | None = None) -> dict:
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    row: dict = {"id": row_id}
    if shape == "prompt_completion":
        row["prompt"] = prompt
        row["completion"] = completion
    else:
        messages = []
        if system:
            messages.append({"role": "system", "content": system})
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        row["messages"] = messages
    if declare_family:
        row["family"] = label
    row["planted"] = label
    row["augmentation"] = ops
    return row


def build(n_families: int, seed: int, prefix: str, shape: str, declare_family: bool,
          make_original: Callable[[random.Random, int], object],
          make_variant: Callable[[random.Random, object], tuple[str, str, list[str]]],
          render: Callable[[object], tuple[str, str]],
          salt: int) -> PlantedSet:
    """Shared driver: sizes, one original per family, then its variants.

    The first row of each family is the original as rendered (its ``augmentation`` is []);
    the others are variants made from the original (never from another variant). Rows of all
    families are then interleaved by a seeded shuffle, so that families are not contiguous in
    the file, and numbered ``<prefix>-00000``, ... in file order.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    rng = random.Random(seed * 1_000_003 + salt)
    sizes = family_sizes(rng, n_families)
    width = len(str(n_families - 1))
    rows: list[dict] = []
    for f, size in enumerate(sizes):
        label = f"{prefix}{f:0{width}d}"
        original = make_original(rng, f)
        prompt, completion = render(original)
        rows.append(make_row(shape, f"{label}-0", prompt, completion, label, declare_family, []))
        for k in range(1, size):
            prompt, completion, ops = make_variant(rng, original)
            rows.append(make_row(shape, f"{label}-{k}", prompt, completion, label, declare_family, ops))
    rng.shuffle(rows)
    # Ids are given after the shuffle, so that they carry no trace of the family.
    rows = [{"id": f"{prefix}-{i:05d}", **{k: v for k, v in r.items() if k != "id"}}
            for i, r in enumerate(rows)]
    return PlantedSet(rows, [r["planted"] for r in rows])
