"""Generate the Tenacious data set: originals and the augmentation families grown around them.

Each original is a prospect context with its rendered prompt and gold email. Its family adds
variants that keep every fact of the original (company, segment, counts, bench, signals) and
change only the surface: the instruction's wording, the brief's layout (field order, labels,
confidence as a number or a label), the email's wording and paragraph order, and slots that carry
no fact about the prospect (the sender, the call's length and day).

Family sizes follow either a fixed count per original (`variants`) or a Zipf-like law
(`concentration` C): the family of rank r gets rows in proportion to r**-C on top of a minimum
size, so C=0 gives equal families and larger C puts more rows into a few large families.
"""
from __future__ import annotations

import dataclasses
import random
from typing import Any

from memgap.domains.tenacious import catalog
from memgap.domains.tenacious.brief import FIELD_ORDERS, INSTRUCTIONS, LABELS, Layout, draw_context, render_prompt
from memgap.domains.tenacious.gold import ASKS, CALL_MINUTES, GREETINGS, OFFERS, ORDERS, QUESTIONS, SIGN_OFFS, WEEKDAYS, Phrasing, compose_email
from memgap.errors import MemgapError

SYSTEM_PROMPT = (
    "You write outreach emails for Tenacious, which places engineers with client teams. Use only facts "
    "from the brief, ask about low-confidence signals, offer only what the bench holds. One ask."
)

DEFAULT_SEED = 20250602
DEFAULT_ORIGINALS = 40
DEFAULT_ROWS = 300
DEFAULT_CONCENTRATION = 1.5
DEFAULT_MIN_FAMILY_SIZE = 2
MAX_FAMILY_SIZE = 400  # well under the number of distinct surface variants of one original
_MAX_DRAWS_PER_ROW = 200


def family_sizes(
    originals: int,
    *,
    variants: int | None = None,
    concentration: float | None = None,
    rows: int | None = None,
    min_family_size: int | None = None,
    seed: int = 0,
) -> list[int]:
    """Rows per family, in original order: fixed (`variants`) or Zipf-like (`concentration`)."""
    if originals < 1:
        raise MemgapError(f"--originals must be at least 1, got {originals}")
    if variants is not None and concentration is not None:
        raise MemgapError("give either --variants or --concentration, not both")
    if variants is not None:
        if not 1 <= variants <= MAX_FAMILY_SIZE:
            raise MemgapError(f"--variants must lie in 1..{MAX_FAMILY_SIZE}, got {variants}")
        return [variants] * originals
    concentration = DEFAULT_CONCENTRATION if concentration is None else concentration
    if not 0 <= concentration <= 10:
        raise MemgapError(f"--concentration must lie in 0..10, got {concentration}")
    rows = round(originals * DEFAULT_ROWS / DEFAULT_ORIGINALS) if rows is None else rows
    minimum = (DEFAULT_MIN_FAMILY_SIZE if rows >= DEFAULT_MIN_FAMILY_SIZE * originals else 1) if min_family_size is None else min_family_size
    if minimum < 1 or rows < minimum * originals:
        raise MemgapError(f"--rows {rows} is too few for {originals} families of at least {minimum} rows")
    if rows > MAX_FAMILY_SIZE * originals:
        raise MemgapError(f"--rows {rows} is too many for {originals} originals (at most {MAX_FAMILY_SIZE} each)")
    weights = [(rank + 1) ** -concentration for rank in range(originals)]
    by_rank = _largest_remainder(weights, rows - minimum * originals)
    by_rank = _cap(by_rank, MAX_FAMILY_SIZE - minimum)
    ranks = list(range(originals))
    random.Random(f"sizes:{seed}").shuffle(ranks)  # which original gets which rank
    return [minimum + by_rank[ranks[index]] for index in range(originals)]


def _largest_remainder(weights: list[float], total: int) -> list[int]:
    """Split `total` into integers proportional to `weights` (Hamilton's method, ties to lower rank)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [int(share) for share in shares]
    leftovers = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for index in leftovers[: total - sum(counts)]:
        counts[index] += 1
    return counts


def _cap(counts: list[int], cap: int) -> list[int]:
    """Move rows above `cap` to the next families in rank order."""
    counts = list(counts)
    overflow = 0
    for index, count in enumerate(counts):
        count += overflow
        counts[index], overflow = min(count, cap), max(0, count - cap)
    return counts


def generate_rows(
    originals: int = DEFAULT_ORIGINALS,
    variants: int | None = None,
    concentration: float | None = None,
    seed: int = DEFAULT_SEED,
    *,
    rows: int | None = None,
    min_family_size: int | None = None,
) -> list[dict[str, Any]]:
    """Rows (`id`, `family`, `messages`, `context`, `augmentation`) for `originals` families.

    Deterministic: the same arguments give the same rows, in the same order.
    """
    sizes = family_sizes(originals, variants=variants, concentration=concentration, rows=rows, min_family_size=min_family_size, seed=seed)
    rng = random.Random(f"contexts:{seed}")
    used_names: set[str] = set()
    output = []
    for index, size in enumerate(sizes):
        context = draw_context(rng, used_names)
        family = f"tn{index:03d}-{context['company']['name'].lower().replace(' ', '-')}"
        output.extend(_family_rows(context, family, size, random.Random(f"family:{seed}:{index}")))
    return output


def _family_rows(context: dict[str, Any], family: str, size: int, rng: random.Random) -> list[dict[str, Any]]:
    base_layout = Layout(order=rng.randrange(len(FIELD_ORDERS)), labels=rng.randrange(len(LABELS)), instruction=rng.randrange(4))
    base_phrasing = _random_phrasing(rng)
    rows, seen = [], set()
    draws = 0
    while len(rows) < size:
        draws += 1
        if draws > _MAX_DRAWS_PER_ROW * size:
            raise RuntimeError(f"could not draw {size} distinct variants for family {family}")
        if rows:
            variant_context, layout, phrasing, changes = _perturb(context, base_layout, base_phrasing, rng)
        else:
            variant_context, layout, phrasing, changes = context, base_layout, base_phrasing, []
        user = render_prompt(variant_context, layout)
        email = compose_email(variant_context, phrasing)
        if (user, email) in seen:
            continue
        seen.add((user, email))
        rows.append({
            "id": f"{family.split('-')[0]}-v{len(rows):03d}",
            "family": family,
            "augmentation": changes,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user},
                {"role": "assistant", "content": email},
            ],
            "context": variant_context,
        })
    return rows


def _random_phrasing(rng: random.Random) -> Phrasing:
    return Phrasing(
        subject=rng.randrange(3), greeting=rng.randrange(len(GREETINGS)), opener=rng.randrange(2), role_line=rng.randrange(2),
        pitch=rng.randrange(2), offer=rng.randrange(len(OFFERS)), missing=rng.randrange(2), question=rng.randrange(len(QUESTIONS)),
        high_signal=rng.randrange(-1, 2), ask=rng.randrange(len(ASKS)), sign_off=rng.randrange(len(SIGN_OFFS)),
        order=rng.randrange(len(ORDERS)), minutes=rng.randrange(len(CALL_MINUTES)), day=rng.randrange(len(WEEKDAYS)),
    )


def _perturb(context, layout: Layout, phrasing: Phrasing, rng: random.Random):
    """One augmented variant: at least one surface change, never a change of the family's facts."""
    kinds = [kind for kind in ("instruction", "brief", "synonyms", "sentence_order", "slots") if rng.random() < 0.45]
    kinds = kinds or [rng.choice(("instruction", "brief", "synonyms", "sentence_order", "slots"))]
    if "instruction" in kinds:
        count = len(INSTRUCTIONS[context["instruction"]["kind"]])
        layout = dataclasses.replace(layout, instruction=(layout.instruction + rng.randrange(1, count)) % count)
    if "brief" in kinds:
        layout = dataclasses.replace(
            layout, order=rng.randrange(len(FIELD_ORDERS)), labels=rng.randrange(len(LABELS)),
            confidence_as_label=rng.random() < 0.5, roles_as_counts_first=rng.random() < 0.5,
        )
    if "synonyms" in kinds:
        fresh = _random_phrasing(rng)
        keep = {"order", "minutes", "day", "high_signal"}
        phrasing = dataclasses.replace(phrasing, **{f.name: getattr(fresh, f.name) for f in dataclasses.fields(Phrasing) if f.name not in keep})
    if "sentence_order" in kinds:
        phrasing = dataclasses.replace(phrasing, order=rng.randrange(len(ORDERS)), high_signal=rng.randrange(-1, 2))
    if "slots" in kinds:
        phrasing = dataclasses.replace(phrasing, minutes=rng.randrange(len(CALL_MINUTES)), day=rng.randrange(len(WEEKDAYS)))
        context = {**context, "sender": {"name": rng.choice(catalog.SENDERS), "firm": catalog.FIRM}}
    return context, layout, phrasing, kinds


def size_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How concentrated the rows are: families, largest family, share of rows in the largest 10%."""
    from memgap.datasets import family_size_summary

    return family_size_summary([row["family"] for row in rows])
