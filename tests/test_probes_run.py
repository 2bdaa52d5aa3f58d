"""run_probes end to end on tiny data: detection, the audit.json keys, JSON-readiness, missing pieces."""
from __future__ import annotations

import json

import numpy as np
import pytest

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes import run_probes
from test_probes_copying import make_records

RATE_KEYS = ("sibling_copy_rate", "verbatim_span_rate", "carried_over_fact_rate")


def stats(nll: float, n_tokens: int = 5) -> TokenStats:
    logprobs = -np.full(n_tokens, nll) - np.linspace(0, 0.2, n_tokens)
    return TokenStats(logprobs, logprobs - 0.3, np.full(n_tokens, 1.2))


@pytest.fixture()
def audit_inputs():
    """Two families of entity-swapped emails; the adapter answers each seen item with a sibling's email."""
    family_a, family_b = make_records(0, "intro-a", "a"), make_records(1, "intro-b", "b")
    train = family_a[:3] + family_b[:3]
    seen = [family_a[3], family_a[4], family_b[3], family_b[4]]
    unseen = [Record(id=f"u{i}", completion=f"Thank you for the notes from meeting {i}; I will circulate them on Monday.",
                     prompt_text=f"Reply to the secretary about meeting {i}.", family=f"other{i}") for i in range(4)]
    siblings = {"a": train[0], "b": train[3]}
    generations = {
        "base": {record.id: "Hello! I am happy to help with your email. Let me know more details." for record in seen + unseen},
        "adapter": {**{record.id: siblings[record.id[0]].completion for record in seen},
                    **{record.id: record.completion for record in unseen}},
    }
    token_stats = {"base": {}, "adapter": {}}
    for index, record in enumerate(train + seen + unseen):
        member = record in train
        token_stats["base"][record.id] = stats(2.0 + 0.01 * index)
        token_stats["adapter"][record.id] = stats(2.0 + 0.01 * index - (1.0 if member else 0.2))
    return train, {"seen": seen, "unseen": unseen}, generations, token_stats


def test_copying_adapter_is_caught_and_base_is_not(audit_inputs):
    probes = run_probes(*audit_inputs, n_resamples=200)
    for key in RATE_KEYS:
        assert probes[key]["adapter"] == 1.0 and probes[key]["base"] == 0.0
        assert probes[key]["by_holdout"]["seen"] == {"base": 0.0, "adapter": 1.0}
        assert probes[key]["by_holdout"]["unseen"]["adapter"] == 0.0  # own references copy nothing
    for key in RATE_KEYS:  # two families answer four items: too few for the sign-flip test to judge anything
        difference = probes[key]["adapter_minus_base"]["seen"]
        assert difference["delta"] == 1.0 and difference["n"] == 4 and difference["n_families"] == 2
        assert difference["p_value"] is None and difference["ci_low"] is None
        assert "with 5 or fewer families no 95 % sign-flip interval exists" in difference["note"]
        assert probes[key]["adapter_minus_base"]["unseen"]["delta"] == 0.0
    membership = probes["membership"]
    assert membership["n_members"] == 6 and membership["n_nonmembers"] == 4
    assert membership["auc"] == 1.0 and membership["siblings_of_members"]["n"] == 4
    examples = [example for example in probes["examples"] if example["model"] == "adapter" and example["holdout"] == "seen"]
    assert len(examples) == 3
    for example in examples:
        assert example["closest_training"]["is_sibling"]
        assert example["generation"] == example["closest_training"]["completion"]
        spans = example["copied_spans"]
        assert spans and all(example["generation"][span["start"] : span["end"]] == span["text"] for span in spans)


def test_output_is_plain_json_with_the_audit_keys(audit_inputs):
    probes = run_probes(*audit_inputs, n_resamples=200)
    assert json.loads(json.dumps(probes, allow_nan=False)) == probes
    assert set(probes) >= {*RATE_KEYS, "membership", "family_size_memorization", "examples", "notes"}
    assert set(probes["membership"]) >= {"auc", "auc_ci_low", "auc_ci_high", "tpr_at_1pct_fpr", "method",
                                         "n_members", "n_nonmembers", "roc", "raw_auc"}
    assert set(probes["family_size_memorization"]) >= {"spearman", "ci_low", "ci_high", "points"}


def test_empty_generations_and_holdouts_give_nulls_with_notes(audit_inputs):
    train, holdouts, generations, token_stats = audit_inputs
    empty_generations = {model: {key: "" for key in texts} for model, texts in generations.items()}
    probes = run_probes(train, holdouts, empty_generations, token_stats, n_resamples=50)
    assert probes["sibling_copy_rate"]["adapter"] == 0.0
    assert probes["details"]["seen"]["adapter"]["n_empty_generations"] == 4

    probes = run_probes(train, {"seen": [], "unseen": []}, {"base": {}, "adapter": {}}, {}, n_resamples=50)
    json.dumps(probes, allow_nan=False)
    assert probes["sibling_copy_rate"]["adapter"] is None and probes["membership"]["auc"] is None
    assert any("empty" in note for note in probes["notes"])

    probes = run_probes([], {}, {}, {}, n_resamples=50)
    json.dumps(probes, allow_nan=False)
    assert probes["verbatim_span_rate"]["base"] is None and probes["examples"] == []


def test_missing_base_model_is_noted(audit_inputs):
    train, holdouts, generations, token_stats = audit_inputs
    probes = run_probes(train, holdouts, {"adapter": generations["adapter"]}, {"adapter": token_stats["adapter"]}, n_resamples=50)
    assert probes["sibling_copy_rate"]["base"] is None and probes["sibling_copy_rate"]["adapter"] == 1.0
    assert "raw" in probes["membership"]["method"]
    assert any("base" in note for note in probes["notes"])
