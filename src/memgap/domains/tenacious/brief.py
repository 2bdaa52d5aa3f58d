"""A prospect's task context (hiring brief, bench, instruction) and the user prompt rendered from it.

`draw_context` samples the structured facts of one original; `render_prompt` writes them as the
text the model reads, in one of several layouts (field order, labels, confidence format,
instruction wording), so that augmented rows can re-word the brief without changing a fact.
"""
from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from memgap.domains.tenacious import catalog
from memgap.errors import MemgapError

CONFIDENCE_LABELS = ((0.25, "very_low"), (0.5, "low"), (0.7, "medium"), (1.01, "high"))
LOW_CONFIDENCE_LABELS = ("very_low", "low")
LOW_CONFIDENCE_BELOW = 0.5

# The date every bench start is counted from, so that the data set does not depend on today.
BENCH_REFERENCE_DATE = datetime.date(2025, 6, 2)

FIELD_ORDERS = (
    ("company", "segment", "funding", "roles", "signals", "ai", "news", "contact", "bench"),
    ("company", "segment", "contact", "news", "funding", "ai", "roles", "signals", "bench"),
    ("company", "contact", "roles", "funding", "segment", "news", "signals", "ai", "bench"),
    ("company", "segment", "ai", "signals", "news", "roles", "funding", "contact", "bench"),
)
LABELS = (
    {"company": "Company", "segment": "Segment", "funding": "Funding", "roles": "Open roles", "signals": "Signals",
     "ai": "AI maturity", "news": "News", "contact": "Contact", "bench": "Bench", "task": "Task"},
    {"company": "Prospect", "segment": "ICP segment", "funding": "Last funding", "roles": "Hiring", "signals": "Evidence",
     "ai": "AI readiness", "news": "Recent news", "contact": "Write to", "bench": "Available engineers", "task": "Instruction"},
)
INSTRUCTIONS = {
    "first_touch": (
        "Write a first-touch email to {first}.",
        "Draft the first cold email to {first}, {title}.",
        "Compose an initial outreach email for {first}.",
        "First contact: write {first} a short email.",
    ),
    "follow_up": (
        "{first} has not replied to last week's email. Write a short follow-up.",
        "Write a follow-up to {first}; the first email got no answer.",
        "No reply yet from {first}. Draft a brief follow-up.",
    ),
    "objection": (
        "{first} replied: \"{objection}\" Write a response.",
        "Reply to {first}, who wrote: \"{objection}\"",
        "Answer this objection from {first}: \"{objection}\"",
    ),
}


@dataclass(frozen=True)
class Layout:
    """How a context is written as a prompt; changing it never changes a fact."""

    order: int = 0
    labels: int = 0
    confidence_as_label: bool = False
    roles_as_counts_first: bool = False
    instruction: int = 0


def confidence_label(confidence: Any) -> str:
    if isinstance(confidence, str):
        return confidence
    for upper, label in CONFIDENCE_LABELS:
        if float(confidence) < upper:
            return label
    return "high"


def is_low_confidence(confidence: Any) -> bool:
    """Low-confidence signals are to be asked about, not asserted."""
    if isinstance(confidence, str):
        return confidence.strip().lower().replace(" ", "_") in LOW_CONFIDENCE_LABELS
    try:
        return float(confidence) < LOW_CONFIDENCE_BELOW
    except (TypeError, ValueError):
        return False


def draw_context(rng: random.Random, used_names: set[str]) -> dict[str, Any]:
    """Sample one prospect: company, segment, funding, roles, signals, news, contact, bench, task."""
    segment = rng.choice(catalog.SEGMENTS)
    name = _draw_name(rng, used_names)
    headcount = _draw_headcount(rng, segment)
    roles = _draw_roles(rng, segment)
    signals = _draw_signals(rng)
    news = rng.choice(catalog.NEWS[segment]).format(
        city=rng.choice(catalog.CITIES), month=rng.choice(catalog.MONTHS[:5]), pct=rng.choice((6, 8, 10, 12, 15))
    )
    kind = rng.choices(("first_touch", "follow_up", "objection"), weights=(2, 1, 1))[0]
    objections = [o for o in catalog.OBJECTIONS if not (segment == "recently_funded" and o["key"] == "budget")]
    objection = rng.choice(objections) if kind == "objection" else None
    return {
        "company": {"name": name, "industry": rng.choice(catalog.INDUSTRIES), "headcount": headcount},
        "segment": segment,
        "funding": _draw_funding(rng, segment),
        "open_roles": roles,
        "signals": signals,
        "ai_maturity": {"score": _draw_ai_maturity(rng, segment), "out_of": 3},
        "news": news,
        "contact": {"name": f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}", "title": rng.choice(catalog.TITLES)},
        "bench": _draw_bench(rng, roles),
        "instruction": {"kind": kind, "objection": objection["text"] if objection else None},
        "sender": {"name": rng.choice(catalog.SENDERS), "firm": catalog.FIRM},
    }


def _draw_name(rng: random.Random, used: set[str]) -> str:
    """A company name not used yet; while possible, also a first word not used yet, so that another
    family's company stays recognisable by its first word alone."""
    heads_used = {name.split()[0] for name in used}
    heads = [head for head in catalog.NAME_HEADS if head not in heads_used]
    if not heads:
        heads = list(catalog.NAME_HEADS)
    for _ in range(1000):
        name = f"{rng.choice(heads)} {rng.choice(catalog.NAME_TAILS)}"
        if name not in used:
            used.add(name)
            return name
    raise MemgapError(f"ran out of distinct company names after {len(used)} originals")


def _draw_headcount(rng: random.Random, segment: str) -> int:
    low, high = {"recently_funded": (18, 240), "restructuring": (150, 2400), "mature_enterprise": (2000, 30000), "ai_transformation": (120, 9000)}[segment]
    value = rng.randint(low, high)
    return value if value < 1000 else round(value, -2)


def _draw_funding(rng: random.Random, segment: str) -> dict[str, Any]:
    if segment == "recently_funded":
        stage = rng.choice(catalog.FUNDING_ROUNDS)
        amount = {"Seed": (3, 8), "Series A": (8, 25), "Series B": (20, 60), "Series C": (40, 120)}[stage]
        return {"event": stage, "amount_musd": rng.randint(*amount), "months_ago": rng.randint(1, 5)}
    if segment == "restructuring":
        return {"event": "none", "years_since_last": rng.randint(2, 4)}
    if segment == "mature_enterprise":
        return {"event": rng.choice(("public company", "private-equity owned"))}
    return {"event": rng.choice(("Series C", "Series D")), "amount_musd": rng.randint(50, 200), "months_ago": rng.randint(4, 14)}


def _draw_roles(rng: random.Random, segment: str) -> list[dict[str, Any]]:
    pool = list(catalog.AI_STACKS) + ["DevOps"] if segment == "ai_transformation" else list(catalog.GENERAL_STACKS)
    high = {"recently_funded": 6, "restructuring": 3, "mature_enterprise": 8, "ai_transformation": 5}[segment]
    stacks = rng.sample(pool, rng.randint(1, 3))
    return [{"stack": stack, "count": rng.randint(1, high)} for stack in stacks]


def _draw_signals(rng: random.Random) -> list[dict[str, Any]]:
    chosen = rng.sample(catalog.SIGNALS, 2)
    high = round(rng.uniform(0.7, 0.95), 2)
    signals = [{"text": chosen[0]["topic"], "confidence": high, "cues": list(chosen[0]["cues"])}]
    if rng.random() < 0.8:
        low = round(rng.uniform(0.15, 0.45), 2)
        signals.append({"text": chosen[1]["topic"], "confidence": low, "cues": list(chosen[1]["cues"])})
    rng.shuffle(signals)
    return signals


def _draw_ai_maturity(rng: random.Random, segment: str) -> int:
    return rng.randint(2, 3) if segment == "ai_transformation" else rng.randint(0, 2)


def _draw_bench(rng: random.Random, roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One to three bench entries; at least one matches an open role, so there is something to offer."""
    role_stacks = [role["stack"] for role in roles]
    stacks = [rng.choice(role_stacks)]
    for stack in rng.sample(role_stacks + list(catalog.GENERAL_STACKS), rng.randint(0, 2)):
        if stack not in stacks:
            stacks.append(stack)
    bench = []
    for stack in stacks:
        start = "now" if rng.random() < 0.4 else (BENCH_REFERENCE_DATE + datetime.timedelta(days=rng.randint(3, 40))).isoformat()
        bench.append({"stack": stack, "seniority": rng.choice(catalog.SENIORITIES), "count": rng.randint(1, 3), "start": start})
    return bench


def format_start(start: str, *, short: bool = False) -> str:
    """'now', or an ISO date written as 'July 14' ('Jul 14' when short)."""
    if start == "now":
        return "now"
    date = datetime.date.fromisoformat(start)
    return f"{date:%b} {date.day}" if short else f"{date:%B} {date.day}"


def render_prompt(context: dict[str, Any], layout: Layout) -> str:
    """The user prompt: the brief, the bench and the instruction, written in the given layout."""
    labels = LABELS[layout.labels]
    lines = []
    for field in FIELD_ORDERS[layout.order]:
        text = _render_field(field, context, layout)
        if text:
            lines.append(f"{labels[field]}: {text}")
    lines.append(f"{labels['task']}: {render_instruction(context, layout.instruction)}")
    return "\n".join(lines)


def render_instruction(context: dict[str, Any], template: int) -> str:
    instruction = context["instruction"]
    templates = INSTRUCTIONS[instruction["kind"]]
    first = context["contact"]["name"].split()[0]
    return templates[template % len(templates)].format(first=first, title=context["contact"]["title"], objection=instruction.get("objection") or "")


def _render_field(field: str, context: dict[str, Any], layout: Layout) -> str:
    company = context["company"]
    if field == "company":
        return f"{company['name']} ({company['industry']}, {company['headcount']} staff)"
    if field == "segment":
        return catalog.SEGMENT_LABELS[context["segment"]]
    if field == "funding":
        return _render_funding(context["funding"])
    if field == "roles":
        if layout.roles_as_counts_first:
            return ", ".join(f"{role['count']} {role['stack']}" for role in context["open_roles"])
        return ", ".join(f"{role['stack']} x{role['count']}" for role in context["open_roles"])
    if field == "signals":
        return "; ".join(
            f"{signal['text']} (confidence {confidence_label(signal['confidence']) if layout.confidence_as_label else signal['confidence']})"
            for signal in context["signals"]
        )
    if field == "ai":
        return f"{context['ai_maturity']['score']}/{context['ai_maturity']['out_of']}"
    if field == "news":
        return context["news"][0].upper() + context["news"][1:]
    if field == "contact":
        return f"{context['contact']['name']}, {context['contact']['title']}"
    if field == "bench":
        return "; ".join(
            f"{entry['count']} {entry['seniority']} {entry['stack']}, {_start_phrase(entry['start'])}" for entry in context["bench"]
        )
    raise ValueError(f"unknown brief field {field!r}")


def _render_funding(funding: dict[str, Any]) -> str:
    event = funding["event"]
    if event == "none":
        return f"none in {funding['years_since_last']} years"
    if "amount_musd" in funding:
        months = funding["months_ago"]
        return f"{event}, ${funding['amount_musd']}M, {months} month{'s' if months != 1 else ''} ago"
    return event


def _start_phrase(start: str) -> str:
    return "now" if start == "now" else f"from {format_start(start, short=True)}"
