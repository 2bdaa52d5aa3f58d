"""Carried-over facts: names and figures from training that the item itself never mentions."""
from __future__ import annotations

import pytest

from memgap.data.records import Record
from memgap.probes.facts import TrainingFacts, carried_over_facts, extract_facts
from test_probes_copying import make_records


def keys(text: str) -> list[str]:
    return [fact.key for fact in extract_facts(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi Sarah Chen, Northwind Analytics raised $12M.", ["name:sarah chen", "name:northwind analytics", "number:12000000"]),
        ("They raised 12 million dollars", ["number:12000000"]),
        ("Revenue grew 35% to $1,200 in 2023.", ["number:35", "number:1200", "number:2023"]),
        ("We are hiring 4 data engineers and 3 roles.", ["count:4 data", "count:3 role"]),
        ("Tenacious can help. Thanks!", []),  # a lone capitalised word opening a sentence is not a name
        ("Our B2B clients in Q3 liked it", []),  # digits inside identifiers are not figures
        ("1. First point", []),  # a list marker is not a count
    ],
)
def test_extract_facts(text, expected):
    assert keys(text) == expected


def test_fact_character_ranges_point_at_the_text():
    text = "Congrats to Quartz Robotics on the $40M Series B."
    spans = {text[fact.start : fact.end] for fact in extract_facts(text)}
    assert {"Quartz Robotics", "$40M"} <= spans


def test_sibling_completion_carries_facts_but_own_reference_does_not():
    family = make_records(0, "intro", "r")
    train, item = family[:4], family[4]
    training = TrainingFacts(train)
    carried = carried_over_facts(train[0].completion, item, training)
    carried_text = {train[0].completion[fact.start : fact.end] for fact, _ in carried}
    assert {"Sarah Chen", "Northwind Analytics", "$12M"} <= carried_text
    assert {source for _, source in carried} == {train[0].id}
    assert carried_over_facts(item.completion, item, training) == []


def test_context_values_count_as_the_items_own_facts():
    train = [Record(id="t0", completion="Orbital Dynamics raised $55M last spring.", family="f")]
    generation = "I saw Orbital Dynamics raised $55M."
    bare = Record(id="h0", completion="Congrats on the round.", prompt_text="Write a note.", family="g")
    with_context = Record(id="h1", completion=bare.completion, prompt_text=bare.prompt_text, family="g",
                          context={"company": {"name": "Orbital Dynamics", "funding_usd": 55_000_000}})
    training = TrainingFacts(train)
    assert {fact.key for fact, _ in carried_over_facts(generation, bare, training)} == {"name:orbital dynamics", "number:55000000"}
    assert carried_over_facts(generation, with_context, training) == []


def test_reformatted_figure_from_the_prompt_is_own():
    train = [Record(id="t0", completion="They closed $12M.", family="f")]
    item = Record(id="h0", completion="Nice.", prompt_text="Funding: 12 million USD", family="g")
    assert carried_over_facts("Congrats on the $12M round", item, TrainingFacts(train)) == []
