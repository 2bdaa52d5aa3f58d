"""The observational protocol: a user's own train/eval pair, eval rows partitioned after the fact.

Without memgap's randomized nested split, the closest question the data can answer is whether the
adapter gains more on eval rows that have a training sibling (same declared or inferred family:
the "seen" part) than on rows that have none (the "unseen" part). Nobody assigned families to the
two parts at random, so the parts may differ in difficulty, length or topic, and the gap mixes
memorization with those differences. The audit therefore reports the base model's score and NLL on
each part with a family-clustered test of their difference (evidence on comparability), and words
its claim for an observational partition.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memgap.data.records import Record
from memgap.errors import MemgapError
from memgap.evaluation.rows import HOLDOUTS, EvaluationRow


@dataclass(frozen=True)
class Partition:
    """Training rows and the eval rows split by whether a training sibling exists."""

    train: list[Record]
    with_sibling: list[Record]  # the "seen" part
    without_sibling: list[Record]  # the "unseen" part
    family_source: str  # declared | inferred


def partition_eval_rows(train: Sequence[Record], evaluation: Sequence[Record], *, infer: bool,
                        family_field: str = "family") -> Partition:
    """Assign families (read from `family_field`, or inferred on train and eval together) and split
    the eval rows into those whose family has training rows and those whose family has none.

    Ids that occur on both sides (files without an id column both number their rows `row-N`) are
    prefixed `train/` and `eval/` so every row stays addressable. Raises MemgapError when a part is
    empty: the gap then has nothing to compare.
    """
    from memgap.families import assign_families

    if not train or not evaluation:
        raise MemgapError(f"an observational audit needs training and eval rows (train {len(train)}, eval {len(evaluation)})")
    train, evaluation = _distinct_ids(train, evaluation)
    labelled, source = assign_families([*train, *evaluation], infer=infer, family_field=family_field)
    train, evaluation = labelled[: len(train)], labelled[len(train):]
    trained_families = {record.family for record in train}
    with_sibling = [record for record in evaluation if record.family in trained_families]
    without_sibling = [record for record in evaluation if record.family not in trained_families]
    if not with_sibling or not without_sibling:
        empty = "with" if not with_sibling else "without"
        raise MemgapError(
            f"no eval row {empty} a training sibling ({source} families: {len(with_sibling)} with, "
            f"{len(without_sibling)} without), so there is no gap to measure; "
            + ("pass --infer to infer near-duplicate families" if not infer and not with_sibling else
               "use `memgap split --strategy nested` for an audit with both hold-outs")
        )
    return Partition(list(train), with_sibling, without_sibling, source)


def _distinct_ids(train: Sequence[Record], evaluation: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    if not {r.id for r in train} & {r.id for r in evaluation}:
        return list(train), list(evaluation)
    return ([dataclasses.replace(r, id=f"train/{r.id}") for r in train],
            [dataclasses.replace(r, id=f"eval/{r.id}") for r in evaluation])


def comparability(rows: Sequence[EvaluationRow], *, alpha: float) -> dict[str, Any]:
    """The base model's mean score and NLL on each part, and the family-clustered difference.

    `rows` are the audit's evaluation rows (the base model's seen and unseen ones are read). The difference (seen part
    minus unseen part) uses the same Welch test on CR2 family-clustered variances as the gap
    (memgap.stats.clustered_mean_difference): the parts share no family, so they are independent
    samples of families. A significant difference says the parts are not alike before training.
    """
    from memgap.stats.gap import clustered_mean_difference

    base: dict[str, Any] = {}
    for metric in ("score", "nll"):
        parts = {holdout: [(row.metric(metric), str(row.family)) for row in rows
                           if row.model == "base" and row.holdout == holdout and row.metric(metric) is not None]
                 for holdout in HOLDOUTS}
        if not parts["seen"] or not parts["unseen"]:
            continue
        (seen_values, seen_families), (unseen_values, unseen_families) = (zip(*parts["seen"]), zip(*parts["unseen"]))
        difference = clustered_mean_difference(np.asarray(seen_values, float), list(seen_families),
                                               np.asarray(unseen_values, float), list(unseen_families), alpha=alpha)
        base[metric] = {"seen": float(np.mean(seen_values)), "unseen": float(np.mean(unseen_values)),
                        "difference": difference.to_dict()}
    differing = [metric for metric, entry in base.items()
                 if entry["difference"]["p_value"] is not None and entry["difference"]["p_value"] < alpha]
    if differing:
        sentence = (f"Before training, the base model already differs between the parts in {' and '.join(differing)} "
                    f"(p < {alpha:g}): the parts are not alike, and the gap mixes memorization with that difference.")
    else:
        sentence = (f"Before training, the base model does not differ detectably between the parts (no p < {alpha:g}); "
                    "this is weak evidence that they are comparable, not a substitute for randomization.")
    return {"base": base, "differing_metrics": differing, "sentence": sentence}


def reword_verdict(verdict: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
    """The verdict of an observational audit: the parts named for what they are, and the claim
    limited to an association, since the partition was not randomized."""
    replacements = (
        ("held-out members of families it trained on", "eval rows with a training sibling"),
        ("families it trained on", "eval rows with a training sibling"),
        ("families it never saw", "eval rows without a training sibling"),
        ("Seen-family lift", "Lift on eval rows with a training sibling"),
        ("Unseen-family lift", "Lift on eval rows without a training sibling"),
        ("the seen-family lift", "the lift on rows with a sibling"),
        ("on trained families is specific to those families", "on rows with a training sibling is specific to them"),
        ("specific to the training families", "specific to rows with a training sibling"),
        ("carries over to new families", "carries over to rows without a training sibling"),
        # Generic names last, "unseen" before "seen" (a substring of it).
        ("unseen-family lift", "lift on rows without a training sibling"),
        ("seen-family lift", "lift on rows with a training sibling"),
        ("unseen-family hold-out", "eval rows without a training sibling"),
        ("seen-family hold-out", "eval rows with a training sibling"),
        ("unseen families", "rows without a training sibling"),
    )
    claim = verdict["claim"]
    reasons = list(verdict["reasons"])
    for old, new in replacements:
        claim = claim.replace(old, new)
        reasons = [reason.replace(old, new) for reason in reasons]
    sentence = (audit.get("comparability") or {}).get("sentence", "")
    claim += (" These parts come from an observational partition of the given eval set, not a randomized hold-out, "
              "so the figures describe an association and do not by themselves show memorization or transfer. "
              + sentence).rstrip()
    to_settle = verdict.get("to_settle")
    for old, new in replacements:
        to_settle = to_settle.replace(old, new) if isinstance(to_settle, str) else to_settle
    if verdict["label"] != "generalizes" or (audit.get("comparability") or {}).get("differing_metrics"):
        to_settle = ((to_settle + " ") if to_settle else "") + (
            "For a causal answer: `memgap split --strategy nested`, retrain on its train.jsonl, and "
            "`memgap audit --split`.")
    return {**verdict, "claim": claim, "reasons": reasons, "to_settle": to_settle}
