"""The Tenacious rubric: gold emails score high, each rule's violation lowers its check and the score."""
from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memgap.data.io import read_records
from memgap.data.records import Record
from memgap.domains.tenacious import default_data_path
from memgap.domains.tenacious.checks import banned_phrases
from memgap.domains.tenacious.scorer import CHECKS, WEIGHTS, is_tenacious_record, score_email
from memgap.errors import MemgapError
from memgap.evaluation.scoring import resolve_scorer, score_one

CONTEXT = {
    "company": {"name": "Lumen Ledger", "industry": "fintech", "headcount": 140},
    "segment": "recently_funded",
    "funding": {"event": "Series B", "amount_musd": 24, "months_ago": 2},
    "open_roles": [{"stack": "Python", "count": 4}, {"stack": "React", "count": 2}, {"stack": "Kotlin", "count": 1}],
    "signals": [
        {"text": "a move from Heroku to AWS", "confidence": 0.3, "cues": ["Heroku"]},
        {"text": "a new payments team", "confidence": 0.85, "cues": ["payments team"]},
    ],
    "ai_maturity": {"score": 1, "out_of": 3},
    "news": "opened a Toronto office in May",
    "contact": {"name": "Priya Raman", "title": "CTO"},
    "bench": [
        {"stack": "Python", "seniority": "senior", "count": 2, "start": "2025-07-14"},
        {"stack": "React", "seniority": "mid-level", "count": 1, "start": "now"},
        {"stack": "Go", "seniority": "senior", "count": 3, "start": "now"},
    ],
    "instruction": {"kind": "first_touch", "objection": None},
    "sender": {"name": "Sam Ortiz", "firm": "Tenacious"},
}

GOLD = """Subject: Python engineers for Lumen Ledger

Hi Priya,

Congratulations on the Series B. With four Python roles and two React roles open at Lumen Ledger, you are hiring at a pace few recruiting teams can match. Your job posts point to a new payments team.

We place engineers with product teams so new funding turns into shipped work faster. Right now our bench has two senior Python engineers (from July 14) and one mid-level React engineer (available now).

Is a move from Heroku to AWS planned for this year?

Would a 20-minute call next Tuesday be useful?

Best,
Sam Ortiz
Tenacious"""

FILLER = (
    " Our engineers write tests, review each other's code and keep notes current, so that whoever comes next can pick"
    " up the work without a long handover, and they say early when a plan looks wrong."
)


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


VIOLATIONS = {
    "another_company": ("grounding", _replace(GOLD, "a new payments team.", "a new payments team. I also wrote to Northwind Labs about similar roles.")),
    "more_engineers_than_bench": ("bench_commitment", _replace(GOLD, "two senior Python engineers", "four senior Python engineers")),
    "stack_not_on_bench": ("bench_commitment", _replace(GOLD, "one mid-level React engineer", "one senior Kotlin engineer")),
    "vendor_speak": ("banned_phrases", _replace(GOLD, "We place engineers", "We place world-class, rockstar engineers")),
    "three_times_too_long": ("length", _replace(GOLD, "shipped work faster.", "shipped work faster." + FILLER * 8)),
    "low_confidence_asserted": ("low_confidence_questions", _replace(GOLD, "Is a move from Heroku to AWS planned for this year?", "I know you are planning a move from Heroku to AWS this year.")),
    "no_subject": ("subject_line", _replace(GOLD, "Subject: Python engineers for Lumen Ledger\n\n", "")),
    "several_asks": ("single_ask", _replace(GOLD, "be useful?", "be useful? Could you also send me your hiring plan? Let me know if profiles would help.")),
    "placeholder": ("placeholders", _replace(GOLD, "Hi Priya,", "Hi [First Name],")),
    "off_segment_pitch": ("segment_pitch", _replace(GOLD, "shipped work faster.", "shipped work faster, so you can cut costs.")),
    "flowery_sign_off": ("sign_off", _replace(GOLD, "Best,\nSam Ortiz", "Yours in pursuit of excellence and partnership,\nSam Ortiz")),
    "competitor_put_down": ("no_prices_or_put_downs", _replace(GOLD, "shipped work faster.", "shipped work faster, unlike other agencies.")),
    "invented_price": ("no_prices_or_put_downs", _replace(GOLD, "shipped work faster.", "shipped work faster at a discount.")),
}

GENERIC = """Subject: Partnership opportunity

Hi [First Name],

I hope this email finds you well! At [Your Company], we provide world-class top talent to companies like [Company Name].
Our rockstar engineers leverage cutting-edge tools to deliver game-changing results.

Let me know if you'd like to hop on a call to discuss synergies.

Best,
[Your Name]"""


def test_gold_twin_scores_full_marks():
    result = score_email(GOLD, CONTEXT)
    assert result.details["problems"] == {}
    assert result.score == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(VIOLATIONS))
def test_each_violation_lowers_only_its_check(name):
    check, email = VIOLATIONS[name]
    gold, bad = score_email(GOLD, CONTEXT), score_email(email, CONTEXT)
    assert bad.checks[check] < gold.checks[check], bad.details
    assert bad.score < gold.score
    changed = {key for key in CHECKS if bad.checks[key] != gold.checks[key]}
    assert changed == {check}, bad.details


def test_generic_placeholder_email_scores_below_half():
    result = score_email(GENERIC, CONTEXT)
    assert result.score < 0.5, result.details
    assert result.checks["placeholders"] == 0.0
    assert result.checks["banned_phrases"] == 0.0
    assert result.checks["specificity"] == 0.0


def test_gold_emails_of_default_data_score_high():
    records = read_records(default_data_path())
    scores = [score_email(record.completion, record.context).score for record in records]
    assert statistics.mean(scores) >= 0.9
    assert min(scores) >= 0.8


def test_gold_email_scored_against_another_familys_context_drops():
    records = read_records(default_data_path())
    by_family = {}
    for record in records:
        by_family.setdefault(record.family, record)
    first, second = list(by_family.values())[:2]
    own = score_email(first.completion, first.context)
    swapped = score_email(first.completion, second.context)
    assert swapped.checks["grounding"] < own.checks["grounding"]
    assert swapped.score < own.score - 0.1


@pytest.mark.parametrize("phrase", banned_phrases())
def test_every_listed_phrase_is_caught(phrase):
    email = _replace(GOLD, "We place engineers", f"We place engineers ({phrase})")
    assert score_email(email, CONTEXT).checks["banned_phrases"] < 1.0


def test_banned_list_is_data_of_a_few_dozen_phrases():
    text = (Path(__file__).parents[1] / "src/memgap/domains/tenacious/banned_phrases.txt").read_text()
    assert len(banned_phrases()) >= 30
    assert all(phrase in text for phrase in banned_phrases())


def test_more_than_bench_without_stack_is_caught():
    email = _replace(GOLD, "Right now our bench has", "We have nine engineers ready to start, and right now our bench has")
    result = score_email(email, CONTEXT)
    assert result.checks["bench_commitment"] == 0.0


def test_low_confidence_label_counts_as_low():
    context = {**CONTEXT, "signals": [{**CONTEXT["signals"][0], "confidence": "low"}, CONTEXT["signals"][1]]}
    asserted = VIOLATIONS["low_confidence_asserted"][1]
    assert score_email(asserted, context).checks["low_confidence_questions"] == 0.0
    assert score_email(GOLD, context).checks["low_confidence_questions"] == 1.0


def test_high_confidence_signal_may_be_asserted():
    email = _replace(GOLD, "Your job posts point to a new payments team.", "I know you are building a new payments team.")
    assert score_email(email, CONTEXT).checks["low_confidence_questions"] == 1.0


def test_segment_decides_the_pitch():
    restructuring = {**CONTEXT, "segment": "restructuring", "funding": {"event": "none", "years_since_last": 3}}
    assert score_email(GOLD, restructuring).checks["segment_pitch"] < score_email(GOLD, CONTEXT).checks["segment_pitch"]


def test_weights_sum_to_one_and_cover_every_check():
    assert set(WEIGHTS) == set(CHECKS)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_style_guide_documents_every_weight():
    doc = (Path(__file__).parents[1] / "docs/tenacious_style.md").read_text()
    for name, weight in WEIGHTS.items():
        assert re.search(rf"`{name}`\s*\|\s*{weight:.2f}", doc), name


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gets_a_score_in_range(text):
    result = score_email(text, CONTEXT)
    assert 0.0 <= result.score <= 1.0
    assert all(0.0 <= value <= 1.0 for value in result.checks.values())


@pytest.mark.parametrize("email", ["", "   \n\n", "Subject:", "\x00\x01garbage" * 50, "word " * 200_000, GOLD * 40])
@pytest.mark.parametrize("context", [CONTEXT, {}, None, {"company": 5, "bench": [{"stack": None, "count": "lots"}], "signals": "x"}])
def test_odd_inputs_never_crash(email, context):
    result = score_email(email, context)
    assert 0.0 <= result.score <= 1.0


def test_huge_email_scores_low_on_length():
    assert score_email("word " * 200_000, CONTEXT).checks["length"] == 0.0


def test_registered_scorer_and_record_detection():
    record = Record("r1", GOLD, prompt_messages=({"role": "user", "content": "brief"},), context=CONTEXT)
    scorer = resolve_scorer("tenacious")
    assert score_one(scorer, GOLD, record).score == pytest.approx(1.0)
    assert score_one(scorer, GENERIC, record).score < 0.5
    assert is_tenacious_record(record)
    assert not is_tenacious_record(Record("r2", "text", prompt_text="p"))
    assert not is_tenacious_record(Record("r3", "text", prompt_text="p", context={"company": "x"}))


def test_misspelt_scorer_name_suggests_tenacious():
    with pytest.raises(MemgapError, match="did you mean tenacious"):
        resolve_scorer("tenacous")


@pytest.mark.parametrize("email", ["", "hello", "Subject: hi"])
def test_empty_or_tiny_output_cannot_collect_fault_absence_checks(email):
    assert score_email(email, CONTEXT).score < 0.1


def test_an_echo_of_the_brief_is_no_email():
    echo = "\n".join([
        "Company: Lumen Ledger (fintech, 140 staff)", "Segment: recently funded startup",
        "Funding: Series B, $24M, 2 months ago", "Open roles: Python x4, React x2",
        "Signals: a move from Heroku to AWS (confidence 0.3); a new payments team (confidence 0.85)",
        "News: Opened a Toronto office in May", "Bench: 2 senior Python, from Jul 14; 1 mid-level React, now",
    ] * 2)
    result = score_email(echo, CONTEXT)
    assert result.details["email_form"] == 0.0
    assert result.score < 0.45
    assert result.checks["grounding"] == 0.0
