"""Training curves: the onset rule on seeded simulated courses, the per-point statistics, family_gap.csv."""
import numpy as np
import pytest

from memgap.curves import CurveRow, read_family_gap, training_curves, write_family_gap
from memgap.errors import MemgapError
from memgap.stats import memorization_gap

STEPS = [0, 10, 20, 30, 40, 50, 60, 70, 80]


def simulate(course: str, seed: int, *, seen_families=24, unseen_families=12, per_family=2, steps=STEPS):
    """Per-item NLLs over training: a shared format fall, then (memorize) a seen-only fall while unseen rises.

    Families carry a random offset and every item a random offset plus per-step noise, so the
    family-clustered tests have real between-family spread to cope with.
    """
    rng = np.random.default_rng(seed)
    total = steps[-1]
    rows = []
    for holdout, n_families in (("seen_holdout", seen_families), ("unseen_holdout", unseen_families)):
        for family in range(n_families):
            family_offset = rng.normal(0, 0.4)
            family_speed = rng.uniform(0.7, 1.3)
            for member in range(per_family):
                item_offset = rng.normal(0, 0.2)
                for step in steps:
                    progress = step / total
                    shared = 1.2 * (1 - np.exp(-6 * progress)) * family_speed  # format tokens, learnt by all
                    if course == "memorize":  # family codes: only trained families improve, after a quarter of training
                        extra = 1.5 * max(0.0, progress - 0.25) / 0.75 if holdout == "seen_holdout" else -0.3 * progress
                        nll = 3.0 - shared - extra
                    else:  # the behaviour: both fall together, trained families a little more
                        nll = 3.0 - shared * (1.05 if holdout == "seen_holdout" else 1.0)
                    nll += family_offset + item_offset + rng.normal(0, 0.05)
                    rows.append(CurveRow(step, holdout, f"{holdout}-{family}-{member}", f"{holdout[:2]}{family}",
                                         float(nll), 20))
    for step in steps:
        rows.append(CurveRow(step, "train_sample", f"t{step}", "t", 3.0 - 2 * step / total, 20))
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_a_memorizing_course_has_a_lasting_onset_and_a_learning_course_none(seed):
    memorizing = training_curves(simulate("memorize", seed))
    learning = training_curves(simulate("learn", seed))
    assert memorizing["onset"] is not None
    assert 10 <= memorizing["onset"]["step"] <= 40  # the family-specific fall starts at step 20
    assert memorizing["onset"]["gap"]["ci_low"] > 0
    assert learning["onset"] is None
    # the unseen-family loss is lowest mid-course when memorizing, late when learning
    assert memorizing["best_step"] < 60 <= learning["best_step"]


def test_the_rule_reads_the_course_not_the_final_level():
    # Final figures alike (a positive seen-minus-unseen gap at the end) but only one course memorizes.
    memorizing = training_curves(simulate("memorize", 0))
    learning = training_curves(simulate("learn", 0))
    assert learning["points"][-1]["gap"]["delta"] > 0 and memorizing["points"][-1]["gap"]["delta"] > 0
    assert "opened at step" in memorizing["sentence"] and "no lasting gap" in learning["sentence"]


def test_each_point_carries_the_audits_gap_and_the_unseen_reduction():
    rows = simulate("memorize", 3)
    curves = training_curves(rows)
    assert [point["step"] for point in curves["points"]] == STEPS and curves["total_steps"] == 80
    last = curves["points"][-1]

    def values(holdout, step):
        chosen = sorted((r for r in rows if r.holdout == holdout and r.step == step), key=lambda r: r.id)
        return np.array([r.nll for r in chosen]), [r.family for r in chosen]

    (s0, sf), (s8, _), (u0, uf), (u8, _) = (values(h, s) for h in ("seen_holdout", "unseen_holdout") for s in (0, 80))
    expected = memorization_gap(s0, s8, sf, u0, u8, uf).to_dict()
    assert last["gap"]["delta"] == pytest.approx(expected["delta"])
    assert last["gap"]["ci_low"] == pytest.approx(expected["ci_low"])
    assert last["unseen_reduction"]["delta"] == pytest.approx(float(np.mean(u0 - u8)))
    assert curves["points"][0]["gap"]["delta"] == 0 and curves["points"][0]["increment"] is None
    block = last["seen_holdout"]
    assert block["ci_low"] < block["mean"] < block["ci_high"] and block["n_families"] == 24
    assert last["train_sample"]["mean"] == pytest.approx(1.0)
    best = min(curves["points"], key=lambda p: p["unseen_holdout"]["mean"])
    assert curves["best_step"] == best["step"]


def test_a_stricter_threshold_never_finds_an_earlier_onset():
    rows = simulate("memorize", 1)
    onsets = [training_curves(rows, min_generalization_ratio=r)["onset"] for r in (0.9, 0.5, 0.2, 0.05)]
    steps = [o["step"] if o else None for o in onsets]
    found = [s for s in steps if s is not None]
    assert found == sorted(found) and steps[0] is not None


def test_too_few_points_give_no_curves():
    rows = [r for r in simulate("learn", 0) if r.step == 0]
    assert training_curves(rows) is None


def test_family_gap_csv_round_trip_and_errors(tmp_path):
    rows = simulate("learn", 2)[:50]
    path = write_family_gap(tmp_path / "family_gap.csv", rows)
    assert read_family_gap(path) == rows
    bad = tmp_path / "bad.csv"
    bad.write_text("step,holdout,id,family,nll,n_tokens\n0,seen_holdout,a,f,1.0,3\nx,seen_holdout,b,f,1.0,3\n")
    with pytest.raises(MemgapError) as error:
        read_family_gap(bad)
    assert "bad.csv:3: field 'step'" in str(error.value.where)
    bad.write_text("step,holdout,id,family,nll,n_tokens\n0,validation,a,f,1.0,3\n")
    with pytest.raises(MemgapError, match="holdout 'validation'"):
        read_family_gap(bad)
    bad.write_text("step,id\n")
    with pytest.raises(MemgapError, match="missing"):
        read_family_gap(bad)
    with pytest.raises(MemgapError, match="not found"):
        read_family_gap(tmp_path / "absent.csv")


HEADER = "step,holdout,id,family,nll,n_tokens\n"
GOOD = "0,seen_holdout,a,f,1.0,3\n"


@pytest.mark.parametrize("body, field, message", [
    ("-5,seen_holdout,b,f,1.0,3\n", "step", "negative"),
    ("0,seen_holdout,,f,1.0,3\n", "id", "empty id"),
    ("0,seen_holdout,b,,1.0,3\n", "family", "empty family"),
    ("0,seen_holdout,b,f,1.0,3,extra\n", "n_tokens", "7 fields"),
    ("0,seen_holdout,b,f,22\n", "n_tokens", "5 fields"),
    ("0,seen_holdout,b,f,1.0,0\n", "n_tokens", "not positive"),
    ("0,seen_holdout,b,f,nan,3\n", "nll", "not finite"),
    ("0,seen_holdout,a,f,0.01,3\n", "id", "a second row for item 'a'"),
])
def test_a_malformed_family_gap_row_is_named_by_line_and_field(tmp_path, body, field, message):
    bad = tmp_path / "family_gap.csv"
    bad.write_text(HEADER + GOOD + body)
    with pytest.raises(MemgapError, match=message) as error:
        read_family_gap(bad)
    assert error.value.where.endswith(f"family_gap.csv:3: field '{field}'")


def test_a_family_gap_csv_without_rows_is_refused(tmp_path):
    empty = tmp_path / "family_gap.csv"
    empty.write_text(HEADER)
    with pytest.raises(MemgapError, match="no rows"):
        read_family_gap(empty)
