"""The Tenacious rubric's checks: pure functions from an email and its context to a value in [0, 1].

Each check returns `(value, problems)`; `problems` names what failed, for the score's details.
The checks read only the email text and the structured context, never the gold email, so a
model's email is judged by the rules, not by closeness to one reference wording.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from memgap.domains.tenacious import catalog
from memgap.domains.tenacious.brief import is_low_confidence
from memgap.domains.tenacious.context import (
    NUMBER,
    NUMBER_WORD,
    NUMBER_WORDS,
    as_number,
    bench_counts,
    company_name,
    context_numbers,
    context_words,
    segment_of,
    stacks_in,
)

MAX_ANALYSED_CHARS = 20_000  # longer outputs are cut before pattern matching; the length check sees all
BODY_WORDS = (60, 180)

COUNT_WORDS = {**NUMBER_WORDS, "one": 1, "a": 1, "an": 1, "single": 1}
ALWAYS_ALLOWED_WORDS = {
    "i", "hi", "hello", "dear", "subject", "re", "fwd", "best", "thanks", "regards", "cheers", "ai", "ml", "llm",
    "cto", "vp", "ceo", "engineering", "tenacious", "ok", "q1", "q2", "q3", "q4", "it", "us", "eu", "uk",
    "monday", "tuesday", "wednesday", "thursday", "friday", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec",
}

SEGMENT_CUES = {
    "recently_funded": (r"fund|raise|raising|\bround\b|series [a-e]\b|scal(e|ing)|grow|faster|pace|hiring cycle|congratulat", r"cost[- ]cutting|cut(ting)? costs?|cost savings|restructur|layoff|downsiz|tighten"),
    "restructuring": (r"\bcost|budget|flexib|contract|permanent headcount|priority work|\blean", r"congratulat|new funding|your (raise|round)|hypergrowth|rapid growth|scal(e|ing) fast"),
    "mature_enterprise": (r"process|security review|compliance|change control|handover|governance|existing team|reliab|enterprise", r"scrappy|move fast and break|hypergrowth|early[- ]stage|your startup"),
    "ai_transformation": (r"machine learning|\bAI\b|\bML\b|\bmodels?\b|production|\bdata\b|\bLLMs?\b", r"layoff|cost[- ]cutting|downsiz"),
}
OFFER_CUES = re.compile(
    r"\bbench\b|\bavailable\b|\bcan start\b|\bcould start\b|\bfree\b|\bready\b|\bwe have\b|\bwe can (?:place|offer|provide|send|add)\b"
    r"|\bstart(?:ing)? (?:on|from|in)\b|\bimmediately\b|\bcan join\b|\bwe could (?:place|offer|provide|send|add)\b",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\b(?:no|not|none|don't|do not|cannot|can't|isn't|aren't|won't|without)\b", re.IGNORECASE)
ASK_CUES = re.compile(
    r"(?<![-\w])(?:call|chat|meet|meeting|talk|calendar|catch up|demo|intro|introduce you|book|schedule|send (?:me|you|over)"
    r"|let me know|reply (?:to|with)|just reply|get back to me|available for|free for|open to|interested in|worth (?:a|exploring))(?![-\w])",
    re.IGNORECASE,
)
SIGN_OFF_LINE = re.compile(
    r"^(?:best|thanks|thank you|regards|best regards|kind regards|cheers|many thanks|all the best|sincerely|best wishes)[,.!]?$",
    re.IGNORECASE,
)
PLACEHOLDER = re.compile(
    r"\[[^\]\n]{1,60}\]|\{\{?[^}\n]{1,60}\}?\}|<[A-Z][A-Za-z _]{1,40}>|\b(?:XXX+|TBD|TODO|INSERT)\b|lorem ipsum"
    r"|\b(?:Company Name|Your Name|First Name|Recipient Name|Prospect Name)\b",
    re.IGNORECASE,
)
PRICE = re.compile(
    r"[$€£]\s?\d[\d,.]*\s?(?:[kKmMbB]\b|million|billion)?|\b\d[\d,.]*\s?(?:USD|EUR|GBP|dollars|euros)\b|\bper (?:hour|day|month|engineer)\b"
    r"|/\s?(?:hr|hour|day|month)\b|\b(?:hourly|day|daily|monthly) rates?\b|\bour rates\b|\brate card\b|\bdiscount|\b\d+% off\b|\bpricing\b",
    re.IGNORECASE,
)
PUT_DOWN = re.compile(
    r"\bunlike (?:other|most)\b|\bother (?:agencies|firms|vendors|shops|staffing)\b|\bmost (?:agencies|firms|vendors)\b|\bcompetitors?\b"
    r"|\bbody shops?\b|\bcheap offshore\b|\bToptal\b|\bUpwork\b|\bAndela\b|\bFiverr\b",
    re.IGNORECASE,
)
OTHER_COMPANY = re.compile(r"\b(?:" + "|".join(catalog.NAME_HEADS) + r")\b")
COUNTED_ENGINEERS = re.compile(
    r"\b(\d+|" + "|".join(COUNT_WORDS) + r")\s+(?:[\w-]+\s+){0,2}?(?:engineers?|developers?|people)\b", re.IGNORECASE
)
WORD = re.compile(r"\S+")
CAPITALISED = re.compile(r"(?<![\w'’.-])[A-Z][\w&'’.-]*")


@dataclass(frozen=True)
class Email:
    """An email split into its subject, its body and the body's sentences."""

    text: str
    subject: str | None
    body: str
    body_word_count: int
    sentences: tuple[str, ...]


def parse_email(email: Any) -> Email:
    """Split any model output into subject and body; never fails (non-text becomes empty)."""
    full = email if isinstance(email, str) else ""
    body_word_count = 0
    text = full[:MAX_ANALYSED_CHARS].replace("\r\n", "\n").replace("**", "").strip()
    lines = text.split("\n")
    subject = None
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        match = re.match(r"\s*subject\s*:\s*(.*)$", lines[first], re.IGNORECASE)
        if match:
            subject = match.group(1).strip()
            lines = lines[first + 1:]
    body = "\n".join(lines).strip()
    body_word_count = len(WORD.findall(full)) - (len(WORD.findall(text)) - len(WORD.findall(body)))
    sentences = tuple(s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", body) if s.strip())
    return Email(text=text, subject=subject, body=body, body_word_count=max(body_word_count, 0), sentences=sentences)


GREETING_LINE = re.compile(r"^(?:hi|hello|dear|hey|good (?:morning|afternoon))\b[^\n]{0,40}[,!:]?$|^[A-Z][\w'-]+,$", re.IGNORECASE)


def email_form(email: Email) -> float:
    """How much the output looks like an email: 1 with two of subject, greeting and sign-off, 0.5 with one, 0 with none."""
    lines = [line.strip() for line in email.body.split("\n") if line.strip()]
    parts = [
        email.subject is not None,
        bool(lines) and GREETING_LINE.match(lines[0]) is not None,
        any(SIGN_OFF_LINE.match(line) for line in lines[-4:]),
    ]
    return min(1.0, sum(parts) / 2)


@functools.cache
def banned_phrases() -> tuple[str, ...]:
    """The vendor-speak list, read from the package's banned_phrases.txt."""
    text = resources.files("memgap.domains.tenacious").joinpath("banned_phrases.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


@functools.cache
def _banned_pattern() -> re.Pattern[str]:
    alternatives = [re.escape(phrase).replace(r"\-", "[- ]?").replace(r"\ ", r"[\s-]+") for phrase in banned_phrases()]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


# --- the checks ------------------------------------------------------------------------------

def check_banned_phrases(email: Email, context: dict) -> tuple[float, list[str]]:
    found = [match.group(0) for match in _banned_pattern().finditer(email.text)]
    return max(0.0, 1.0 - 0.5 * len(found)), found


def check_grounding(email: Email, context: dict) -> tuple[float, list[str]]:
    """Names, numbers and stacks in the email must all appear in the brief."""
    words = context_words(context)
    text = PLACEHOLDER.sub(" ", email.text)  # a placeholder is no claim; the placeholders check counts it
    problems = []
    for head in dict.fromkeys(OTHER_COMPANY.findall(text)):
        if head.lower() not in words:
            problems.append(f"another company: {head}")
    flagged = {problem.split(": ")[1] for problem in problems}
    for match in CAPITALISED.finditer(text):
        word = match.group(0).rstrip(".'’-").removesuffix("'s").removesuffix("’s")
        if word in flagged or _at_sentence_start(text, match.start()):
            continue
        if word.lower() not in words and word.lower() not in ALWAYS_ALLOWED_WORDS:
            problems.append(f"name not in brief: {word}")
            flagged.add(word)
    numbers = context_numbers(context)
    for match in NUMBER.finditer(text):
        value = as_number(match.group(0))
        if value is None or value in numbers:
            continue
        if re.match(r"[\s-]*(?:min|minute)", text[match.end():match.end() + 8], re.IGNORECASE):
            continue  # a call's length is the sender's to choose
        problems.append(f"number not in brief: {match.group(0)}")
    for word in dict.fromkeys(word.lower() for word in NUMBER_WORD.findall(text)):
        if NUMBER_WORDS[word] not in numbers:
            problems.append(f"number not in brief: {word}")
    known_stacks = [stack for stack in catalog.STACKS if stack.lower() not in words]
    for stack, _ in stacks_in(text, known_stacks):
        if f"stack not in brief: {stack}" not in problems:
            problems.append(f"stack not in brief: {stack}")
    return max(0.0, 1.0 - 0.5 * len(problems)), problems


def _at_sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \t")
    return not before or before[-1] in ".!?:;\n\"“(" or before.endswith(("Hi", "Hello", "Dear"))


def check_specificity(email: Email, context: dict) -> tuple[float, list[str]]:
    """Half for naming the prospect, half for citing at least one fact of its brief."""
    name = company_name(context)
    problems = []
    named = bool(name) and (name.lower() in email.text.lower() or re.search(rf"\b{re.escape(name.split()[0])}\b", email.text) is not None)
    if not named:
        problems.append("company not named")
    facts = [str(role.get("stack")) for role in context.get("open_roles") or [] if isinstance(role, dict)]
    facts += [cue for signal in context.get("signals") or [] if isinstance(signal, dict) for cue in signal.get("cues") or []]
    news_words = [w for w in re.findall(r"[A-Za-z][\w-]{4,}", str(context.get("news") or ""))]
    funding = context.get("funding")
    if isinstance(funding, dict) and funding.get("event") not in (None, "none"):
        facts.append(str(funding["event"]))
    lowered = email.text.lower()
    cited = any(fact and re.search(r"(?<!\w)" + re.escape(fact.lower()) + r"(?!\w)", lowered) for fact in facts) or sum(word.lower() in lowered for word in news_words) >= 2
    if not cited:
        problems.append("no fact from the brief")
    return 0.5 * named + 0.5 * cited, problems


def check_low_confidence_questions(email: Email, context: dict) -> tuple[float, list[str]]:
    """Each low-confidence signal the email mentions must be mentioned as a question."""
    mentioned = asserted = 0
    problems = []
    for signal in context.get("signals") or []:
        if not isinstance(signal, dict) or not is_low_confidence(signal.get("confidence")):
            continue
        cues = [str(cue) for cue in signal.get("cues") or []] or re.findall(r"[A-Za-z][\w-]{5,}", str(signal.get("text") or ""))
        sentences = [s for s in email.sentences if any(cue.lower() in s.lower() for cue in cues)]
        if not sentences:
            continue
        mentioned += 1
        if any(not sentence.rstrip().endswith("?") for sentence in sentences):
            asserted += 1
            problems.append(f"asserted: {signal.get('text')}")
    return (1.0 - asserted / mentioned if mentioned else 1.0), problems


def check_bench_commitment(email: Email, context: dict) -> tuple[float, list[str]]:
    """The email offers engineers, only on bench stacks and no more than the bench holds."""
    bench = bench_counts(context)
    if not bench:
        return 1.0, []  # no bench in the context: nothing to hold the email to
    all_stacks = list(dict.fromkeys([*bench, *catalog.STACKS]))
    problems, offered = [], 0
    for sentence in email.sentences:
        if not OFFER_CUES.search(sentence) or NEGATION.search(sentence):
            continue
        mentions = stacks_in(sentence, all_stacks)
        for stack, position in mentions:
            offered += 1
            if stack not in bench:
                problems.append(f"stack not on bench: {stack}")
                continue
            count = _count_before(sentence[:position])
            if count is not None and count > bench[stack]:
                problems.append(f"{count} {stack} offered, bench holds {bench[stack]}")
        for match in COUNTED_ENGINEERS.finditer(sentence):
            if not any(match.start() <= position < match.end() for _, position in mentions):  # "nine engineers", no stack
                count = _count_value(match.group(1))
                offered += 1
                if count is not None and count > sum(bench.values()):
                    problems.append(f"{count} engineers offered, bench holds {sum(bench.values())}")
    if problems:
        return 0.0, problems
    # An outreach email that offers no one from the bench has missed its point.
    return (1.0 if offered else 0.0), ([] if offered else ["nothing offered from the bench"])


def _count_value(token: str) -> int | None:
    token = token.lower()
    if token.isdigit():
        return int(token)
    return COUNT_WORDS.get(token)


def _count_before(text: str) -> int | None:
    match = re.search(r"\b(\d+|[A-Za-z]+)\s+(?:[\w-]+\s+){0,2}$", text[-60:])
    if not match:
        return None
    for token in reversed(match.group(0).split()):
        value = _count_value(token)
        if value is not None:
            return value
    return None


def check_segment_pitch(email: Email, context: dict) -> tuple[float, list[str]]:
    """The pitch fits the segment: its own themes present, other segments' themes absent."""
    segment = segment_of(context)
    if segment is None:
        return 1.0, []
    fit_pattern, misfit_pattern = SEGMENT_CUES[segment]
    fit = re.search(fit_pattern, email.body, re.IGNORECASE) is not None
    misfit = re.search(misfit_pattern, email.body, re.IGNORECASE)
    problems = ([] if fit else [f"no {segment} theme"]) + ([f"off-segment: {misfit.group(0)}"] if misfit else [])
    return {(True, False): 1.0, (False, False): 0.5, (True, True): 0.25, (False, True): 0.0}[(fit, bool(misfit))], problems


def check_subject_line(email: Email, context: dict) -> tuple[float, list[str]]:
    if email.subject is None:
        return 0.0, ["no subject line"]
    words = len(email.subject.split())
    if 2 <= words <= 15 and not PLACEHOLDER.search(email.subject):
        return 1.0, []
    return 0.5, [f"subject of {words} words"]


def check_length(email: Email, context: dict) -> tuple[float, list[str]]:
    words, (low, high) = email.body_word_count, BODY_WORDS
    if low <= words <= high:
        return 1.0, []
    value = words / low if words < low else max(0.0, 1.0 - (words - high) / (high - low))
    return value, [f"body of {words} words"]


def check_placeholders(email: Email, context: dict) -> tuple[float, list[str]]:
    found = [match.group(0) for match in PLACEHOLDER.finditer(email.text)]
    return (0.0 if found else 1.0), found


def check_single_ask(email: Email, context: dict) -> tuple[float, list[str]]:
    asks = [sentence for sentence in email.sentences if ASK_CUES.search(sentence)]
    if len(asks) == 1:
        return 1.0, []
    return (0.0 if not asks else max(0.0, 1.0 - 0.5 * (len(asks) - 1))), [f"{len(asks)} asks"]


def check_sign_off(email: Email, context: dict) -> tuple[float, list[str]]:
    lines = [line.strip() for line in email.body.split("\n") if line.strip()]
    tail = lines[-4:]
    for index, line in enumerate(tail):
        if SIGN_OFF_LINE.match(line):
            names = tail[index + 1:]
            if names and not any(PLACEHOLDER.search(name) for name in names):
                return 1.0, []
            return 0.5, ["sign-off without a name"]
    return 0.0, ["no plain sign-off"]


def check_prices_and_put_downs(email: Email, context: dict) -> tuple[float, list[str]]:
    numbers = context_numbers(context)
    problems = []
    for match in PRICE.finditer(email.text):
        amount = NUMBER.search(match.group(0))
        if amount and as_number(amount.group(0)) in numbers and re.search(r"[mMbB]|million|billion", match.group(0)):
            continue  # the funding amount quoted from the brief
        problems.append(f"price: {match.group(0)}")
    problems += [f"put-down: {match.group(0)}" for match in PUT_DOWN.finditer(email.text)]
    return (0.0 if problems else 1.0), problems
