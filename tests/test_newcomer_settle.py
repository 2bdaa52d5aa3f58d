"""An inconclusive verdict's `to_settle` and the report's "What to do next" come from one fact
(`verdict.settle`), and verdict text pooled over seeds keeps its parentheses balanced."""
from __future__ import annotations

import re

import numpy as np
import pytest

from fixtures.run_folder import audit_from_lifts
from memgap.config import VerdictConfig
from memgap.multiseed import pool_audits
from memgap.report.actions import next_actions, nothing_to_do
from memgap.report.schema import validate_audit
from memgap.stats import memorization_gap, paired_delta, power_from_observed
from memgap.verdict import decide
from memgap.verdict_settle import SettleNeed


def measured_audit(seen_lift: float, *, unseen_families: int = 2, seen_families: int = 12) -> dict:
    """Lifts, gap and power as the statistics compute them; the unseen-family lift is exactly 0."""
    rng = np.random.default_rng(0)
    seen_clusters = np.repeat(np.arange(seen_families), 3)
    base_seen = rng.uniform(0.2, 0.4, seen_clusters.size)
    adapter_seen = base_seen + (seen_lift + rng.normal(0, 0.02, seen_clusters.size) if seen_lift else 0.0)
    unseen_clusters = np.repeat(np.arange(100, 100 + unseen_families), 3)
    base_unseen = rng.uniform(0.2, 0.4, unseen_clusters.size)
    adapter_unseen = base_unseen.copy()
    gap = memorization_gap(adapter_seen, base_seen, seen_clusters, adapter_unseen, base_unseen, unseen_clusters).to_dict()
    return {
        "lifts": {"score": {
            "seen": paired_delta(adapter_seen, base_seen, seen_clusters, n_resamples=500).to_dict(),
            "unseen": paired_delta(adapter_unseen, base_unseen, unseen_clusters, n_resamples=500).to_dict()}},
        "gap": {"score": gap},
        "power": {"score": power_from_observed(adapter_seen, base_seen, seen_clusters, effect=abs(gap["delta"]) or None)},
        "data": {"scorer": "tenacious"},
        "config": {"stats": {"alpha": 0.05}},
    }


def test_two_unseen_families_the_verdict_and_the_next_action_name_the_same_families():
    audit = measured_audit(0.0)
    assert audit["lifts"]["score"]["unseen"]["delta"] == 0.0
    assert audit["power"]["score"]["families_needed"] is None  # the case that used to fall through to "nothing to do"
    audit["verdict"] = verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    need = SettleNeed.from_dict(verdict["settle"])
    assert (need.reason, need.interval_families, need.short_holdouts) == ("interval", 6, {"unseen": 2})
    assert "at least 6 families" in verdict["to_settle"] and "2 unseen" in verdict["to_settle"]
    actions = next_actions(audit)
    assert actions and actions[0].kind == "power"
    assert "at least 6" in actions[0].title
    assert (actions[0].figure, actions[0].value) == ("lifts.score.unseen.n_families", "2")


def _first_number(text: str) -> str:
    return re.search(r"\d+", text).group()


@pytest.mark.parametrize("families_needed", [None, 8.2, 57])
@pytest.mark.parametrize("unseen_families", [2, 4, 12])
def test_every_settle_action_cites_a_number_its_to_settle_names(families_needed, unseen_families):
    audit = audit_from_lifts(seen=(0.15, 0.05), unseen=(0.05, 0.06), n_unseen_families=unseen_families,
                             families_needed=families_needed)
    if unseen_families < 6:  # as the statistics leave it: no interval or p-value
        audit["lifts"]["score"]["unseen"].update(ci_low=None, ci_high=None, p_value=None,
                                                 note=f"too few families ({unseen_families}) for this interval")
    audit["verdict"] = verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    validate_audit_fragment(verdict)
    actions = [action for action in next_actions(audit) if action.kind == "power"]
    need = SettleNeed.from_dict(verdict["settle"])
    if need.reason == "power" and need.more_families_needed is None:  # 9 families needed, 12 held out
        assert actions == [] and "no open question the power analysis" not in nothing_to_do(audit)
        return
    assert actions
    for action in actions:
        if need.reason == "more-families":
            assert verdict["to_settle"].startswith("More unseen families") and "more unseen families" in action.title
        else:
            assert _first_number(action.title) in verdict["to_settle"]


def validate_audit_fragment(verdict: dict) -> None:
    """The verdict with its settle fact fits audit.json's schema."""
    from fixtures.run_folder import synthetic_audit

    audit, _ = synthetic_audit()
    validate_audit({**audit, "verdict": verdict})


def test_a_decided_verdict_still_says_what_was_checked():
    audit = audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03))
    audit["verdict"] = decide(audit, VerdictConfig())
    assert audit["verdict"]["settle"] is None and next_actions(audit) == []
    assert "no open question the power analysis could settle" in nothing_to_do(audit)


def balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def test_verdict_text_pooled_over_seeds_keeps_its_parentheses_balanced():
    audits = []
    for seed in range(3):
        audit = audit_from_lifts(seen=(0.15 + 0.01 * seed, 0.05), unseen=(0.05, 0.06), n_unseen_families=4)
        note = ("with 5 or fewer families no 95 % sign-flip interval exists: this hold-out has 4, and the smallest "
                "attainable p-value, 2 / 2^4 = 0.125, is above alpha 0.05, so neither an interval nor a p-value is reported")
        audit["lifts"]["score"]["unseen"].update(ci_low=None, ci_high=None, p_value=None, note=note)
        audits.append({**audit, "seed": seed, "verdict": decide(audit, VerdictConfig())})
    pooled = pool_audits(audits, alpha=0.05)
    assert "(" in pooled["lifts"]["score"]["unseen"]["note"]  # the pooled note wraps the seed's note in parentheses
    verdict = decide(pooled, VerdictConfig())
    assert "seeds have no interval" in verdict["claim"]
    for text in (verdict["claim"], *verdict["reasons"], verdict["to_settle"] or ""):
        assert balanced(text), text


def test_the_report_shows_the_same_families_under_to_settle_and_what_to_do_next(tmp_path):
    import json

    from fixtures.run_folder import build_run_folder
    from memgap.report import render_report

    run_dir = build_run_folder(tmp_path / "run")
    audit = json.loads((run_dir / "audit.json").read_text())
    measured = measured_audit(0.0)
    audit["lifts"]["score"], audit["gap"]["score"], audit["power"]["score"] = (
        measured["lifts"]["score"], measured["gap"]["score"], measured["power"]["score"])
    audit["verdict"] = decide(audit, VerdictConfig())
    (run_dir / "audit.json").write_text(json.dumps(audit))
    report = render_report(run_dir)["md"].read_text(encoding="utf-8")
    assert "at least 6 families in a hold-out" in report  # to_settle
    assert "Add distinct families: at least 6 in each hold-out" in report  # what to do next
    assert "no open question the power analysis could settle" not in report
