"""Family inference finds planted families in every script, and shared boilerplate does not merge them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from augmenter import planted_texts
from memgap.cli import main
from memgap.data.io import read_records
from memgap.families import assign_families, infer_families

CHINESE_CASE = Path(__file__).parent / "data" / "cases" / "chinese_families.jsonl"


def test_chinese_case_families_are_recovered():
    records = read_records(str(CHINESE_CASE), family_field="planted")
    inferred, source = assign_families(records, infer=True)
    assert source == "inferred"
    assert adjusted_rand_score([r.family for r in records], [r.family for r in inferred]) >= 0.9


def test_chinese_case_through_the_cli(tmp_path):
    out = tmp_path / "labelled.jsonl"
    assert main(["families", str(CHINESE_CASE), "--infer", "--out", str(out), "--write-field", "inferred_family"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert adjusted_rand_score([r["planted"] for r in rows], [r["inferred_family"] for r in rows]) >= 0.9
    assert len({r["inferred_family"] for r in rows}) == len({r["planted"] for r in rows}) == 6


def test_one_long_footer_shared_by_all_rows_does_not_merge_families():
    # Small data sets are where a footer weighs most: IDF has little range between rare and common.
    # A long system-prompt-like footer, as chat SFT rows repeat one: longer than the rows themselves.
    footer = (
        "This message and any attachments are confidential and meant for the addressee only. If it reached you "
        "by mistake, tell the sender and delete it. Our help centre answers every day of the year, and replies "
        "may be kept for quality and training. Prices include tax where the law asks for it, and every order "
        "follows the terms of sale published on the shop's website, which you accepted when ordering. Returns "
        "are free within thirty days for unused goods in their original box; opened items are checked by our "
        "workshop before any refund. Gift cards cannot be exchanged for cash. Delivery estimates come from the "
        "carriers and are not promises. We never ask for your password or full card number by email or phone. "
        "Personal data is handled under our privacy notice, which explains what we keep, why, for how long, "
        "and how to ask for a copy or its deletion. Complaints that we cannot settle may go to the independent "
        "ombudsman named on our website. Registered office, company number and VAT number are listed there too."
    )
    with_footer, without_footer = [], []
    for seed in range(1, 7):
        texts, truth = planted_texts(20, seed=seed, min_size=2, max_size=5)
        footed = [f"{text}\n{footer}" for text in texts]
        with_footer.append(adjusted_rand_score(truth, infer_families(footed)))
        without_footer.append(adjusted_rand_score(truth, infer_families(texts)))
        # Without the boilerplate filter the footer merges families.
        assert adjusted_rand_score(truth, infer_families(footed, boilerplate_share=1.0)) < with_footer[-1] - 0.2
    # With the filter the footer costs (almost) nothing: the same families are found as without it.
    assert sum(with_footer) / 6 >= sum(without_footer) / 6 - 0.03


# Planted sets from tests/planted/: an augmenter written apart from memgap and from tests/augmenter.py
# (other domains and operations; one footer in every row; same-topic families sharing sentences).
@pytest.mark.parametrize("kind", ["chinese", "arabic", "web_english", "it_support"])
def test_independent_planted_families_are_recovered(kind):
    from planted import generate

    planted = generate(kind, n_families=120, seed=1, declare_family=False)
    texts = [f"{row['prompt']}\n{row['completion']}" for row in planted.rows]
    assert adjusted_rand_score(planted.planted, infer_families(texts)) >= 0.9


def test_independent_planted_chat_rows_through_records(tmp_path):
    from planted import SMALL, generate

    planted = generate("arabic", SMALL, seed=3, shape="messages", declare_family=False)
    path = tmp_path / "arabic.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in planted.rows), encoding="utf-8")
    records = read_records(str(path), family_field="planted")
    inferred, _ = assign_families(records, infer=True)
    assert adjusted_rand_score(planted.planted, [r.family for r in inferred]) >= 0.9


@pytest.mark.parametrize("name", ["chinese_recipe_families", "arabic_families", "web_punct_families"])
def test_real_world_family_files_are_recovered(name):
    records = read_records(str(Path(__file__).parent / "data" / "real_world_more" / f"{name}.jsonl"), family_field="planted")
    inferred, _ = assign_families(records, infer=True)
    assert adjusted_rand_score([r.family for r in records], [r.family for r in inferred]) >= 0.9
