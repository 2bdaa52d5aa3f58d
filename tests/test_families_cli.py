"""`memgap families`, `leakage` and `split` in-process: reports, files, exit statuses."""
from __future__ import annotations

import json

import pytest
from sklearn.metrics import adjusted_rand_score

from augmenter import planted_rows
from memgap.cli import main


def write_rows(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture
def data(tmp_path):
    return write_rows(tmp_path / "data.jsonl", planted_rows(40, min_size=2, max_size=5, seed=21))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("memgap: error:")
    return err[0]


def test_families_json_report_and_inferred_output(data, tmp_path, capsys):
    out = tmp_path / "labelled.jsonl"
    assert main(["families", data, "--infer", "--out", str(out), "--write-field", "inferred_family", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert report["rows"] == len(rows) and report["family_source"] == "inferred"
    assert report["agreement"]["adjusted_rand_index"] == pytest.approx(
        adjusted_rand_score([r["family"] for r in rows], [r["inferred_family"] for r in rows])
    )
    assert report["agreement"]["adjusted_rand_index"] >= 0.9
    assert report["similarity"]["within_family"]["mean"] > report["similarity"]["between_family"]["mean"]


def test_families_text_report(data, capsys):
    assert main(["families", data]) == 0
    out = capsys.readouterr().out
    assert "40 families (declared)" in out and "effective number of families" in out


def test_missing_family_field_without_infer(data, capsys):
    assert_exit(["families", data, "--family-field", "topic"], 2)
    assert "--infer" in one_error_line(capsys)


def test_missing_file(tmp_path, capsys):
    assert_exit(["families", str(tmp_path / "nope.jsonl")], 2)
    assert "no such file" in one_error_line(capsys)


def test_split_refuses_one_family(tmp_path, capsys):
    rows = [{"id": f"r{i}", "prompt": "p", "completion": f"c{i}", "family": "only"} for i in range(6)]
    path = write_rows(tmp_path / "one.jsonl", rows)
    assert_exit(["split", path, "--strategy", "grouped", "--out", str(tmp_path / "split")], 2)
    assert "at least 2 families" in one_error_line(capsys)


def test_split_writes_nested_files_byte_identically(data, tmp_path, capsys):
    for folder in ("a", "b"):
        assert main(["split", data, "--strategy", "nested", "--seed", "3", "--out", str(tmp_path / folder)]) == 0
    for name in ("train.jsonl", "seen_holdout.jsonl", "unseen_holdout.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert sum(entry["rows"] for entry in manifest["files"].values()) == sum(1 for _ in open(data))
    assert len(manifest["input_sha256"]) == 64


def test_leakage_gate(data, tmp_path, capsys):
    assert main(["split", data, "--strategy", "random", "--out", str(tmp_path / "random")]) == 0
    assert main(["split", data, "--strategy", "grouped", "--out", str(tmp_path / "grouped")]) == 0
    capsys.readouterr()
    leaky = ["leakage", "--train", str(tmp_path / "random/train.jsonl"), "--eval", str(tmp_path / "random/holdout.jsonl")]
    clean = ["leakage", "--train", str(tmp_path / "grouped/train.jsonl"), "--eval", str(tmp_path / "grouped/holdout.jsonl")]
    assert main([*leaky, "--fail-above", "0.1"]) == 1
    assert main([*clean, "--fail-above", "0.1"]) == 0
    assert main([*leaky, "--infer", "--fail-above", "0.1"]) == 1
    capsys.readouterr()
    assert main([*clean, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["eval_rows_with_train_sibling"] == 0.0
    assert {"completion_view", "whole_row_view"} <= set(report)
    assert main(clean) == 0
    text = capsys.readouterr().out
    completion, whole_row = report["completion_view"], report["whole_row_view"]
    assert (
        f"sharing a 13-gram with train: completion {completion['eval_rows_with_13gram_overlap']:.1%}, "
        f"whole row {whole_row['eval_rows_with_13gram_overlap']:.1%}"
    ) in text


def assert_exit(argv, status):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == status


def test_infer_on_declared_data_labels_each_figure_by_its_source(data, capsys):
    assert main(["families", data, "--infer"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "inferred families; the declared field 'family' holds 40" in lines[0]
    assert any(line.startswith("inferred: family size") for line in lines)
    assert any(line.startswith("declared: family size") for line in lines)
    assert "declared vs inferred: ARI" in out
    assert main(["families", data, "--infer", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["family_source"] == "inferred" and report["declared"]["families"] == 40
    # The headline figures are the inferred partition's own, not the declared one's under another label.
    from sklearn.metrics import adjusted_rand_score

    from memgap.data.io import read_records
    from memgap.families import assign_families

    records = read_records(data)
    inferred, _ = assign_families(records, infer=True)
    assert report["families"] == len({r.family for r in inferred})
    assert report["agreement"]["adjusted_rand_index"] == pytest.approx(
        adjusted_rand_score([r.family for r in records], [r.family for r in inferred]))


def test_write_field_refuses_to_overwrite_a_declared_field(data, tmp_path, capsys):
    out = tmp_path / "labelled.jsonl"
    assert_exit(["families", data, "--infer", "--out", str(out)], 2)
    line = one_error_line(capsys)
    assert "'family'" in line and "--write-field" in line and "--overwrite-field" in line
    assert not out.exists()
    assert main(["families", data, "--infer", "--out", str(out), "--overwrite-field"]) == 0
    assert out.exists()


def test_rows_without_a_family_are_counted_by_families_and_leakage(tmp_path, capsys):
    rows = planted_rows(30, min_size=2, max_size=5, seed=3)
    for index in (4, 9, 17):
        rows[index]["family"] = None
    path = write_rows(tmp_path / "some_missing.jsonl", rows)
    assert_exit(["families", path], 2)
    line = one_error_line(capsys)
    assert f"'{rows[4]['id']}'" in line and f"3 of {len(rows)} records have none" in line and f"'{rows[17]['id']}'" in line
    cut = len(rows) - 8
    train, evaluation = write_rows(tmp_path / "train.jsonl", rows[:cut]), write_rows(tmp_path / "eval.jsonl", rows[cut:])
    assert main(["leakage", "--train", train, "--eval", evaluation]) == 0
    out = capsys.readouterr().out
    assert f"train rows without a family (no declared sibling): 3 ({rows[4]['id']}, {rows[9]['id']}, {rows[17]['id']})" in out
    assert "eval rows without a family" not in out
