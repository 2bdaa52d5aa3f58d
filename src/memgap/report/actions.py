"""What to do next: concrete actions computed from an audit's own figures, each citing its number.

`next_actions(audit)` is a pure function from the audit dict (as saved in audit.json) to a list of
`Action`s. An action appears only when the figure it rests on calls for it; nothing generic is
said. The thresholds below are the whole rule set (docs/report.md lists them with their reasons):

- concentrated families: the largest 10 % of families hold at least `CONCENTRATED_TOP_DECILE_SHARE`
  of the rows, or the effective number of families (inverse Simpson) is below
  `CONCENTRATED_EFFECTIVE_RATIO` of the families counted -> de-augment, collect more originals;
- inconclusive verdict: what its `to_settle` names, from the same fact (`verdict.settle`,
  memgap.verdict_settle.SettleNeed): the families a hold-out needs for any interval where one has too
  few, the unseen families the power analysis asks for where that figure is above the families in
  hand (`power.<primary metric>.families_needed`), or more unseen families where it has no figure;
- leakage: any unseen-family row whose reference nearly duplicates a training completion (completion
  view, similarity at or above the threshold), or any unseen-family row with a sibling in training ->
  move those rows out of that hold-out (seen-family rows share text with siblings by design);
- training curves (`training_curves` with `best_step` and `onset.step`): the lowest unseen-family loss
  comes before the last step -> stop there (the onset, where it exists, says why); an onset with the
  best step at the end -> stop earlier or de-augment;
- update concentration: modules holding at least `MODULE_SHARE_FACTOR` times an even share of the
  squared gradient norm -> look there first (ablate or drop them from the LoRA targets).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memgap.report.formatting import is_number, number, percent
from memgap.verdict_settle import SettleNeed, settle_need

CONCENTRATED_TOP_DECILE_SHARE = 0.5  # the top 10 % of families hold half the rows or more
CONCENTRATED_EFFECTIVE_RATIO = 0.5  # fewer than half as many effective families as counted ones
MODULE_SHARE_FACTOR = 2.0  # a module with twice its even share of the gradient norm (or more)
MAX_MODULES_NAMED = 3


@dataclass(frozen=True)
class Action:
    """One next step: what to do (`title`), why in a sentence (`because`), the figure it rests on.

    `figure` names the audit.json key the number comes from (e.g. `families.largest_10pct_share`),
    `value` is that number as printed in `because`, and `section` the id of the report section that
    shows it.
    """

    kind: str
    title: str
    because: str
    figure: str
    value: str
    section: str


def next_actions(audit: dict[str, Any]) -> list[Action]:
    """The actions the audit's figures call for, most pressing first (leakage, sample size, data, training).

    Parameters: `audit`, an audit.json dict; missing sections simply yield no action. Returns a
    list, possibly empty. Raises nothing on partial or malformed sections (they are skipped).
    """
    actions: list[Action] = []
    for builder in ACTION_BUILDERS:
        actions.extend(builder(audit))
    return actions


def nothing_to_do(audit: dict[str, Any]) -> str:
    """The sentence for an audit whose figures call for no action, naming only the checks it could make."""
    checked = ["no leakage", "no concentrated families"]
    if _settle(audit) is None:  # an inconclusive verdict's question stays open whatever the power analysis says
        checked.append("no open question the power analysis could settle")
    if _dict(_dict(audit.get("gradients")).get("by_module")):
        checked.append("no update concentrated in a few modules")
    return "Nothing in this audit's figures calls for an action: " + ", ".join(checked) + "."


def leakage_actions(audit: dict[str, Any]) -> list[Action]:
    """Unseen-family rows that overlap training: a training sibling, or a reference that nearly duplicates a
    training completion.

    Only the unseen-family hold-out is judged: seen-family rows share text with their training siblings by
    design. Shared 13-word spans alone do not call for an action: in a house style every family repeats the
    same phrases (they are shown in the split section); a near-duplicate reference (similarity at or above
    the leakage audit's threshold, in the completion view) is a family that the split did not keep apart.
    """
    leakage = _dict(_dict(audit.get("split")).get("leakage"))
    actions = []
    for holdout in ("unseen_holdout",):
        report = _dict(leakage.get(holdout))
        # The completion view: the reference completion (what the model learns and is scored on) against
        # training completions, boilerplate left out, as decontamination intends.
        completion = _dict(report.get("completion_view"))
        near = completion.get("eval_rows_above_similarity_count")
        if is_number(near) and near > 0:
            actions.append(Action(
                "leakage", f"Check the {_rows(near, 'unseen-family row')} whose reference is close to a training "
                "completion: if they are one family, merge the families or move the rows out of that hold-out",
                f"{number(near)} of {number(report.get('eval_rows'))} references "
                f"({percent(completion.get('eval_rows_above_similarity'))}) reach the leakage audit's similarity "
                f"threshold {number(report.get('similarity_threshold'))} to a training completion; where the split "
                "kept rows of one family apart, the unseen lift is partly a seen one.",
                f"split.leakage.{holdout}.completion_view.eval_rows_above_similarity_count", number(near), "split"))
        siblings = report.get("eval_rows_with_train_sibling_count")
        if holdout == "unseen_holdout" and is_number(siblings) and siblings > 0:
            actions.append(Action(
                "leakage", f"Move the {_rows(siblings, 'unseen-family row')} with a training sibling out of that hold-out",
                f"{_rows(siblings)} ({percent(report.get('eval_rows_with_train_sibling'))}) of families held out "
                f"whole {_verb(siblings, 'has', 'have')} a family member in training, so the unseen lift is partly "
                "a seen one.",
                f"split.leakage.{holdout}.eval_rows_with_train_sibling_count", number(siblings), "split"))
    return actions


def power_actions(audit: dict[str, Any]) -> list[Action]:
    """An inconclusive verdict: the families that would settle it, from the fact its `to_settle` words."""
    need = _settle(audit)
    if need is None:
        return []
    metric = _dict(audit.get("verdict")).get("primary_metric") or "score"
    observational = audit.get("protocol") == "observational"
    unseen = "families without a training sibling" if observational else "unseen families"
    if need.reason == "interval":
        actions = [_interval_action(need, metric, observational)]
        return actions + (_power_action(need, metric, observational) if need.more_families_needed else [])
    if need.reason == "more-families":
        have = f" ({number(need.unseen_families)} now)" if need.unseen_families is not None else ""
        return [Action(
            "power", f"Evaluate on more {unseen}, or run several seeds, to settle the verdict",
            f"The verdict is inconclusive and the power analysis gives no finite number of families that would "
            f"settle it (the observed gap is too small or missing): add {unseen}{have}.",
            f"lifts.{metric}.unseen.n_families", number(need.unseen_families), "power")]
    return _power_action(need, metric, observational)


def _interval_action(need: SettleNeed, metric: str, observational: bool) -> Action:
    """A hold-out with too few families for any interval: the families an interval needs."""
    where, have = next(iter(need.short_holdouts.items()))
    shown = ", ".join(f"{n} {part}" for part, n in need.short_holdouts.items())
    part = "part" if observational else "hold-out"
    return Action(
        "power", f"Add distinct families: at least {need.interval_families} in each {part} to settle the verdict",
        f"No interval or p-value exists with fewer than {need.interval_families} families in a {part} (this audit "
        f"has {shown}); add new originals, not more variants of the same ones.",
        f"lifts.{metric}.{where}.n_families", str(have), "lifts")


def _power_action(need: SettleNeed, metric: str, observational: bool) -> list[Action]:
    """The unseen families the power analysis asks for, where they are more than the audit holds."""
    needed, have = need.more_families_needed, need.unseen_families
    if needed is None:
        return []
    if observational:
        held = f"; this eval set has {number(have)}" if is_number(have) else ""
        return [Action(
            "power", f"Evaluate on about {needed} families without a training sibling to settle the verdict",
            f"The power analysis needs {needed} families without a training sibling to detect the observed gap{held}.",
            f"power.{metric}.families_needed", str(needed), "power")]
    held = f"; this audit holds out {number(have)}" if is_number(have) else ""
    return [Action(
        "power", f"Hold out about {needed} unseen families to settle the verdict",
        f"The power analysis needs {needed} unseen families to detect the observed gap{held}.",
        f"power.{metric}.families_needed", str(needed), "power")]


def concentration_actions(audit: dict[str, Any]) -> list[Action]:
    """A few families hold most rows: de-augment them or collect more originals."""
    families = _dict(audit.get("families"))
    top = families.get("largest_10pct_share")
    effective = _dict(families.get("effective_families")).get("inverse_simpson")
    counted = families.get("families")
    concentrated_top = is_number(top) and top >= CONCENTRATED_TOP_DECILE_SHARE
    concentrated_effective = (is_number(effective) and is_number(counted) and counted > 0
                              and effective < CONCENTRATED_EFFECTIVE_RATIO * counted)
    if not (concentrated_top or concentrated_effective):
        return []
    if concentrated_top:
        because = (f"The largest 10 % of families hold {percent(top)} of the rows: the adapter sees a few originals "
                   "many times, and hold-outs drawn from them say little about new ones.")
        figure, value = "families.largest_10pct_share", percent(top)
    else:
        because = (f"The rows count as {number(effective)} evenly sized families out of {number(counted)} "
                   "(inverse Simpson): most rows are augmentations of a few originals.")
        figure, value = "families.effective_families.inverse_simpson", number(effective)
    return [Action("concentration", "De-augment the largest families, or collect more originals", because, figure, value, "data")]


def training_actions(audit: dict[str, Any]) -> list[Action]:
    """Training curves (audit.json's `training_curves`) with an onset or a best step before the last step: stop there."""
    curves = _dict(audit.get("training_curves"))
    last = curves.get("total_steps")
    if not is_number(last):
        last = _dict(audit.get("training")).get("steps")
    best, onset = curves.get("best_step"), _dict(curves.get("onset")).get("step")
    if not is_number(last):
        return []
    if is_number(best) and _dict(curves.get("stopping")).get("restored_step") == best:
        return []  # training.stop_at already stopped there and audited that step's weights
    if is_number(best) and best < last:
        # The step to stop at is the lowest unseen-family loss (docs/curves.md); the onset says why.
        because = f"The unseen-family loss is lowest at step {int(best)} of {int(last)}"
        because += (f"; the memorization gap opened at step {int(onset)}." if is_number(onset) and onset < last
                    else "; later steps do not improve it.")
        return [Action("training", f"Stop training at step {int(best)}", because,
                       "training_curves.best_step", str(int(best)), "training")]
    if is_number(onset) and onset < last:
        return [Action(
            "training", "Stop earlier, or de-augment",
            f"The gap between seen and unseen families opened at step {int(onset)} of {int(last)} while the "
            "unseen-family loss still fell to the end: the later steps taught the trained families more than the rest.",
            "training_curves.onset.step", str(int(onset)), "training")]
    return []


def module_actions(audit: dict[str, Any]) -> list[Action]:
    """Modules that took far more than an even share of the squared pre-clip gradient norm.

    Only with gradient data (gradnorms.csv). The figure is training pressure, not the update: where
    the realised update summary exists its largest share by group is cited beside it, so the two
    are read together rather than one taken for the other.
    """
    by_module = {name: share for name, share in _dict(_dict(audit.get("gradients")).get("by_module")).items()
                 if is_number(share)}
    if len(by_module) < 2:
        return []
    even = 1.0 / len(by_module)
    heavy = sorted((name for name, share in by_module.items() if share >= MODULE_SHARE_FACTOR * even),
                   key=lambda name: -by_module[name])[:MAX_MODULES_NAMED]
    if not heavy:
        return []
    shares = ", ".join(f"{name} {percent(by_module[name])}" for name in heavy)
    total = sum(by_module[name] for name in heavy)
    update_groups = {group: share for group, share in _dict(_dict(audit.get("updates")).get("by_group")).items()
                     if is_number(share)}
    update = ""
    if update_groups:
        group, share = max(update_groups.items(), key=lambda item: item[1])
        update = (f" The realised update is a different measure: {percent(share)} of ‖ΔW‖² sits in the {group} "
                  "modules (see Realised update).")
    return [Action(
        "modules", f"Look at {', '.join(heavy)} first: the training pressure concentrated there",
        f"{shares} of the squared pre-clip gradient norm over training, against an even share of {percent(even)} per "
        f"module.{update} Ablate them or drop them from the LoRA targets to see whether the lift depends on them.",
        f"gradients.by_module.{heavy[0]}", percent(total), "gradients")]


# New actions slot in here; the order is the order the reader sees them in.
ACTION_BUILDERS = (leakage_actions, power_actions, concentration_actions, training_actions, module_actions)


def _settle(audit: dict[str, Any]) -> SettleNeed | None:
    """The fact behind an inconclusive verdict's `to_settle` (audit.json `verdict.settle`); None for a decided
    verdict. An audit written before the fact was recorded gets it from its own figures, by the same rule."""
    verdict = _dict(audit.get("verdict"))
    if verdict.get("label") != "inconclusive":
        return None
    if "settle" in verdict:
        return SettleNeed.from_dict(verdict["settle"])
    return settle_need(audit, verdict.get("primary_metric") or "score")


def _rows(count: float, noun: str = "row") -> str:
    return f"{number(count)} {noun}" + ("" if count == 1 else "s")


def _verb(count: float, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
