"""A new user's first commands: each stumble of the newcomer's path, as a test."""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memgap.cli import build_parser, main
from memgap.cli.run import print_summary
from memgap.config import TrainingConfig
from memgap.errors import MemgapError
from memgap.evaluation.scoring import resolve_scorer
from memgap.stats import memorization_gap, paired_delta
from memgap.training.schedule import MIN_OPTIMIZER_STEPS, optimizer_steps, schedule_warnings, warmup_steps
from pipeline_helpers import make_inputs

ROW = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("tiny"))


def cli_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    assert caught.value.code == 2, err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("memgap: error: ")][-1]


# -- the summary printer ------------------------------------------------------------------------


def test_summary_prints_a_hold_out_without_an_interval(capsys):
    rng = np.random.default_rng(0)
    seen_families, unseen_families = np.repeat(np.arange(8), 2), np.repeat(np.arange(8, 12), 2)
    seen = rng.normal(0.3, 0.1, seen_families.size)
    unseen = rng.normal(0.1, 0.1, unseen_families.size)
    zeros_seen, zeros_unseen = np.zeros_like(seen), np.zeros_like(unseen)
    lifts = {"seen": paired_delta(seen, zeros_seen, seen_families).to_dict(),
             "unseen": paired_delta(unseen, zeros_unseen, unseen_families).to_dict()}
    gap = memorization_gap(seen, zeros_seen, seen_families, unseen, zeros_unseen, unseen_families).to_dict()
    assert lifts["unseen"]["ci_low"] is None and lifts["seen"]["ci_low"] is not None  # 4 families vs 8
    audit = {"verdict": {"label": "inconclusive", "claim": "c"}, "lifts": {"score": lifts}, "gap": {"score": gap},
             "warnings": ["training takes only 3 optimizer steps"]}
    print_summary(audit, "out")
    printed = capsys.readouterr().out
    unseen_line = next(line for line in printed.splitlines() if "score unseen" in line)
    assert "CI undefined" in unseen_line and "with 5 or fewer families" in unseen_line and "4 families" in unseen_line
    assert "warning: training takes only 3 optimizer steps" in printed


def test_pooled_figures_are_labelled_pooled(capsys):
    pooled = {"delta": 0.2, "ci_low": 0.1, "ci_high": 0.3, "p_value": 0.01, "n": 10, "n_families": 10,
              "method": "pooled over 3 seeds: mean of seed deltas"}
    audit = {"verdict": {"label": "generalizes", "claim": "c"}, "lifts": {"score": {"seen": pooled, "unseen": pooled}},
             "gap": {"score": pooled}, "seeds": [0, 1, 2]}
    print_summary(audit, "out")
    printed = capsys.readouterr().out
    assert "pooled over 3 seeds:" in printed
    assert all("[pooled over seeds]" in line for line in printed.splitlines() if line.startswith("  score"))


# -- scorers ------------------------------------------------------------------------------------


def test_module_function_scorer_is_found_from_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "newcomer_scorer.py").write_text("def score(completion, record):\n    return 0.5\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "newcomer_scorer", raising=False)
    assert resolve_scorer("newcomer_scorer:score")("x", None) == 0.5


def test_a_mistyped_scorer_is_refused_before_any_stage_is_written(tiny, tmp_path, capsys):
    model, data = tiny
    out = tmp_path / "run"
    line = cli_error(["run", "--data", str(data), "--model", str(model), "--out", str(out), "--scorer", "token-f2"],
                     capsys)
    assert "did you mean" in line and "token-f1" in line
    assert not (out / "stages").exists() and not (out / "split").exists()


def test_a_row_without_a_family_names_file_and_line(tiny, tmp_path, capsys):
    model, _ = tiny
    rows = [{**ROW, "family": f"f{i % 3}"} for i in range(6)]
    rows[3].pop("family")
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    line = cli_error(["run", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "o")], capsys)
    assert "d.jsonl:4" in line and "family" in line


# -- hints name flags the verb has ---------------------------------------------------------------


def verb_flags(verb: str) -> set[str]:
    parser = build_parser()
    top = {option for action in parser._actions for option in action.option_strings}
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return top | {option for action in verbs[verb]._actions for option in action.option_strings}


def flags_named(line: str) -> set[str]:
    """Flags a hint tells the user to pass, less those it qualifies with another verb (`memgap split --strategy`)."""
    unqualified = re.sub(r"memgap [a-z]+(?: --?[\w-]+(?: [\w.]+)?)+", "", line)
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", unqualified))


def test_every_hint_names_flags_the_verb_has(tiny, tmp_path, capsys):
    model, _ = tiny
    one_family = tmp_path / "one.jsonl"
    one_family.write_text("".join(json.dumps({**ROW, "family": "f", "id": str(i)}) + "\n" for i in range(6)))
    no_family = tmp_path / "none.jsonl"
    no_family.write_text("".join(json.dumps({**ROW, "id": str(i)}) + "\n" for i in range(6)))
    cases = [
        ["run", "--data", str(one_family), "--model", str(model), "--out", str(tmp_path / "r1")],
        ["run", "--data", str(no_family), "--model", str(model), "--out", str(tmp_path / "r2")],
        ["run", "--data", str(no_family), "--model", "someorg/not-cached-model", "--out", str(tmp_path / "r3")],
        ["split", str(one_family), "--out", str(tmp_path / "s1")],
        ["split", str(no_family), "--strategy", "grouped", "--out", str(tmp_path / "s2")],
        ["families", str(no_family)],
        ["leakage", "--train", str(no_family), "--eval", str(no_family)],
    ]
    for args in cases:
        line = cli_error(args, capsys)
        missing = flags_named(line) - verb_flags(args[0])
        assert not missing, (args[0], missing, line)


# -- training schedule ---------------------------------------------------------------------------


def test_schedule_counts_as_the_trainer_and_warns_of_short_runs():
    training = TrainingConfig(epochs=2.0, batch_size=4, gradient_accumulation_steps=1, warmup_ratio=0.05)
    assert optimizer_steps(21, training) == 12  # ceil(21 / 4) = 6 batches, 2 epochs
    assert optimizer_steps(21, TrainingConfig(batch_size=4, gradient_accumulation_steps=4, epochs=1.0)) == 2
    assert optimizer_steps(5, TrainingConfig(max_steps=7)) == 7
    assert warmup_steps(12, 0.05) == 1 and warmup_steps(12, 20) == 20
    assert schedule_warnings(21, training) == []
    short = schedule_warnings(4, training)
    assert any(f"fewer than the {MIN_OPTIMIZER_STEPS}" in w and "training.epochs" in w for w in short)
    whole = schedule_warnings(200, TrainingConfig(warmup_ratio=100))
    assert len(whole) == 1 and "takes every one of the 100 optimizer steps" in whole[0]
    assert "training.warmup_ratio" in whole[0]


# -- the console ---------------------------------------------------------------------------------


def _memgap(*args: str) -> list[str]:
    return [sys.executable, "-m", "memgap", *args]


def _env(**extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}


@pytest.mark.parametrize("args", [["--help"], ["dataset", "tenacious", "--out", "{tmp}/d.jsonl", "--json"],
                                  ["families", "{data}", "--json"]])
def test_piping_a_verb_into_head_ends_quietly(args, tiny, tmp_path):
    _, data = tiny
    args = [arg.format(tmp=tmp_path, data=data) for arg in args]
    piped = subprocess.run(" ".join(map(str, _memgap(*args))) + " | head -1", shell=True, capture_output=True,
                           text=True, env=_env(), timeout=120)
    assert piped.stdout.count("\n") <= 1
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
    # A reader that is gone before the first write: the same, deterministically.
    process = subprocess.Popen(_memgap(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_hub_id_offline_fails_in_seconds_with_one_line(monkeypatch):
    from memgap.models import load_model

    import transformers  # noqa: F401  (imported first so that the timing is the hub's, not the import's)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(MemgapError) as caught:
        load_model("someorg/not-cached-model")
    assert time.perf_counter() - started < 10
    message = str(caught.value)
    assert "\n" not in message and "HF_HUB_OFFLINE" in message and "local model folder" in message


def test_training_console_shows_no_log_dicts_or_library_warnings_but_warns_of_a_short_run(tiny, tmp_path):
    model, data = tiny
    done = subprocess.run(_memgap("train", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "t"),
                                  "--max-steps", "3"), capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr
    console = done.stdout + done.stderr
    assert "'loss'" not in console and "'train_runtime'" not in console
    assert "Warning" not in done.stderr, done.stderr  # FutureWarning, UserWarning ... only with -v
    warning = "memgap: warning: training takes only 3 optimizer steps"
    assert warning in done.stderr
    assert done.stderr.index(warning) < done.stderr.index("0/3")  # said before the first step
