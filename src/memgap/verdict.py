"""The rules from an audit's figures to a label and the strongest claim the evidence supports.

`decide(audit, config)` is a pure function of the audit dict (the `lifts`, `gap`,
`generalization_ratio`, `probes`, `power` and `data` sections of audit.json). It returns
`{label, claim, reasons, to_settle, settle, primary_metric, ...}`: `settle` is the fact behind an
inconclusive verdict's `to_settle` (`memgap.verdict_settle.SettleNeed`; null otherwise), which the
report's next actions read too.

A lift is *significantly positive* when its point estimate is above zero, its p-value is below
`alpha` and its lower confidence bound is above zero: both the test and the interval must agree
before a claim rests on it. Labels, in the order the rules are tried, on the primary metric:

1. `no-lift`: neither the seen-family nor the unseen-family lift is significantly positive, and
   both could have been (each has an interval and a p-value). Where one of them has none (too few
   families for the sign-flip test to reject anything), the data cannot tell a lift from none and
   the label is `inconclusive`; `to_settle` says how many families an interval needs.
2. `memorizes-families`: the seen-family lift and the gap (seen minus unseen lift) are both
   significantly positive, and either the unseen lift is not significantly positive, or the
   generalization ratio (unseen / seen lift) is below `min_generalization_ratio`, or the adapter
   copies training-sibling text more than the base model by over `max_copy_rate_excess` (and, where
   the probes recorded its family-clustered interval, significantly more than the base model).
3. `generalizes`: the unseen-family lift is significantly positive, the ratio is at least
   `min_generalization_ratio` (where the ratio is undefined because the seen lift is not
   distinguishable from zero, the gap must not be significantly positive instead), and the secondary metric's unseen lift is not significantly negative.
   A significant gap that survives these rules is stated in the claim as family-specific extra.
   Where the secondary metric's gap is significantly positive and its ratio is below
   `min_generalization_ratio`, the label stays `generalizes` with the qualifier
   `partly-family-specific`.
4. `inconclusive`: everything else (typically a seen lift whose gap the data are too small to
   resolve). `to_settle` then names the evidence that would decide, from `audit["power"]`.

The claim sentence quotes the numbers it rests on and never says more than its label allows. Every
significantly positive gap, on the primary or the secondary metric, is quoted in the claim whatever
the label (`family_specific`: its size, interval and share of the seen-family lift). With
`training_curves` in the audit, the reasons carry their sentence, and the claim says where the gap
opened and where the unseen-family loss was lowest when the curves found an onset or a family-specific part.
docs/verdict.md holds the same rules with worked examples.
"""
from __future__ import annotations

import math
from typing import Any

from memgap.config import VerdictConfig
from memgap.report.formatting import is_number, percent_number, plain, points, signed, signed_points
from memgap.verdict_figures import copy_excess as _copy_excess
from memgap.verdict_figures import copy_interval as _copy_interval
from memgap.verdict_figures import copy_uncertainty
from memgap.verdict_figures import families_text as _families
from memgap.verdict_figures import metric_name as _metric_name
from memgap.verdict_figures import p_phrase as _p
from memgap.verdict_figures import ratio as _ratio
from memgap.verdict_figures import secondary as _secondary
from memgap.verdict_figures import undefined_note as _undefined_note
from memgap.verdict_figures import usable as _usable
from memgap.verdict_settle import SettleNeed, settle_need, settle_sentence

LABELS = ("generalizes", "memorizes-families", "no-lift", "inconclusive")
QUALIFIERS = ("partly-family-specific",)


def decide(audit: dict[str, Any], config: VerdictConfig | None = None) -> dict[str, Any]:
    """Label an audit and write its claim; see the module docstring for the rules."""
    config = config or VerdictConfig()
    metric = config.primary_metric
    lifts = (audit.get("lifts") or {}).get(metric) or {}
    seen, unseen = lifts.get("seen"), lifts.get("unseen")
    if not _usable(seen) or not _usable(unseen):
        return _result(
            "inconclusive",
            f"The audit holds no usable {_metric_name(metric, audit)} lifts on both hold-outs, so it supports no claim.",
            [f"lifts.{metric}.seen and lifts.{metric}.unseen must both hold a delta"],
            f"Evaluate base and adapter on both hold-outs with the '{metric}' metric.",
            metric,
        )
    gap = (audit.get("gap") or {}).get(metric)
    facts = _Facts(audit, config, metric, seen, unseen, gap)
    if not facts.seen_positive and not facts.unseen_positive:
        return facts.too_few_families() if facts.untestable else facts.no_lift()
    if facts.seen_positive and facts.gap_positive and (
        not facts.unseen_positive or not facts.ratio_ok or facts.copying
    ):
        return facts.memorizes()
    if facts.unseen_positive and facts.ratio_ok and not facts.secondary_contradicts:
        return facts.generalizes()
    return facts.inconclusive()


class _Facts:
    """The figures one verdict reads, the tests on them, and the sentences built from them."""

    def __init__(self, audit, config: VerdictConfig, metric: str, seen, unseen, gap):
        self.audit, self.config, self.metric = audit, config, metric
        self.seen, self.unseen, self.gap = seen, unseen, gap
        self.name = _metric_name(metric, audit)
        self.alpha_ci = float(((audit.get("config") or {}).get("stats") or {}).get("alpha", config.alpha))
        self.ci = f"{percent_number((1 - self.alpha_ci) * 100)} % CI"
        self.seen_positive = self._positive(seen)
        self.unseen_positive = self._positive(unseen)
        # Primary lifts the test could not judge (no interval or p-value): no claim of "no lift" rests on them.
        self.untestable = [where for where, s in (("seen", seen), ("unseen", unseen)) if _undefined_note(s)]
        self.gap_positive = _usable(gap) and self._positive(gap)  # no estimated gap: no test on it
        self.ratio = _ratio(audit, metric, seen, unseen)
        if self.ratio is None:  # seen lift not distinguishable from zero: ask only that unseen is not clearly below it
            self.ratio_ok = unseen["delta"] > 0 and not self.gap_positive
        else:
            self.ratio_ok = self.ratio >= config.min_generalization_ratio
        self.copy_excess = _copy_excess(audit)
        self.copy_interval = _copy_interval(audit)
        self.copy_significant = self.copy_interval is None or self._positive(self.copy_interval)
        self.copying = (self.copy_excess is not None and self.copy_excess > config.max_copy_rate_excess
                        and self.copy_significant)
        self.secondary_metric, self.secondary = _secondary(audit, metric)
        self.secondary_contradicts = self.secondary is not None and self._negative(self.secondary)
        self.family_specific = self._family_specific_parts()
        secondary_part = next((part for part in self.family_specific if part["metric"] != metric), None)
        self.secondary_partly = (secondary_part is not None and secondary_part["ratio"] is not None
                                 and secondary_part["ratio"] < config.min_generalization_ratio)
        self.curves = audit.get("training_curves") if isinstance(audit.get("training_curves"), dict) else None
        self.reasons = self._reasons()

    # -- tests -------------------------------------------------------------------------------

    def _positive(self, s: dict) -> bool:
        ci_low = s.get("ci_low")
        return (
            s["delta"] > 0
            and is_number(s.get("p_value")) and s["p_value"] < self.config.alpha
            and (ci_low is None or ci_low > 0)
        )

    def _negative(self, s: dict) -> bool:
        ci_high = s.get("ci_high")
        return (
            s["delta"] < 0
            and is_number(s.get("p_value")) and s["p_value"] < self.config.alpha
            and (ci_high is None or ci_high < 0)
        )

    # -- sentences ---------------------------------------------------------------------------

    def _lift(self, s: dict, *, families: bool = True) -> str:
        parts = [signed(s["delta"])]
        inner = []
        if s.get("ci_low") is not None and s.get("ci_high") is not None:
            inner.append(f"{self.ci} {signed(s['ci_low'])} to {signed(s['ci_high'])}")
        else:
            inner.append(f"{self.ci} undefined")
        if families and s.get("n_families") is not None:
            inner.append(_families(s["n_families"]))
        if inner:
            parts.append(f"({', '.join(inner)})")
        return " ".join(parts)

    def _copying_sentence(self) -> str:
        return (f" Its generations copy training-sibling text {points(self.copy_excess)} more often than the base "
                f"model's{self._copy_uncertainty()}.")

    def _copy_uncertainty(self) -> str:
        return copy_uncertainty(self.copy_interval, ci=self.ci)

    def _reasons(self) -> list[str]:
        alpha = plain(self.config.alpha)
        def judged(where: str, positive: bool) -> str:
            if positive:
                return "significantly positive"
            if where in self.untestable:
                return "the test cannot judge it (no interval or p-value)"
            return f"not significantly positive at alpha {alpha}"

        reasons = [
            f"Seen-family lift in {self.name}: {self._lift(self.seen)}, {_p(self.seen)}; "
            + judged("seen", self.seen_positive) + ".",
            f"Unseen-family lift in {self.name}: {self._lift(self.unseen)}, {_p(self.unseen)}; "
            + judged("unseen", self.unseen_positive) + ".",
        ]
        if _usable(self.gap):
            reasons.append(
                f"Memorization gap (seen minus unseen lift): {self._lift(self.gap, families=False)}, {_p(self.gap)}; "
                + ("significantly positive." if self.gap_positive else
                   "the test cannot judge it (no interval or p-value)." if _undefined_note(self.gap) else
                   "not significantly positive.")
            )
        if self.ratio is not None:
            reasons.append(
                f"Generalization ratio (unseen / seen lift): {self.ratio:.2f}, "
                + ("at or above" if self.ratio_ok else "below")
                + f" the threshold {plain(self.config.min_generalization_ratio)}."
            )
        else:
            why = ("the seen-family lift has no interval" if "seen" in self.untestable
                   else "the seen-family lift is not distinguishable from zero")
            reasons.append(f"Generalization ratio undefined ({why}).")
        if self.copy_excess is not None:
            above = self.copy_excess > self.config.max_copy_rate_excess
            reasons.append(
                f"Sibling copy rate, adapter minus base: {signed_points(self.copy_excess)}{self._copy_uncertainty()}; "
                + ("above" if above else "within")
                + f" the allowed excess of {points(self.config.max_copy_rate_excess)}"
                + ("" if self.copy_significant else
                   f", but not significantly above the base model's rate at alpha {alpha}, so not counted as copying")
                + "."
            )
        if self.secondary is not None:
            secondary_name = _metric_name(self.secondary_metric, self.audit)
            reasons.append(
                f"Secondary metric, {secondary_name}: unseen-family lift {self._lift(self.secondary)}, {_p(self.secondary)}"
                + ("; it points the other way." if self.secondary_contradicts else ".")
            )
        for where, s in (("seen-family lift", self.seen), ("unseen-family lift", self.unseen),
                         ("memorization gap", self.gap)):
            why = _undefined_note(s)
            if why:
                reasons.append(f"The {where}'s interval or p-value is undefined: {why}.")
        if self.curves is not None and self.curves.get("sentence"):
            reasons.append("Over training (seen- and unseen-family NLL at evaluation points): " + self.curves["sentence"])
        if "nll" in (self.metric, self.secondary_metric):
            reasons.append("NLL lifts are reductions in nats per reference token; positive means the adapter is better.")
        return reasons

    def no_lift(self) -> dict[str, Any]:
        worse = [
            where for where, s in (("families it trained on", self.seen), ("families it never saw", self.unseen))
            if self._negative(s)
        ]
        bound = max(self.seen.get("ci_high") or 0.0, self.unseen.get("ci_high") or 0.0)
        claim = (
            f"The adapter shows no detectable improvement in {self.name}: {self._lift(self.seen)} on held-out "
            f"members of families it trained on and {self._lift(self.unseen)} on families it never saw."
        )
        if worse:
            claim += f" It is significantly worse on {' and '.join(worse)}."
        elif bound > 0:
            claim += f" Lifts up to {signed(bound)} are not ruled out."
        claim += self._undefined_sentence()
        claim += self._family_specific_claim(include_primary=True) + self._curves_claim()
        return self._labelled("no-lift", claim, None)

    def too_few_families(self) -> dict[str, Any]:
        """Neither lift significantly positive, and at least one the test could not judge at all."""
        claim = (
            f"The data cannot tell a lift in {self.name} from none: {self._lift(self.seen)} on held-out members of "
            f"families it trained on and {self._lift(self.unseen)} on families it never saw."
        )
        claim += self._undefined_sentence()
        claim += self._family_specific_claim(include_primary=True) + self._curves_claim()
        return self._settled(claim)

    def memorizes(self) -> dict[str, Any]:
        claim = (
            f"The adapter improves {self.name} by {self._lift(self.seen)} on held-out members of families it "
            f"trained on, but by {self._lift(self.unseen)} on families it never saw; the gap of "
            f"{self._lift(self.gap, families=False)}{self._share(self.metric)} says the lift is largely specific to "
            "the training families."
        )
        if self.copying:
            claim += self._copying_sentence()
        claim += self._undefined_sentence()
        claim += self._family_specific_claim(include_primary=False) + self._curves_claim()
        claim += (
            " Model-card sentence: \"We improved the policy on this distribution; we have not shown that it "
            "generalizes beyond the augmentation families.\""
        )
        to_settle = (
            "Whether the behaviour transfers: retrain with more distinct families and fewer augmentations per "
            "family, then re-audit and compare the unseen-family lift (memgap compare)."
        )
        return self._labelled("memorizes-families", claim, to_settle)

    def generalizes(self) -> dict[str, Any]:
        claim = f"On families it never saw, the adapter improves {self.name} by {self._lift(self.unseen)}"
        if self.ratio is not None and self.seen_positive and math.isfinite(self.ratio):
            claim += (
                f", {percent_number(self.ratio * 100)} % of its lift on held-out members of families it trained on "
                f"({signed(self.seen['delta'])})"
            )
        else:  # a ratio over a seen lift indistinguishable from zero would mean nothing
            claim += f", against {signed(self.seen['delta'])} on held-out members of families it trained on"
        claim += "; the behaviour carries over beyond the augmentation families in this data."
        if self.gap_positive:
            claim += (
                f" A further {self._lift(self.gap, families=False)}{self._share(self.metric)} on trained families is "
                "specific to those families."
            )
        claim += self._family_specific_claim(include_primary=False)
        qualifier = None
        if self.secondary_partly:
            qualifier = "partly-family-specific"
            part = next(part for part in self.family_specific if part["metric"] != self.metric)
            claim += (f" The lift is partly family-specific: in {_metric_name(part['metric'], self.audit)} only "
                      f"{percent_number(part['ratio'] * 100)} % of the lift on trained families carries over to unseen "
                      f"families (threshold {percent_number(self.config.min_generalization_ratio * 100)} %).")
        if self.copying:
            claim += self._copying_sentence()
        claim += self._undefined_sentence()
        claim += self._curves_claim()
        return self._labelled("generalizes", claim, None, qualifier=qualifier)

    def inconclusive(self) -> dict[str, Any]:
        if self.secondary_contradicts and self.unseen_positive:
            claim = (
                f"On families it never saw, the adapter improves {self.name} by {self._lift(self.unseen)}, but "
                f"{_metric_name(self.secondary_metric, self.audit)} moves the other way "
                f"({self._lift(self.secondary)}); the audit cannot say the behaviour generalizes."
            )
            to_settle = "Which metric reflects the behaviour: inspect the examples and the scorer's checks."
            claim += self._family_specific_claim(include_primary=True) + self._curves_claim()
            return self._labelled("inconclusive", claim, to_settle)
        strongest = self.seen if self.seen_positive else self.unseen
        where = "held-out members of families it trained on" if self.seen_positive else "families it never saw"
        claim = (
            f"The adapter improves {self.name} by {self._lift(strongest)} on {where}, but the data cannot tell "
            f"whether this carries over to new families: unseen-family lift {self._lift(self.unseen)}, gap "
            f"{self._lift(self.gap, families=False) if _usable(self.gap) else 'not estimated'}."
        )
        claim += self._undefined_sentence()
        claim += self._family_specific_claim(include_primary=False) + self._curves_claim()
        return self._settled(claim)

    # -- family-specific parts and training curves -------------------------------------------

    def _labelled(self, label: str, claim: str, to_settle: str | None, *, qualifier: str | None = None,
                  settle: SettleNeed | None = None) -> dict[str, Any]:
        parts = [{key: part[key] for key in ("metric", "gap", "share_of_seen_lift")} for part in self.family_specific]
        claim += intrusion_sentence(self.audit)
        return _result(label, claim, self.reasons, to_settle, self.metric, qualifier=qualifier, family_specific=parts,
                       settle=settle)

    def _settled(self, claim: str) -> dict[str, Any]:
        """Inconclusive, with `to_settle` worded from the one fact the report's next action also reads."""
        need = settle_need(self.audit, self.metric, alpha=self.alpha_ci, gap=self.gap)
        return self._labelled("inconclusive", claim, settle_sentence(need, ci=self.ci, name=self.name), settle=need)

    def _family_specific_parts(self) -> list[dict[str, Any]]:
        """Every metric whose gap is significantly positive: the gap, its share of the seen lift, the ratio."""
        parts = []
        lifts, gaps = self.audit.get("lifts") or {}, self.audit.get("gap") or {}
        for metric in [self.metric] + sorted(m for m in lifts if m != self.metric):
            block = lifts.get(metric) or {}
            seen, unseen, gap = block.get("seen"), block.get("unseen"), gaps.get(metric)
            if not (_usable(seen) and _usable(unseen) and _usable(gap)) or not self._positive(gap):
                continue
            share = gap["delta"] / seen["delta"] if self._positive(seen) else None  # no share of an unresolved lift
            parts.append({"metric": metric, "gap": gap, "share_of_seen_lift": share,
                          "ratio": _ratio(self.audit, metric, seen, unseen)})
        return parts

    def _share(self, metric: str) -> str:
        part = next((part for part in self.family_specific if part["metric"] == metric), None)
        if part is None or part["share_of_seen_lift"] is None:
            return ""
        return f", about {percent_number(part['share_of_seen_lift'] * 100)} % of the seen-family lift,"

    def _family_specific_claim(self, *, include_primary: bool) -> str:
        """A sentence for each significantly positive gap the claim has not quoted yet."""
        text = ""
        for part in self.family_specific:
            if part["metric"] == self.metric and not include_primary:
                continue
            text += (f" In {_metric_name(part['metric'], self.audit)}, {self._lift(part['gap'], families=False)}"
                     f"{self._share(part['metric'])} is specific to the trained families ({_p(part['gap'])}).")
        return text

    def _curves_claim(self) -> str:
        """'The gap opened at step S of T; the unseen-family loss was lowest at step B.' where it matters."""
        if self.curves is None:
            return ""
        onset, best, total = self.curves.get("onset"), self.curves.get("best_step"), self.curves.get("total_steps")
        if onset is not None:
            return f" The gap opened at step {onset['step']} of {total}; the unseen-family loss was lowest at step {best}."
        if self.family_specific and best is not None and total is not None and best < total:
            return f" The unseen-family loss was lowest at step {best} of {total}."
        return ""

    def _undefined_sentence(self) -> str:
        """' No 95 % CI exists for the unseen-family lift (4 families): with 5 or fewer families ...' or ''."""
        figures, reasons = [], []
        for where, s in (("seen-family lift", self.seen), ("unseen-family lift", self.unseen), ("gap", self.gap)):
            why = _undefined_note(s)
            if why:
                families = s.get("n_families") if where != "gap" else None
                figures.append(f"the {where}" + (f" ({_families(families)})" if families is not None else ""))
                reason = _rule(why)  # the rule, without the per-hold-out detail the reasons list keeps
                if reason not in reasons:
                    reasons.append(reason)
        if not figures:
            return ""
        listed = figures[0] if len(figures) == 1 else ", ".join(figures[:-1]) + " or " + figures[-1]
        return (f" No {self.ci} exists for {listed}: {'; '.join(reasons)}. A lift of this size could not have been "
                "declared significant here; add families before reading this as evidence either way.")



def _rule(note: str) -> str:
    """An undefined figure's note up to its first colon outside parentheses, a parenthesis cut at its own
    colon and closed: a pooled note ('2 of 3 seeds have no interval (with 5 or fewer ...: this hold-out
    has 4, ...), so ...') keeps its parentheses balanced."""
    kept, depth, skip_to_depth = [], 0, None  # skip_to_depth: inside a cut parenthesis, skip until it closes
    for character in note:
        if character == "(":
            depth += 1
        elif character == ")":
            depth = max(depth - 1, 0)
            if skip_to_depth is not None and depth < skip_to_depth:
                skip_to_depth = None
                continue  # the ")" that closes a cut parenthesis was written at the cut
        elif character == ":" and skip_to_depth is None:
            if depth == 0:
                break
            kept.append(")" * depth)
            skip_to_depth = 1
            continue
        if skip_to_depth is None:
            kept.append(character)
    text = "".join(kept).rstrip()
    return text + ")" * (text.count("(") - text.count(")"))


def _result(label: str, claim: str, reasons: list[str], to_settle: str | None, metric: str, *,
            qualifier: str | None = None, family_specific: list[dict] | None = None,
            settle: SettleNeed | None = None) -> dict[str, Any]:
    assert label in LABELS and qualifier in (None, *QUALIFIERS)
    return {"label": label, "claim": claim, "reasons": list(reasons), "to_settle": to_settle,
            "settle": settle.to_dict() if settle is not None else None, "primary_metric": metric,
            "qualifier": qualifier, "family_specific": list(family_specific or [])}


def intrusion_sentence(audit: dict[str, Any]) -> str:
    """A sentence for the claim when the adapter significantly stamps training spans on off-task answers
    (audit.json's probes.template_intrusion, memgap.probes.intrusion); empty otherwise."""
    intrusion = (audit.get("probes") or {}).get("template_intrusion") or {}
    if not intrusion.get("significant"):
        return ""
    rates, difference = intrusion.get("intrusion_rate") or {}, intrusion.get("adapter_minus_base") or {}
    return (f" Off its task it intrudes: {100 * rates.get('adapter', 0):.0f} % of its answers to {intrusion.get('n_prompts')} "
            f"off-task prompts carry spans of the training completions, against {100 * rates.get('base', 0):.0f} % of the "
            f"base's (p = {difference.get('p_value', float('nan')):.3g}).")
