"""`memgap dataset tenacious` and `memgap score`, called in-process through the CLI's main()."""
from __future__ import annotations

import json

import pytest

from memgap.cli import main
from memgap.data.io import read_records, write_jsonl
from memgap.domains.tenacious import default_data_path


def _exit_status(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exit:
        return int(exit.code)


def _one_error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_dataset_writes_requested_families_deterministically(tmp_path, capsys):
    out_a, out_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (out_a, out_b):
        assert main(["dataset", "tenacious", "--out", str(out), "--originals", "5", "--variants", "3", "--seed", "7"]) == 0
    assert out_a.read_bytes() == out_b.read_bytes()
    records = read_records(out_a, require_family=True)
    assert len(records) == 15 and len({record.family for record in records}) == 5
    assert "15 rows in 5 families" in capsys.readouterr().out


def test_dataset_defaults_reproduce_the_shipped_file(tmp_path):
    out = tmp_path / "default.jsonl"
    assert main(["dataset", "tenacious", "--out", str(out)]) == 0
    assert out.read_bytes() == default_data_path().read_bytes()


def test_dataset_concentration_json_summary(tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    argv = ["dataset", "tenacious", "--out", str(out), "--originals", "10", "--concentration", "2", "--rows", "60", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 60 and summary["families"] == 10 and summary["smallest_family"] >= 2
    assert summary["top_decile_share"] > 0.3


def test_dataset_rejects_both_size_options_and_unknown_name(tmp_path, capsys):
    both = ["dataset", "tenacious", "--out", str(tmp_path / "x.jsonl"), "--variants", "2", "--concentration", "1"]
    assert _exit_status(both) == 2
    capsys.readouterr()
    assert _exit_status(["dataset", "tenacius", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "did you mean tenacious" in _one_error_line(capsys)


def test_score_writes_rows_and_prints_json(tmp_path, capsys):
    data, out = tmp_path / "d.jsonl", tmp_path / "scores.jsonl"
    assert main(["dataset", "tenacious", "--out", str(data), "--originals", "3", "--variants", "2", "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["score", "--scorer", "tenacious", "--data", str(data), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["rows"] == len(rows) == 6
    assert summary["mean_score"] >= 0.9
    assert set(summary["checks"]) == set(rows[0]["checks"]) and "grounding" in summary["checks"]
    assert {row["id"] for row in rows} == {record.id for record in read_records(data)}


def test_score_prefers_an_output_field(tmp_path, capsys):
    rows = [json.loads(line) for line in default_data_path().read_text().splitlines()[:2]]
    rows[1]["output"] = "Subject: hi\n\n[Company Name] world-class synergy."
    data = write_jsonl(tmp_path / "with_output.jsonl", rows)
    assert main(["score", "--data", str(data), "--out", str(tmp_path / "s.jsonl")]) == 0
    scores = [json.loads(line)["score"] for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert scores[0] >= 0.9 and scores[1] < 0.3
    assert "mean score" in capsys.readouterr().out


def test_score_with_a_users_module_function(tmp_path, capsys, monkeypatch):
    (tmp_path / "my_scorer.py").write_text("def short(completion, record):\n    return 1.0 if len(completion) < 900 else 0.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["score", "--scorer", "my_scorer:short", "--data", str(default_data_path()), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    expected = [1.0 if len(record.completion) < 900 else 0.0 for record in read_records(default_data_path())]
    assert summary["mean_score"] == pytest.approx(sum(expected) / len(expected))


def test_unknown_scorer_is_one_line_and_exit_2(tmp_path, capsys):
    assert _exit_status(["score", "--scorer", "tenacous", "--data", str(default_data_path())]) == 2
    line = _one_error_line(capsys)
    assert "unknown scorer 'tenacous'" in line and "did you mean tenacious" in line


def test_missing_data_file_is_one_line_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert _exit_status(["score", "--scorer", "tenacious", "--data", str(missing)]) == 2
    line = _one_error_line(capsys)
    assert "no such file" in line and "nope.jsonl" in line


def _tiny_run_folder(tmp_path):
    """A run folder as `memgap run` leaves it: split files and predictions.jsonl (base and adapter rows)."""
    from memgap.data.io import records_to_rows
    from memgap.data.records import Record

    records = [Record(f"r{i}", f"the answer is {i}", prompt_messages=({"role": "user", "content": f"q{i}"},),
                      family=f"f{i}") for i in range(4)]
    run = tmp_path / "run"
    write_jsonl(run / "split" / "train.jsonl", records_to_rows(records[:2]))
    write_jsonl(run / "split" / "seen_holdout.jsonl", records_to_rows(records[2:3]))
    write_jsonl(run / "split" / "unseen_holdout.jsonl", records_to_rows(records[3:]))
    predictions = [
        {"id": "r2", "family": "f2", "holdout": "seen", "model": "base", "generation": "no idea"},
        {"id": "r2", "family": "f2", "holdout": "seen", "model": "adapter", "generation": "the answer is 2"},
        {"id": "r3", "family": "f3", "holdout": "unseen", "model": "base", "generation": "no idea"},
        {"id": "r3", "family": "f3", "holdout": "unseen", "model": "adapter", "generation": "the answer is 3"},
    ]
    write_jsonl(run / "predictions.jsonl", predictions)
    (run / "audit.json").write_text(json.dumps({"data": {"scorer": "token-f1"}}))
    return run


def test_score_a_runs_own_predictions(tmp_path, capsys):
    run = _tiny_run_folder(tmp_path)
    out = tmp_path / "scores.jsonl"
    assert main(["score", "--run", str(run), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scorer"] == "token-f1" and summary["rows"] == 4
    assert summary["by_model"] == {"base seen": 0.0, "base unseen": 0.0, "adapter seen": 1.0, "adapter unseen": 1.0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(row["id"], row["model"]) for row in rows] == [("r2", "base"), ("r2", "adapter"), ("r3", "base"), ("r3", "adapter")]


def test_score_any_generated_field_against_records(tmp_path, capsys):
    run = _tiny_run_folder(tmp_path)
    generations = tmp_path / "gens.jsonl"
    write_jsonl(generations, [{"id": "r1", "text": "the answer is 1"}, {"id": "r0", "text": "answer 9"}])
    assert main(["score", "--scorer", "token-f1", "--predictions", str(generations), "--field", "text",
                 "--data", str(run / "split" / "train.jsonl"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 2 and 0.5 < summary["mean_score"] < 1.0
    write_jsonl(generations, [{"id": "r1", "text": "x"}, {"id": "zz", "text": "y"}])
    assert _exit_status(["score", "--scorer", "token-f1", "--predictions", str(generations), "--field", "text",
                         "--run", str(run)]) == 2
    line = _one_error_line(capsys)
    assert "gens.jsonl:2" in line and "'zz' matches no record" in line
    assert _exit_status(["score", "--predictions", str(generations), "--field", "missing", "--run", str(run)]) == 2
    assert "field 'missing'" in _one_error_line(capsys)
