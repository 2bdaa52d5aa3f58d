"""The `tenacious` rubric scorer: a weighted mean of named style checks on an outreach email.

`score_email(email, context)` is the pure rubric; the registered `tenacious(completion, record)`
adapts it to the scorer contract of `memgap.evaluation.scoring`. The weights are documented in
docs/tenacious_style.md; the checks themselves live in `checks.py`.
"""
from __future__ import annotations

from typing import Any

from memgap.data.records import Record
from memgap.domains.tenacious import checks
from memgap.evaluation.scoring import SCORERS, ScoreResult

# Grounding and the bench weigh most: a wrong fact or an offer we cannot honour costs trust that
# no wording wins back, and a placeholder makes an email unsendable. Surface form (subject,
# length, sign-off) weighs least.
WEIGHTS: dict[str, float] = {
    "grounding": 0.15,
    "placeholders": 0.15,
    "bench_commitment": 0.12,
    "specificity": 0.12,
    "low_confidence_questions": 0.10,
    "banned_phrases": 0.10,
    "segment_pitch": 0.06,
    "single_ask": 0.06,
    "subject_line": 0.04,
    "length": 0.04,
    "sign_off": 0.03,
    "no_prices_or_put_downs": 0.03,
}

# Checks that pass by the absence of a fault. An empty output, or one that is no email at all (an
# echo of the brief), would pass them for free, so their value is scaled by how much of a minimal
# body (60 words) the output has and by whether it has the form of an email (checks.email_form).
FAULT_ABSENCE_CHECKS = ("grounding", "placeholders", "low_confidence_questions", "banned_phrases", "no_prices_or_put_downs")

CHECKS = {
    "grounding": checks.check_grounding,
    "bench_commitment": checks.check_bench_commitment,
    "low_confidence_questions": checks.check_low_confidence_questions,
    "banned_phrases": checks.check_banned_phrases,
    "specificity": checks.check_specificity,
    "placeholders": checks.check_placeholders,
    "segment_pitch": checks.check_segment_pitch,
    "single_ask": checks.check_single_ask,
    "subject_line": checks.check_subject_line,
    "length": checks.check_length,
    "sign_off": checks.check_sign_off,
    "no_prices_or_put_downs": checks.check_prices_and_put_downs,
}


def score_email(email: str, context: dict[str, Any] | None) -> ScoreResult:
    """Score one email against its task context; any text (empty, garbage, huge) gets a score."""
    parsed = checks.parse_email(email)
    context = context if isinstance(context, dict) else {}
    values, problems = {}, {}
    for name, check in CHECKS.items():
        value, found = check(parsed, context)
        if name in FAULT_ABSENCE_CHECKS:
            value *= min(1.0, parsed.body_word_count / checks.BODY_WORDS[0]) * checks.email_form(parsed)
        values[name] = round(min(1.0, max(0.0, float(value))), 6)
        if found:
            problems[name] = found
    score = sum(WEIGHTS[name] * values[name] for name in CHECKS) / sum(WEIGHTS.values())
    return ScoreResult(score=round(score, 6), checks=values, details={"problems": problems, "body_words": parsed.body_word_count, "email_form": checks.email_form(parsed)})


def is_tenacious_record(record: Record) -> bool:
    """True when the record carries a Tenacious context (a company and a bench), so the rubric applies."""
    context = record.context
    return isinstance(context, dict) and "company" in context and isinstance(context.get("bench"), list)


@SCORERS.register("tenacious")
def tenacious(completion: str, record: Record) -> ScoreResult:
    """The rubric scorer for the scorer registry: the generated email against the record's context."""
    return score_email(completion, record.context)
