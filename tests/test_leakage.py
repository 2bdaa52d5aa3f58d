"""The leakage audit finds what a random split leaks and finds nothing in a grouped split."""
from __future__ import annotations

import pytest

from augmenter import planted_rows
from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.leakage import janitor_words, leakage_audit, ngram_overlap
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
    assert leaky_report["eval_rows_above_similarity"] > 0.5
    assert clean_report["eval_rows_above_similarity"] < 0.1
    worst = leaky_report["worst_offenders"][0]
    assert worst["sibling"] and worst["similarity"] >= leaky_report["nearest_train_similarity"]["median"]
    assert leaky_report["gate"] == {"metric": "eval_rows_with_train_sibling", "value": leaky_report["eval_rows_with_train_sibling"]}


def test_inferred_families_find_the_same_leak(records):
    leaky = random_split(records, holdout=0.3, seed=2)
    report = leakage_audit(leaky.train, leaky.holdout, infer=True)
    declared = leakage_audit(leaky.train, leaky.holdout)
    assert report["family_source"] == "inferred" and report["gate"]["metric"] == "eval_rows_above_similarity"
    assert abs(report["eval_rows_with_train_sibling"] - declared["eval_rows_with_train_sibling"]) < 0.1


def test_thirteen_gram_overlap_counts_like_the_decontamination_janitor():
    shared = "one two three four five six seven eight nine ten eleven twelve thirteen"
    train = [f"Intro words. {shared.upper()}!", "nothing in common at all with anything else here today ok"]
    evaluation = [
        f"different start then {shared}, and an ending",  # same 13 words after normalisation
        "one two three four five six seven eight nine ten eleven twelve fourteen and more",  # 12 shared only
        "too short to judge",
    ]
    contaminated, too_short = ngram_overlap(train, evaluation)
    assert contaminated.tolist() == [True, False, False]
    assert too_short.tolist() == [False, False, True]
    assert janitor_words("Don't STOP, me-now!") == ["dont", "stop", "menow"]


def test_missing_family_without_infer_is_a_user_error(records):
    unlabelled = [Record(r.id, r.completion, prompt_text=r.prompt_text) for r in records[:4]]
    with pytest.raises(MemgapError, match="--infer"):
        leakage_audit(unlabelled[:2], unlabelled[2:])
