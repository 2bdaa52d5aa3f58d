"""`run_audit` end to end on a tiny model: outputs, schema, resume without recomputation, determinism."""
from __future__ import annotations

import json

import pytest

from memgap.pipeline import run_audit
from memgap.report import validate_audit
from pipeline_helpers import comparable, make_inputs, tiny_config


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a"
    audit = run_audit(tiny_config(*inputs, out), progress=False)
    return out, audit


def test_run_writes_every_artefact(first_run):
    out, audit = first_run
    for name in ("audit.json", "report.md", "report.html", "predictions.jsonl", "membership.jsonl",
                 "training/adapter/adapter_model.safetensors", "training/gradnorms.csv", "training/updates.csv",
                 "split/train.jsonl", "split/seen_holdout.jsonl", "split/unseen_holdout.jsonl", "split/manifest.json"):
        assert (out / name).exists(), name
    assert not (out / "training" / "checkpoints").exists()
    on_disk = json.loads((out / "audit.json").read_text())
    validate_audit(on_disk)
    assert on_disk["verdict"]["label"] in ("generalizes", "memorizes-families", "no-lift", "inconclusive")


def test_audit_has_both_lifts_and_gap_with_family_counts(first_run):
    _, audit = first_run
    for metric in ("nll", "score"):
        for holdout in ("seen", "unseen"):
            s = audit["lifts"][metric][holdout]
            assert s["n"] >= s["n_families"] >= 1
            assert s["ci_low"] <= s["delta"] <= s["ci_high"]
        assert audit["gap"][metric]["delta"] == pytest.approx(
            audit["lifts"][metric]["seen"]["delta"] - audit["lifts"][metric]["unseen"]["delta"], abs=1e-9
        )
    split = audit["split"]
    assert split["leakage"]["unseen_holdout"]["eval_rows_with_train_sibling"] == 0
    assert split["leakage"]["seen_holdout"]["eval_rows_with_train_sibling"] == 1
    assert split["unseen_holdout"]["families"] + len(
        {row["family"] for row in map(json.loads, open(first_run[0] / "split" / "train.jsonl"))}
    ) == audit["data"]["families"]
    assert len(audit["fingerprints"]["data"]) == len(audit["fingerprints"]["adapter"]) == 64


def test_nll_lift_is_real_on_learnable_tiny_data(first_run):
    # The tiny data repeats one sentence per family, so training must lower the NLL on seen siblings.
    _, audit = first_run
    assert audit["lifts"]["nll"]["seen"]["delta"] > 0
    assert audit["training"]["train_loss_last"] < audit["training"]["train_loss_first"]


def test_second_call_resumes_from_finished_stages(first_run, inputs):
    out, audit = first_run
    markers = {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json") if p.name != "report.json"}
    again = run_audit(tiny_config(*inputs, out), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json") if p.name != "report.json"} == markers
    assert comparable(again) == comparable(audit)


def test_same_seed_same_audit_and_identical_split_bytes(first_run, inputs, tmp_path):
    out, audit = first_run
    other = run_audit(tiny_config(*inputs, tmp_path / "b"), progress=False)
    assert comparable(other)["lifts"] == comparable(audit)["lifts"]
    assert comparable({k: v for k, v in other.items() if k != "config"}) == comparable(
        {k: v for k, v in audit.items() if k != "config"}
    )
    for name in ("train.jsonl", "seen_holdout.jsonl", "unseen_holdout.jsonl"):
        assert (tmp_path / "b" / "split" / name).read_bytes() == (out / "split" / name).read_bytes()


def test_refuses_to_resume_under_other_settings(first_run, inputs):
    from memgap.errors import MemgapError

    out, _ = first_run
    with pytest.raises(MemgapError, match="other settings"):
        run_audit(tiny_config(*inputs, out, **{"training.learning_rate": 0.5}), progress=False)


def test_capped_training_set_keeps_every_seen_family(inputs, tmp_path):
    # A small training budget must not drop the families the seen hold-out was drawn from.
    audit = run_audit(tiny_config(*inputs, tmp_path / "capped", **{"split.max_train_rows": 8,
                                                                   "split.max_holdout_items": 6}), progress=False)
    assert audit["split"]["train"]["rows"] == 8
    assert audit["split"]["seen_holdout"]["rows"] == 6
    assert audit["split"]["leakage"]["seen_holdout"]["eval_rows_with_train_sibling"] == 1
    assert audit["split"]["leakage"]["unseen_holdout"]["eval_rows_with_train_sibling"] == 0
