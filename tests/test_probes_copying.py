"""Sibling copying and verbatim spans on a small family of entity-swapped outreach emails."""
from __future__ import annotations

import pytest

from memgap.data.records import Record
from memgap.probes.copying import TrainingCorpus, find_copying, longest_common_run, ngram_overlap, token_f1
from memgap.probes.text import word_tokens

COMPANIES = [
    ("Sarah Chen", "Northwind Analytics", "$12M Series A", "4 data engineers", "Denver"),
    ("Tom Okafor", "Bluepeak Labs", "$3M seed round", "2 backend engineers", "Austin"),
    ("Priya Raman", "Quartz Robotics", "$40M Series B", "7 firmware engineers", "Boston"),
    ("Lena Vogel", "Harbor Freight Systems", "$25M Series B", "5 platform engineers", "Chicago"),
    ("Marco Diaz", "Ember Health", "$8M seed extension", "3 mobile engineers", "Miami"),
]
TEMPLATES = [
    "Hi {person}, congratulations on {company} closing its {funding}. Teams that grow this fast in {city} "
    "often struggle to hire {roles} quickly, and Tenacious places vetted engineers within two weeks. "
    "Would a short call next Tuesday be useful?",
    "Dear {person}, I read that {company} just announced a {funding} and is looking for {roles} in {city}. "
    "We help companies at exactly this stage build reliable teams without slowing the roadmap down. "
    "Are you open to comparing notes for twenty minutes?",
]


def make_records(template: int, family: str, prefix: str) -> list[Record]:
    """One family: the same outreach template with a different company per row (entity swaps)."""
    records = []
    for index, (person, company, funding, roles, city) in enumerate(COMPANIES):
        prompt = f"Write a cold email to {person} at {company} ({city}). Signal: {funding}; hiring {roles}."
        completion = TEMPLATES[template].format(person=person, company=company, funding=funding, roles=roles, city=city)
        records.append(Record(id=f"{prefix}{index}", completion=completion, prompt_text=prompt, family=family))
    return records


@pytest.fixture()
def split():
    family_a = make_records(0, "intro-a", "a")
    family_b = make_records(1, "intro-b", "b")
    train = family_a[:4] + family_b[:2]
    seen_item = family_a[4]
    unseen_item = Record(id="u0", completion="Thanks for the update on the board meeting, I will send the notes tomorrow.",
                         prompt_text="Reply to the board secretary.", family="other")
    return train, seen_item, unseen_item


def test_sibling_completion_is_detected_as_copy(split):
    train, seen_item, _ = split
    corpus = TrainingCorpus(train, min_span_tokens=8)
    copied = train[0].completion
    finding = find_copying(copied, seen_item, corpus)
    assert finding.closest_id == train[0].id
    assert finding.closest_is_sibling
    assert finding.closer_to_training
    assert finding.to_closest.ngram_overlap == 1.0
    assert finding.has_verbatim_span
    highlighted = " ".join(copied[span.start : span.end] for span in finding.spans)
    assert "Northwind Analytics" in highlighted
    assert all(span.n_tokens >= 8 and span.source_ids == (train[0].id,) for span in finding.spans)


def test_own_reference_is_not_a_copy(split):
    train, seen_item, _ = split
    finding = find_copying(seen_item.completion, seen_item, TrainingCorpus(train, min_span_tokens=8))
    assert finding.to_reference.ngram_overlap == 1.0
    assert not finding.closer_to_training
    assert not finding.has_verbatim_span


def test_unrelated_text_is_neither_copy_nor_span(split):
    train, seen_item, _ = split
    finding = find_copying("The weather in the mountains was cold and clear all week long.", seen_item, TrainingCorpus(train))
    assert not finding.closer_to_training
    assert not finding.spans


def test_unseen_item_is_compared_with_nearest_training_completion(split):
    train, _, unseen_item = split
    corpus = TrainingCorpus(train)
    finding = find_copying(train[5].completion, unseen_item, corpus)
    assert finding.closest_id == train[5].id
    assert not finding.closest_is_sibling
    assert finding.closer_to_training and finding.has_verbatim_span


def test_span_shared_with_prompt_is_not_counted():
    sentence = "please confirm the shipment of forty blue widgets to the warehouse by friday"
    train = [Record(id="t0", completion=f"Okay. {sentence}.", family="f")]
    item = Record(id="h0", completion="Noted.", prompt_text=f"Say: {sentence}", family="g")
    corpus = TrainingCorpus(train, min_span_tokens=8)
    assert corpus.verbatim_spans(word_tokens(sentence), item.prompt_plain) == ()
    assert len(corpus.verbatim_spans(word_tokens(sentence), "")) == 1


@pytest.mark.parametrize("min_tokens", [3, 8, 12])
def test_span_length_threshold(min_tokens):
    train = [Record(id="t0", completion="one two three four five six seven eight nine ten", family="f")]
    text = "zero one two three four five six seven eight nine eleven"  # nine copied words
    spans = TrainingCorpus(train, min_span_tokens=min_tokens).verbatim_spans(word_tokens(text), "")
    expected = [(9, "one two three four five six seven eight nine")] if min_tokens <= 9 else []
    assert [(span.n_tokens, text[span.start : span.end]) for span in spans] == expected


def test_similarity_measures_on_small_cases():
    a, b = "the cat sat on the mat".split(), "the cat sat on a hat".split()
    assert ngram_overlap(a, b) == pytest.approx(2 / 4)  # distinct trigrams of a: 4, shared: 2
    assert token_f1(a, b) == pytest.approx(2 * (4 / 6) * (4 / 6) / (8 / 6))
    assert longest_common_run(a, b) == 4
    assert ngram_overlap(["hi"], b) == 0.0 and token_f1([], b) == 0.0


def test_empty_training_set_finds_nothing(split):
    _, seen_item, _ = split
    finding = find_copying("anything at all here", seen_item, TrainingCorpus([]))
    assert finding.closest_id is None and not finding.closer_to_training and not finding.spans
