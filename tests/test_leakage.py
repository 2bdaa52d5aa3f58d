"""The leakage audit finds what a random split leaks and finds nothing in a grouped split."""
from __future__ import annotations

import dataclasses

import pytest

from augmenter import planted_rows
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.data.io import read_records
from memgap.leakage import leakage_audit, ngram_overlap
from memgap.splits import grouped_split, random_split


@pytest.fixture(scope="module")
def records():
    rows = planted_rows(120, min_size=2, max_size=6, seed=11)
    return [Record(row["id"], row["completion"], prompt_text=row["prompt"], family=row["family"], row=row) for row in rows]


def test_random_split_leaks_and_grouped_split_does_not(records):
    leaky = random_split(records, holdout=0.3, seed=0)
    clean = grouped_split(records, holdout=0.3, seed=0)
    leaky_report = leakage_audit(leaky.train, leaky.holdout)
    clean_report = leakage_audit(clean.train, clean.holdout)
    assert leaky_report["eval_rows_with_train_sibling"] > 0.5
    assert clean_report["eval_rows_with_train_sibling"] == 0.0
    for view in ("completion", "whole_row"):
        assert leaky_report[f"{view}_view"]["eval_rows_above_similarity"] > 0.5
    assert clean_report["whole_row_view"]["eval_rows_above_similarity"] < 0.1
    # Templated answers of different families stay alike: the completion view separates less.
    assert clean_report["completion_view"]["eval_rows_above_similarity"] < 0.5
    worst = leaky_report["worst_offenders"][0]
    assert worst["sibling"] and worst["similarity"] >= leaky_report["whole_row_view"]["nearest_train_similarity"]["median"]
    assert leaky_report["gate"] == {"metric": "eval_rows_with_train_sibling", "value": leaky_report["eval_rows_with_train_sibling"]}


def test_inferred_families_find_the_same_leak(records):
    leaky = random_split(records, holdout=0.3, seed=2)
    report = leakage_audit(leaky.train, leaky.holdout, infer=True)
    declared = leakage_audit(leaky.train, leaky.holdout)
    assert report["family_source"] == "inferred"
    assert report["gate"] == {
        "metric": "whole_row_view.eval_rows_above_similarity",
        "value": report["whole_row_view"]["eval_rows_above_similarity"],
    }
    assert abs(report["eval_rows_with_train_sibling"] - declared["eval_rows_with_train_sibling"]) < 0.1


def test_thirteen_gram_overlap_counts_like_the_decontamination_janitor():
    shared = "one two three four five six seven eight nine ten eleven twelve thirteen"
    train = [f"Intro words. {shared.upper()}!", "nothing in common at all with anything else here today ok"]
    evaluation = [
        f"different start then {shared}, and an ending",  # same 13 words after normalisation
        "one two three four five six seven eight nine ten eleven twelve fourteen and more",  # 12 shared only
        "too short to judge",
    ]
    contaminated, too_short, dropped = ngram_overlap(train, evaluation)
    assert contaminated.tolist() == [True, False, False]
    assert too_short.tolist() == [False, False, True]
    assert dropped == 0


def test_thirteen_grams_in_chinese_are_thirteen_characters():
    train = ["请在周五之前把红色箱子送到三号码头。"]
    evaluation = ["麻烦在周五之前把红色箱子送到三号码头，谢谢。", "请在周一之前把蓝色箱子送到北边货场。"]
    contaminated, too_short, _ = ngram_overlap(train, evaluation)
    assert contaminated.tolist() == [True, False] and not too_short.any()


SYSTEM_PROMPT = (
    "You are the support assistant of a hardware shop. Answer politely and briefly, never promise refunds "
    "you cannot approve, always quote the order number back to the customer, keep a friendly tone, and sign "
    "every reply with the name of the shop so the customer knows who wrote to them today."
)


def _chat(record_id: str, question: str, answer: str) -> Record:
    messages = ({"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question})
    return Record(record_id, answer, prompt_messages=messages, family=record_id)


def test_a_shared_system_prompt_is_boilerplate_and_only_copied_completions_count():
    copied = "the replacement drill will ship from our warehouse in leeds on monday morning with a new battery"
    train = [
        _chat("t0", "Where is my drill?", f"Good news: {copied}. Sorry for the wait."),
        _chat("t1", "Can I pay by card?", "Yes, every card works in the shop and online, including prepaid ones."),
        _chat("t2", "Do you sell ladders?", "We stock three ladders: two aluminium ones and a wooden step ladder."),
        _chat("t3", "What are your hours?", "We open at nine and close at six, and on Sundays we stay closed all day."),
    ]
    evaluation = [
        _chat("e0", "Any news on the drill?", f"Yes: {copied}, tracking to follow."),
        _chat("e1", "Is the grill in stock?", "The charcoal grill is back in stock and can be collected this week."),
        _chat("e2", "When does the drill ship?", f"As promised, {copied}."),
        _chat("e3", "Lamps: may they go back?", "Lamps can be returned within thirty days with the receipt and box."),
    ]
    report = leakage_audit(train, evaluation)
    completion, whole_row = report["completion_view"], report["whole_row_view"]
    assert completion["eval_rows_with_13gram_overlap_count"] == 2
    assert whole_row["eval_rows_with_13gram_overlap_count"] == 2  # the system prompt is left out here too
    assert whole_row["boilerplate_13grams_dropped"] > 0 and completion["boilerplate_13grams_dropped"] == 0
    flagged = {entry["eval_id"] for entry in report["worst_offenders"] if entry["completion_thirteen_gram_overlap"]}
    assert flagged == {"e0", "e2"}
    # Without the boilerplate filter the prompt alone makes every row "contaminated".
    unfiltered = leakage_audit(train, evaluation, boilerplate_share=1.0)["whole_row_view"]
    assert unfiltered["eval_rows_with_13gram_overlap_count"] == 4


def test_leakage_sees_chinese_siblings():
    records = read_records("tests/data/cases/chinese_families.jsonl", family_field="planted")
    train = [r for r in records if r.family in {"g0", "g1", "g2", "g3"} and not r.id.endswith("-3")]
    evaluation = [r for r in records if r not in train]
    has_sibling = [r.family in {"g0", "g1", "g2", "g3"} for r in evaluation]
    assert sum(has_sibling) == 4
    for infer in (False, True):
        report = leakage_audit(train, evaluation, infer=infer)
        assert report["eval_rows_with_train_sibling_count"] == 4
        for view in ("completion", "whole_row"):
            assert report[f"{view}_view"]["eval_rows_above_similarity_count"] == 4
        top = {entry["eval_id"] for entry in report["worst_offenders"][:4]}
        assert top == {r.id for r, sibling in zip(evaluation, has_sibling) if sibling}


def test_missing_family_without_infer_is_a_user_error(records):
    unlabelled = [Record(r.id, r.completion, prompt_text=r.prompt_text) for r in records[:4]]
    with pytest.raises(MemgapError, match="--infer"):
        leakage_audit(unlabelled[:2], unlabelled[2:])
    with pytest.raises(MemgapError, match="no eval record has a family"):
        leakage_audit(records[:2], unlabelled[2:])


def test_rows_without_a_family_have_no_sibling_and_are_named(records):
    first_of_family, train, evaluation = set(), [], []
    for record in records:
        (train if record.family in first_of_family else evaluation).append(record)
        first_of_family.add(record.family)
    for index in (1, 4):
        train[index] = dataclasses.replace(train[index], family=None)
    evaluation[0] = dataclasses.replace(evaluation[0], family=None)
    families_left = {r.family for r in train if r.family is not None}
    expected = sum(r.family is not None and r.family in families_left for r in evaluation)
    assert expected >= 3  # the check below can tell a missing family from a sibling
    report = leakage_audit(train, evaluation)
    assert report["eval_rows_with_train_sibling_count"] == expected
    assert report["missing_family"] == {
        "train": {"count": 2, "ids": [train[1].id, train[4].id]},
        "eval": {"count": 1, "ids": [evaluation[0].id]},
    }
    offender = {row["eval_id"]: row["sibling"] for row in report["worst_offenders"]}
    assert offender.get(evaluation[0].id, False) is False
