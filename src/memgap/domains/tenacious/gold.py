"""The reference ("gold") email for a context: every claim from the brief, offers bounded by the bench.

An email is assembled from slots (subject, greeting, hook, pitch, offer, question, ask, sign-off);
each slot has several wordings, and `Phrasing` picks one of each plus an order of the body
paragraphs. The rules the scorer checks hold for every wording: low-confidence signals become
questions, the offer names only bench stacks and counts, the pitch fits the segment, one ask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memgap.domains.tenacious.brief import format_start, is_low_confidence

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
CALL_MINUTES = (15, 20, 30)

SUBJECTS = {
    "first_touch": ("{offer_stack} engineers for {company}", "{company}'s {role_stack} roles", "{offer_stack} capacity for {company}"),
    "follow_up": ("Following up: {offer_stack} engineers for {company}", "Re: {offer_stack} engineers for {company}"),
    "objection": ("Re: {objection_topic}", "Re: your note on {objection_topic}"),
}
OBJECTION_TOPICS = {"agency": "your agency", "budget": "this quarter's budget", "full_time": "full-time hiring", "timing": "timing"}
GREETINGS = ("Hi {first},", "Hello {first},", "{first},")

OPENERS = {
    "recently_funded": ("Congratulations on the {round}.", "Congratulations on closing the {round}."),
    "news": ("I saw that {company} {news}.", "I read that {company} {news}."),
}
ROLE_LINES = {
    "recently_funded": ("With {roles} open, you are hiring at a pace few recruiting teams can match.", "You have {roles} open, which is a lot to fill while you grow."),
    "restructuring": ("You still have {roles} open.", "Even so, {company} still lists {roles}."),
    "mature_enterprise": ("You also list {roles}.", "Your careers page lists {roles}."),
    "ai_transformation": ("With {roles} open, the AI work looks like it is moving toward production.", "You list {roles}, which suggests the AI plans are getting staffed."),
}
FOLLOW_UPS = (
    "I wrote last week about engineers for the {role_stack} roles at {company}. In case it got buried, here is the short version.",
    "A short follow-up on my note about hiring for the {role_stack} roles at {company}. I know inboxes are full, so I will keep it brief.",
)
OBJECTION_OPENERS = ("Thanks for the reply. {ack}.", "Thank you for getting back to me. {ack}.")
OBJECTION_ACKS = {
    "agency": "Understood that you already work with an agency",
    "budget": "Understood that budget is frozen this quarter",
    "full_time": "Fair point that you prefer full-time hires",
    "timing": "Understood that this is not a priority right now",
}
OBJECTION_ANSWERS = {
    "agency": ("If they cannot cover every {role_stack} role at {company}, we can fill the gap alongside them.", "We can sit alongside them on any {role_stack} roles at {company} they cannot cover."),
    "budget": ("When budget opens up at {company}, a contract engineer is a lighter commitment than a permanent hire.", "Once the budget at {company} moves, a contract engineer keeps fixed costs lower than a permanent hire."),
    "full_time": ("Our engineers can cover the open roles at {company} while your permanent hiring runs, then hand over.", "A contract engineer can carry the work at {company} until your full-time hire starts."),
    "timing": ("I will keep this short so {company} can come back to it later.", "Here is the short version for {company}, for whenever it becomes relevant."),
}
PITCHES = {
    "recently_funded": ("We place engineers with product teams so new funding turns into shipped work faster.", "We help funded teams scale engineering without waiting on a long hiring cycle."),
    "restructuring": ("We place engineers on flexible contracts, so key projects keep moving without adding permanent headcount.", "Contract engineers can keep priority work moving while fixed costs stay flat."),
    "mature_enterprise": ("Our engineers work inside existing processes, from code review to security review, and document their work for handover.", "We place engineers who are used to enterprise process: change control, security review and a careful handover."),
    "ai_transformation": ("We place engineers who have taken machine learning features from prototype to production.", "Our engineers have shipped machine learning systems to production, not just prototypes."),
}
OFFERS = ("Right now our bench has {items}.", "We have {items} on our bench.", "Our bench holds {items}.")
VETTING = ("Everyone we place has passed a technical interview with one of our senior engineers.", "Each engineer we place has been interviewed by one of our senior engineers.")
MISSING = ("We have no {stacks} engineers free at the moment, so I will not offer any.", "I should say that we have no {stacks} engineers available right now.")
QUESTIONS = ("Is {topic} planned for this year?", "I might be misreading the job posts: is {topic} on your roadmap?", "Are you considering {topic}?")
HIGH_SIGNALS = ("Your job posts point to {topic}.", "The job posts also point to {topic}.")
ASKS = (
    "Would a {minutes}-minute call next {day} be useful?",
    "Are you open to a {minutes}-minute call this week?",
    "Could we find {minutes} minutes next {day} to talk it through?",
)
SIGN_OFFS = ("Best,", "Thanks,", "Regards,", "Best regards,")
# Body paragraph orders; the ask always closes the email.
ORDERS = (
    ("hook", "pitch", "offer", "question", "ask"),
    ("hook", "offer", "pitch", "question", "ask"),
    ("hook", "question", "pitch", "offer", "ask"),
)


@dataclass(frozen=True)
class Phrasing:
    """Which wording each slot uses, the paragraph order, and the call's length and day."""

    subject: int = 0
    greeting: int = 0
    opener: int = 0
    role_line: int = 0
    pitch: int = 0
    offer: int = 0
    missing: int = 0
    question: int = 0
    high_signal: int = -1  # -1 leaves the high-confidence signal out
    ask: int = 0
    sign_off: int = 0
    order: int = 0
    minutes: int = 0
    day: int = 0


def count_word(count: int) -> str:
    return NUMBER_WORDS[count] if 0 <= count < len(NUMBER_WORDS) else str(count)


def _plural(count: int, noun: str) -> str:
    return f"{count_word(count)} {noun}{'' if count == 1 else 's'}"


def _pick(options: tuple[str, ...], index: int) -> str:
    return options[index % len(options)]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def offered_bench(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The bench entries worth offering: those on a stack the prospect is hiring for."""
    wanted = {role["stack"] for role in context["open_roles"]}
    return [entry for entry in context["bench"] if entry["stack"] in wanted]


def compose_email(context: dict[str, Any], phrasing: Phrasing) -> str:
    """Write the gold email for a context with the given wording choices."""
    company = context["company"]["name"]
    segment = context["segment"]
    kind = context["instruction"]["kind"]
    first = context["contact"]["name"].split()[0]
    roles = context["open_roles"]
    offered = offered_bench(context)
    values = {
        "company": company,
        "first": first,
        "role_stack": roles[0]["stack"],
        "offer_stack": offered[0]["stack"],
        "roles": _join([_plural(role["count"], f"{role['stack']} role") for role in roles]),
        "news": context["news"],
        "round": context["funding"].get("event", ""),
        "minutes": CALL_MINUTES[phrasing.minutes % len(CALL_MINUTES)],
        "day": WEEKDAYS[phrasing.day % len(WEEKDAYS)],
    }
    objection_key = _objection_key(context)
    if objection_key:
        values["objection_topic"] = OBJECTION_TOPICS[objection_key]
        values["ack"] = OBJECTION_ACKS[objection_key]

    paragraphs = {
        "hook": _hook(context, phrasing, kind, segment, objection_key, values),
        "pitch": _pick(PITCHES[segment], phrasing.pitch),
        "offer": _offer(context, offered, phrasing),
        "question": " ".join(
            _pick(QUESTIONS, phrasing.question).format(topic=signal["text"])
            for signal in context["signals"]
            if is_low_confidence(signal["confidence"])
        ),
        "ask": _pick(ASKS, phrasing.ask).format(**values),
    }
    order = ORDERS[phrasing.order % len(ORDERS)]
    body = [_pick(GREETINGS, phrasing.greeting).format(**values)]
    body += [paragraphs[name] for name in order if paragraphs[name]]
    sign_off = f"{_pick(SIGN_OFFS, phrasing.sign_off)}\n{context['sender']['name']}\n{context['sender']['firm']}"
    subject = _pick(SUBJECTS[kind], phrasing.subject).format(**values)
    return f"Subject: {subject}\n\n" + "\n\n".join(body) + "\n\n" + sign_off


def _objection_key(context: dict[str, Any]) -> str | None:
    text = context["instruction"].get("objection")
    if not text:
        return None
    from memgap.domains.tenacious.catalog import OBJECTIONS

    return next(objection["key"] for objection in OBJECTIONS if objection["text"] == text)


def _hook(context, phrasing: Phrasing, kind: str, segment: str, objection_key: str | None, values: dict) -> str:
    if kind == "objection":
        sentences = [
            _pick(OBJECTION_OPENERS, phrasing.opener).format(**values),
            _pick(OBJECTION_ANSWERS[objection_key], phrasing.role_line).format(**values),
        ]
    elif kind == "follow_up":
        sentences = [_pick(FOLLOW_UPS, phrasing.opener).format(**values)]
    else:
        opener = OPENERS["recently_funded"] if segment == "recently_funded" else OPENERS["news"]
        sentences = [_pick(opener, phrasing.opener).format(**values), _pick(ROLE_LINES[segment], phrasing.role_line).format(**values)]
    if phrasing.high_signal >= 0:
        high = [s for s in context["signals"] if not is_low_confidence(s["confidence"])]
        if high:
            sentences.append(_pick(HIGH_SIGNALS, phrasing.high_signal).format(topic=high[0]["text"]))
    return " ".join(sentences)


def _offer(context: dict[str, Any], offered: list[dict[str, Any]], phrasing: Phrasing) -> str:
    items = []
    for entry in offered:
        start = "available now" if entry["start"] == "now" else f"from {format_start(entry['start'])}"
        items.append(f"{_plural(entry['count'], entry['seniority'] + ' ' + entry['stack'] + ' engineer')} ({start})")
    text = _pick(OFFERS, phrasing.offer).format(items=_join(items)) + " " + _pick(VETTING, phrasing.offer)
    on_bench = {entry["stack"] for entry in context["bench"]}
    missing = [role["stack"] for role in context["open_roles"] if role["stack"] not in on_bench]
    if missing:
        text += " " + _pick(MISSING, phrasing.missing).format(stacks=_join(missing))
    return text
