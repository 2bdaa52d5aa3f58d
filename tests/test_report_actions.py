"""'What to do next': each action appears when its figure calls for it, cites that figure, and not otherwise."""
from __future__ import annotations

import copy

import pytest

from memgap.report.actions import (
    CONCENTRATED_EFFECTIVE_RATIO, CONCENTRATED_TOP_DECILE_SHARE, MODULE_SHARE_FACTOR, Action, next_actions,
)

CALM: dict = {
    "verdict": {"label": "generalizes", "primary_metric": "score"},
    "lifts": {"score": {"seen": {"n_families": 30}, "unseen": {"n_families": 12}}},
    "power": {"score": {"families_needed": 40.2}},
    "families": {"families": 40, "largest_10pct_share": 0.2, "effective_families": {"inverse_simpson": 35.0}},
    "split": {"leakage": {
        "seen_holdout": {"eval_rows": 30, "completion_view": {"eval_rows_with_13gram_overlap_count": 0,
                                                              "eval_rows_with_13gram_overlap": 0.0},
                         "eval_rows_with_train_sibling_count": 30, "eval_rows_with_train_sibling": 1.0},
        "unseen_holdout": {"eval_rows": 12, "completion_view": {"eval_rows_with_13gram_overlap_count": 0,
                                                                "eval_rows_with_13gram_overlap": 0.0},
                           "eval_rows_with_train_sibling_count": 0, "eval_rows_with_train_sibling": 0.0}}},
    "training": {"steps": 20},
    "training_curves": {"best_step": 20, "onset": None, "total_steps": 20},
    "gradients": {"by_module": {"q_proj": 0.15, "k_proj": 0.14, "v_proj": 0.15, "o_proj": 0.14, "gate_proj": 0.14,
                                "up_proj": 0.14, "down_proj": 0.14}},
}


def audit_with(**changes) -> dict:
    """CALM with dotted-path changes applied (`training__steps=5` sets audit['training']['steps'])."""
    audit = copy.deepcopy(CALM)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = audit
        for key in parents:
            node = node[key]
        node[leaf] = value
    return audit


def kinds(audit: dict) -> list[str]:
    return [action.kind for action in next_actions(audit)]


def test_a_calm_audit_calls_for_nothing():
    assert next_actions(CALM) == []
    assert next_actions({}) == []  # an audit without the sections: nothing to say, no error


def test_concentrated_families_call_for_de_augmenting_and_cite_the_share():
    audit = audit_with(families__largest_10pct_share=0.62)
    (action,) = next_actions(audit)
    assert action.kind == "concentration" and "De-augment" in action.title
    assert "62.0 %" in action.because and action.value == "62.0 %"
    assert action.figure == "families.largest_10pct_share" and action.section == "data"
    assert kinds(audit_with(families__largest_10pct_share=CONCENTRATED_TOP_DECILE_SHARE - 0.01)) == []


def test_few_effective_families_call_for_de_augmenting_too():
    low = CONCENTRATED_EFFECTIVE_RATIO * 40 - 1
    audit = audit_with(families__effective_families={"inverse_simpson": low})
    (action,) = next_actions(audit)
    assert action.kind == "concentration" and action.figure.endswith("inverse_simpson") and f"{low:.1f}" in action.because


def test_an_inconclusive_verdict_names_the_families_that_would_settle_it():
    audit = audit_with(verdict={"label": "inconclusive", "primary_metric": "score"})
    (action,) = next_actions(audit)
    assert action.kind == "power" and "41 unseen families" in action.title
    assert "this audit holds out 12" in action.because and action.figure == "power.score.families_needed"
    # Not when the verdict is decided, nor when the audit already holds enough families.
    assert kinds(CALM) == []
    assert kinds(audit_with(verdict={"label": "inconclusive", "primary_metric": "score"},
                            power={"score": {"families_needed": 11.5}})) == []
    # Without a figure, more unseen families, as the verdict's to_settle says (tests/test_newcomer_settle.py).
    (action,) = next_actions(audit_with(verdict={"label": "inconclusive", "primary_metric": "score"},
                                        power={"score": {"families_needed": None}}))
    assert action.figure == "lifts.score.unseen.n_families" and action.value == "12"


def test_leakage_names_the_unseen_rows_to_move():
    audit = copy.deepcopy(CALM)
    audit["split"]["leakage"]["unseen_holdout"]["similarity_threshold"] = 0.8
    audit["split"]["leakage"]["unseen_holdout"]["completion_view"].update(eval_rows_above_similarity_count=3,
                                                                          eval_rows_above_similarity=0.25)
    audit["split"]["leakage"]["unseen_holdout"].update(eval_rows_with_train_sibling_count=2,
                                                       eval_rows_with_train_sibling=2 / 12)
    first, second = next_actions(audit)
    assert first.kind == second.kind == "leakage"
    assert "3 unseen-family rows" in first.title and "3 of 12 references (25.0 %)" in first.because
    assert "0.8" in first.because and first.figure.endswith("completion_view.eval_rows_above_similarity_count")
    assert "2 unseen-family rows" in second.title and "16.7 %" in second.because


def test_shared_spans_and_seen_family_overlap_call_for_no_action():
    audit = copy.deepcopy(CALM)
    # House-style phrases: every reference shares a 13-word span with some training completion.
    for holdout in ("seen_holdout", "unseen_holdout"):
        audit["split"]["leakage"][holdout]["completion_view"].update(eval_rows_with_13gram_overlap_count=12,
                                                                     eval_rows_with_13gram_overlap=1.0)
    # Seen-family rows nearly duplicate their training siblings by design.
    audit["split"]["leakage"]["seen_holdout"]["completion_view"].update(eval_rows_above_similarity_count=30)
    assert next_actions(audit) == []


def curves(best_step, onset_step, total_steps=20) -> dict:
    """`training_curves` as memgap.curves.training_curves writes it (the parts the action reads)."""
    return {"best_step": best_step, "onset": None if onset_step is None else {"step": onset_step},
            "total_steps": total_steps}


@pytest.mark.parametrize("best, onset, expected", [
    (12, None, "Stop training at step 12"),
    (8, 10, "Stop training at step 8"),
    (15, 10, "Stop training at step 15"),  # the lowest unseen-family loss, after the gap opened
    (20, 10, "Stop earlier, or de-augment"),  # the gap opened, the unseen loss still fell to the end
])
def test_training_curves_give_the_step_to_stop_at(best, onset, expected):
    (action,) = next_actions(audit_with(training_curves=curves(best, onset)))
    assert action.kind == "training" and action.title == expected and action.value in action.because
    assert (onset is not None and onset < 20) == (f"opened at step {onset}" in action.because)


def test_no_training_action_without_curves_or_when_the_last_step_is_best():
    assert kinds(audit_with(training_curves=None)) == []
    assert kinds(audit_with(training_curves=curves(20, 20))) == []


def test_modules_where_the_update_concentrated_are_named_with_their_share():
    shares = {"q_proj": 0.05, "k_proj": 0.05, "v_proj": 0.45, "o_proj": 0.3, "gate_proj": 0.05, "up_proj": 0.05,
              "down_proj": 0.05}
    (action,) = next_actions(audit_with(gradients={"by_module": shares}))
    assert action.kind == "modules" and action.title.startswith("Look at v_proj, o_proj first")
    assert "v_proj 45.0 %" in action.because and "14.3 %" in action.because and action.value == "75.0 %"
    just_below = {name: 1 / 7 for name in shares}
    just_below["v_proj"] = MODULE_SHARE_FACTOR / 7 - 0.01
    assert kinds(audit_with(gradients={"by_module": just_below})) == []


def test_actions_are_frozen_records_in_reading_order():
    audit = audit_with(verdict={"label": "inconclusive", "primary_metric": "score"}, families__largest_10pct_share=0.7,
                       training_curves=curves(5, None))
    audit["split"]["leakage"]["unseen_holdout"]["completion_view"]["eval_rows_above_similarity_count"] = 1
    actions = next_actions(audit)
    assert [a.kind for a in actions] == ["leakage", "power", "concentration", "training"]
    assert all(isinstance(a, Action) and a.value in a.because for a in actions)
    with pytest.raises(AttributeError):
        actions[0].title = "x"  # type: ignore[misc]
