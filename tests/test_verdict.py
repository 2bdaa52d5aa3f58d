"""The verdict rules: each label from figures built for it, claims that quote their numbers, monotonicity."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from fixtures.run_folder import audit_from_lifts, synthetic_audit
from memgap.config import VerdictConfig
from memgap.report.schema import validate_audit
from memgap.verdict import LABELS, decide


def signed(x: float) -> str:
    return f"{x:+.2f}" if abs(x) >= 0.095 else f"{x:+.3f}"


def test_generalizes_when_unseen_lift_is_clear_and_close_to_seen():
    audit = audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03))
    verdict = decide(audit, VerdictConfig())
    unseen = audit["lifts"]["score"]["unseen"]
    assert verdict["label"] == "generalizes"
    assert signed(unseen["delta"]) in verdict["claim"]
    assert f"{signed(unseen['ci_low'])} to {signed(unseen['ci_high'])}" in verdict["claim"]
    assert f"{unseen['n_families']} families" in verdict["claim"]
    assert "never saw" in verdict["claim"]
    assert verdict["to_settle"] is None


def test_memorizes_when_only_seen_families_improve():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.02, 0.04))
    verdict = decide(audit, VerdictConfig())
    gap = audit["gap"]["score"]
    assert verdict["label"] == "memorizes-families"
    assert signed(audit["lifts"]["score"]["seen"]["delta"]) in verdict["claim"]
    assert signed(gap["delta"]) in verdict["claim"]
    assert "carries over" not in verdict["claim"]
    assert verdict["to_settle"]


def test_no_lift_when_neither_holdout_improves():
    audit = audit_from_lifts(seen=(0.01, 0.03), unseen=(-0.01, 0.04))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "no-lift"
    assert signed(audit["lifts"]["score"]["unseen"]["delta"]) in verdict["claim"]
    assert "no detectable improvement" in verdict["claim"]
    # What the data cannot rule out is said too: the largest upper bound.
    bound = max(audit["lifts"]["score"][h]["ci_high"] for h in ("seen", "unseen"))
    assert signed(bound) in verdict["claim"]


def test_no_lift_says_when_the_adapter_is_worse():
    verdict = decide(audit_from_lifts(seen=(-0.2, 0.03), unseen=(-0.15, 0.03)), VerdictConfig())
    assert verdict["label"] == "no-lift"
    assert "significantly worse" in verdict["claim"]


def test_inconclusive_when_the_gap_cannot_be_resolved_names_the_families_needed():
    audit = audit_from_lifts(seen=(0.15, 0.05), unseen=(0.05, 0.06), families_needed=57)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert "cannot tell" in verdict["claim"]
    assert "57 unseen families" in verdict["to_settle"]
    assert "this audit has 12" in verdict["to_settle"]


def test_inconclusive_without_power_still_says_what_would_settle_it():
    audit = audit_from_lifts(seen=(0.15, 0.05), unseen=(0.05, 0.06), families_needed=None)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert "unseen famil" in verdict["to_settle"]


def test_copying_well_above_base_turns_a_partial_transfer_into_memorization():
    # Both lifts positive, gap positive, ratio above threshold: generalizes, unless the adapter copies siblings.
    figures = dict(seen=(0.30, 0.02), unseen=(0.18, 0.02))
    assert decide(audit_from_lifts(**figures, copy_rate=(0.05, 0.08)), VerdictConfig())["label"] == "generalizes"
    copying = decide(audit_from_lifts(**figures, copy_rate=(0.05, 0.40)), VerdictConfig())
    assert copying["label"] == "memorizes-families"
    assert "35 percentage points" in copying["claim"]


def _with_copy_interval(ci_low, ci_high, p_value):
    audit = audit_from_lifts(seen=(0.30, 0.02), unseen=(0.18, 0.02), copy_rate=(0.05, 0.40))
    audit["probes"]["sibling_copy_rate"]["adapter_minus_base"] = {
        "seen": {"delta": 0.35, "ci_low": ci_low, "ci_high": ci_high, "p_value": p_value, "n_families": 9}}
    return audit


def test_the_copy_excess_is_quoted_with_its_family_clustered_interval():
    verdict = decide(_with_copy_interval(0.12, 0.58, 0.004), VerdictConfig())
    assert verdict["label"] == "memorizes-families"
    assert "35 percentage points more often than the base model's (95 % CI +12 to +58 points, p = 0.004, 9 families)" \
        in verdict["claim"]
    assert any("(95 % CI +12 to +58 points" in reason for reason in verdict["reasons"])


def test_a_copy_excess_the_families_cannot_tell_from_zero_is_not_counted_as_copying():
    verdict = decide(_with_copy_interval(-0.14, 0.70, 0.41), VerdictConfig())
    assert verdict["label"] == "generalizes" and "copy" not in verdict["claim"]
    assert any("not counted as copying" in reason for reason in verdict["reasons"])


def test_a_significant_gap_is_stated_in_a_generalizes_claim():
    audit = audit_from_lifts(seen=(0.30, 0.02), unseen=(0.18, 0.02))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "generalizes"
    assert "specific to those families" in verdict["claim"]


def test_ratio_threshold_comes_from_the_config():
    audit = audit_from_lifts(seen=(0.20, 0.02), unseen=(0.13, 0.02))  # ratio 0.65
    assert decide(audit, VerdictConfig(min_generalization_ratio=0.5))["label"] == "generalizes"
    assert decide(audit, VerdictConfig(min_generalization_ratio=0.7))["label"] != "generalizes"


def test_secondary_metric_pointing_the_other_way_blocks_generalizes():
    audit = audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03), nll=((0.3, 0.05), (-0.4, 0.05)))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert "other way" in verdict["claim"]


def test_primary_metric_nll_is_decided_on_nll():
    audit = audit_from_lifts(seen=(0.01, 0.03), unseen=(0.0, 0.03), nll=((0.5, 0.03), (0.02, 0.03)))
    assert decide(audit, VerdictConfig())["label"] == "no-lift"
    on_nll = decide(audit, VerdictConfig(primary_metric="nll"))
    assert on_nll["label"] == "memorizes-families"
    assert on_nll["primary_metric"] == "nll"
    assert "NLL" in on_nll["claim"]


def test_missing_lifts_give_inconclusive_not_a_crash():
    verdict = decide({"lifts": {}}, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert verdict["to_settle"]


def test_decide_does_not_modify_the_audit_and_fits_the_schema():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.02, 0.04))
    before = copy.deepcopy(audit)
    verdict = decide(audit, VerdictConfig())
    assert audit == before
    full, _ = synthetic_audit()
    full["verdict"] = verdict
    validate_audit(full)


figures = st.tuples(
    st.floats(-0.3, 0.5), st.floats(-0.3, 0.5), st.floats(0.005, 0.15), st.floats(0.005, 0.15),
)


@settings(max_examples=80, deadline=None)
@given(figures, st.floats(0.001, 0.4), st.floats(0.0, 0.5))
def test_smaller_unseen_lift_never_moves_the_label_towards_generalizes(values, decrease, copy_rate):
    seen, unseen, se_seen, se_unseen = values
    config = VerdictConfig()
    label = lambda u: decide(audit_from_lifts((seen, se_seen), (u, se_unseen), copy_rate=(0.05, copy_rate)), config)["label"]
    before, after = label(unseen), label(unseen - decrease)
    assert before in LABELS and after in LABELS
    if before == "memorizes-families":
        assert after == "memorizes-families"
    if before != "generalizes":
        assert after != "generalizes"


@settings(max_examples=60, deadline=None)
@given(figures, st.floats(0.0, 0.5), st.floats(0.0, 0.5))
def test_more_copying_never_moves_the_label_away_from_memorizes(values, rate_a, rate_b):
    seen, unseen, se_seen, se_unseen = values
    low, high = sorted((rate_a, rate_b))
    config = VerdictConfig()
    label = lambda r: decide(audit_from_lifts((seen, se_seen), (unseen, se_unseen), copy_rate=(0.0, r)), config)["label"]
    if label(low) == "memorizes-families":
        assert label(high) == "memorizes-families"


@settings(max_examples=60, deadline=None)
@given(figures, st.floats(0.0, 0.5), st.floats(0.0, 0.5), st.floats(0.01, 0.3))
def test_more_copying_with_the_same_interval_width_never_moves_the_label_away_from_memorizes(values, rate_a, rate_b, se):
    seen, unseen, se_seen, se_unseen = values
    low, high = sorted((rate_a, rate_b))
    config = VerdictConfig()

    def label(rate):
        audit = audit_from_lifts((seen, se_seen), (unseen, se_unseen), copy_rate=(0.0, rate))
        audit["probes"]["sibling_copy_rate"]["adapter_minus_base"] = {"seen": {
            "delta": rate, "ci_low": rate - 1.96 * se, "ci_high": rate + 1.96 * se,
            "p_value": float(2 * norm.sf(rate / se)), "n_families": 12}}
        return decide(audit, config)["label"]

    if label(low) == "memorizes-families":
        assert label(high) == "memorizes-families"


@pytest.mark.parametrize("label", LABELS)
def test_every_label_is_reachable_and_its_claim_quotes_the_primary_lift(label):
    cases = {
        "generalizes": ((0.20, 0.03), (0.16, 0.03)),
        "memorizes-families": ((0.26, 0.03), (0.02, 0.04)),
        "no-lift": ((0.01, 0.03), (-0.01, 0.04)),
        "inconclusive": ((0.15, 0.05), (0.05, 0.06)),
    }
    audit = audit_from_lifts(*cases[label])
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == label
    assert signed(audit["lifts"]["score"]["unseen"]["delta"]) in verdict["claim"]
    assert all(isinstance(reason, str) and reason for reason in verdict["reasons"])


def test_undefined_ratio_leans_on_the_gap():
    # Seen lift indistinguishable from zero: no ratio; a clear unseen lift with no seen-family excess generalizes.
    audit = audit_from_lifts(seen=(0.05, 0.04), unseen=(0.15, 0.03))
    assert audit["generalization_ratio"]["score"] is None
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "generalizes"
    assert "% of its lift" not in verdict["claim"]
    assert f"against {signed(0.05)}" in verdict["claim"]


def test_an_unseen_hold_out_without_an_interval_is_named_and_explained():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.10, 0.04), n_unseen_families=4)
    note = "with 5 or fewer families no 95 % sign-flip interval exists: this hold-out has 4"
    audit["lifts"]["score"]["unseen"].update(ci_low=None, ci_high=None, p_value=None, note=note)
    verdict = decide(audit, VerdictConfig())
    assert "95 % CI undefined" in verdict["claim"]
    assert ("No 95 % CI exists for the unseen-family lift (4 families): with 5 or fewer families no 95 % "
            "sign-flip interval exists.") in verdict["claim"]
    assert any(note in reason for reason in verdict["reasons"])
    assert "add families" in verdict["claim"]


def _without_interval(audit: dict, metric: str, holdout: str, n_families: int) -> None:
    note = (f"with 5 or fewer families no 95 % sign-flip interval exists: this hold-out has {n_families}, and the "
            f"smallest attainable p-value, 2 / 2^{n_families} = {2 / 2 ** n_families:.3g}, is above alpha 0.05")
    audit["lifts"][metric][holdout].update(ci_low=None, ci_high=None, p_value=None, n_families=n_families, note=note)


def test_too_few_families_for_any_interval_is_inconclusive_not_no_lift():
    # The figures of a no-lift audit, but neither hold-out has families enough for an interval.
    audit = audit_from_lifts(seen=(0.01, 0.03), unseen=(-0.01, 0.04))
    assert decide(audit, VerdictConfig())["label"] == "no-lift"
    _without_interval(audit, "score", "seen", 3)
    _without_interval(audit, "score", "unseen", 1)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert "cannot tell a lift" in verdict["claim"] and "no detectable improvement" not in verdict["claim"]
    assert "with 5 or fewer families no 95 % sign-flip interval exists" in verdict["claim"]
    assert "at least 6 families" in verdict["to_settle"] and "3 seen, 1 unseen" in verdict["to_settle"]
    assert any("p undefined" in reason and "cannot judge" in reason for reason in verdict["reasons"])
    # The families an interval needs follow the audit's alpha.
    audit["config"] = {"stats": {"alpha": 0.01}}
    assert "at least 8 families" in decide(audit, VerdictConfig())["to_settle"]


def test_one_untestable_hold_out_is_enough_to_withhold_no_lift():
    audit = audit_from_lifts(seen=(0.01, 0.03), unseen=(-0.01, 0.04))
    _without_interval(audit, "score", "unseen", 4)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "inconclusive"
    assert "4 unseen" in verdict["to_settle"] and "seen," not in verdict["to_settle"]


def test_a_clear_seen_lift_and_gap_still_show_memorization_without_an_unseen_interval():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.02, 0.04))
    _without_interval(audit, "score", "unseen", 4)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "memorizes-families"
    assert "No 95 % CI exists for the unseen-family lift (4 families)" in verdict["claim"]


def test_a_defined_audit_carries_no_undefined_sentence():
    verdict = decide(audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03)), VerdictConfig())
    assert "undefined" not in verdict["claim"] and not any("undefined:" in reason for reason in verdict["reasons"])


# -- family-specific parts, the qualifier and the training curves ---------------------------------


def test_a_significant_secondary_gap_is_quoted_beside_a_generalizing_primary():
    # The score's seen lift is not significant, the NLL gap is (+0.27, ratio 0.63): generalizes, small part named.
    audit = audit_from_lifts(seen=(0.04, 0.03), unseen=(0.05, 0.02), nll=((0.73, 0.08), (0.46, 0.10)))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "generalizes" and verdict["qualifier"] is None
    gap = audit["gap"]["nll"]
    assert f"In the reference NLL, {signed(gap['delta'])}" in verdict["claim"]
    assert f"{signed(gap['ci_low'])} to {signed(gap['ci_high'])}" in verdict["claim"]
    assert "about 37 % of the seen-family lift" in verdict["claim"]
    assert [part["metric"] for part in verdict["family_specific"]] == ["nll"]
    assert verdict["family_specific"][0]["share_of_seen_lift"] == pytest.approx(0.27 / 0.73)


def test_a_secondary_ratio_below_the_threshold_qualifies_a_generalizing_verdict():
    audit = audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03), nll=((0.60, 0.05), (0.15, 0.05)))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "generalizes" and verdict["qualifier"] == "partly-family-specific"
    assert "partly family-specific" in verdict["claim"] and "only 25 %" in verdict["claim"]
    # the same figures with the NLL ratio above the threshold: no qualifier
    assert decide(audit, VerdictConfig(min_generalization_ratio=0.2))["qualifier"] is None


def test_no_qualifier_without_a_significant_secondary_gap():
    audit = audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03), nll=((0.30, 0.2), (0.10, 0.2)))
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "generalizes" and verdict["qualifier"] is None and verdict["family_specific"] == []


def test_a_memorizing_claim_quotes_the_share_of_the_lift():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.02, 0.04), nll=None)
    verdict = decide(audit, VerdictConfig())
    assert verdict["label"] == "memorizes-families"
    assert "about 92.3 % of the seen-family lift" in verdict["claim"]  # gap 0.24 of seen lift 0.26


def test_training_curves_reach_the_reasons_and_the_claim():
    audit = audit_from_lifts(seen=(0.26, 0.03), unseen=(0.02, 0.04))
    audit["training_curves"] = {"onset": {"step": 20}, "best_step": 40, "total_steps": 80,
                                "sentence": "The gap opened at step 20 of 80: ..."}
    verdict = decide(audit, VerdictConfig())
    assert "The gap opened at step 20 of 80; the unseen-family loss was lowest at step 40." in verdict["claim"]
    assert any("Over training" in reason and "step 20 of 80" in reason for reason in verdict["reasons"])
    audit["training_curves"] = {"onset": None, "best_step": 80, "total_steps": 80, "sentence": "no lasting gap"}
    assert "step" not in decide(audit_from_lifts(seen=(0.20, 0.03), unseen=(0.16, 0.03), nll=None), VerdictConfig())["claim"]
    assert "lowest at step" not in decide(audit, VerdictConfig())["claim"]


@settings(max_examples=80, deadline=None)
@given(figures, st.tuples(st.floats(0.0, 0.8), st.floats(-0.3, 0.8), st.floats(0.01, 0.15), st.floats(0.01, 0.15)))
def test_every_significant_gap_is_quoted_whatever_the_label(values, nll_values):
    seen, unseen, se_seen, se_unseen = values
    ns, nu, nse, nue = nll_values
    audit = audit_from_lifts((seen, se_seen), (unseen, se_unseen), nll=((ns, nse), (nu, nue)))
    verdict = decide(audit, VerdictConfig())
    for metric, gap in audit["gap"].items():
        significant = gap["delta"] > 0 and gap["p_value"] < 0.05 and gap["ci_low"] > 0
        assert (metric in [part["metric"] for part in verdict["family_specific"]]) == significant
        if significant:
            assert signed(gap["delta"]) in verdict["claim"]


@settings(max_examples=80, deadline=None)
@given(figures, st.floats(0.05, 0.8), st.floats(-0.2, 0.8), st.floats(0.001, 0.4))
def test_a_smaller_secondary_unseen_lift_never_removes_the_qualifier(values, ns, nu, decrease):
    seen, unseen, se_seen, se_unseen = values
    config = VerdictConfig()
    verdict = lambda u: decide(audit_from_lifts((seen, se_seen), (unseen, se_unseen), nll=((ns, 0.05), (u, 0.05))), config)
    before, after = verdict(nu), verdict(nu - decrease)
    if before["label"] == "generalizes" and before["qualifier"] == "partly-family-specific":
        assert after["label"] != "generalizes" or after["qualifier"] == "partly-family-specific"
