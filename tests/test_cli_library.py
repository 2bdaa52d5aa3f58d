"""The public functions behind the CLI verbs, called without a subprocess or argparse."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sklearn.metrics import adjusted_rand_score

from augmenter import planted_rows
from memgap.data.io import read_jsonl_rows, read_records, records_to_rows, write_jsonl
from memgap.data.records import Record
from memgap.datasets import family_size_summary, write_dataset
from memgap.errors import MemgapError
from memgap.evaluation.score_file import score_texts
from memgap.families.report import check_write_field, families_report
from memgap.splits import split_data_file


@pytest.fixture
def planted(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in planted_rows(40, min_size=2, max_size=5, seed=21)))
    return path


def test_families_report_compares_inferred_with_declared_families(planted):
    records = read_records(planted)
    result = families_report(records, infer=True)
    declared = [r.family for r in records]
    inferred = [r.family for r in result.records]
    assert result.report["family_source"] == "inferred" and result.report["families"] == len(set(inferred))
    assert result.report["declared"]["families"] == len(set(declared)) == 40
    assert result.report["agreement"]["adjusted_rand_index"] == pytest.approx(adjusted_rand_score(declared, inferred))
    plain = families_report(records, infer=False)
    assert plain.report["family_source"] == "declared" and "agreement" not in plain.report


def test_write_field_check_refuses_a_declared_field_unless_told(planted):
    records = read_records(planted)
    with pytest.raises(MemgapError, match="--overwrite-field"):
        check_write_field(records, write_field="family", family_field="family", overwrite=False, where=str(planted))
    check_write_field(records, write_field="family", family_field="family", overwrite=True)
    check_write_field(records, write_field="inferred", family_field="family", overwrite=False)


def test_split_data_file_keeps_families_whole_and_refuses_stratify_elsewhere(planted, tmp_path):
    manifest = split_data_file(planted, tmp_path / "split", strategy="nested", holdout=0.25, seed=3)
    parts = {name.removesuffix(".jsonl"): read_jsonl_rows(tmp_path / "split" / name) for name in manifest["files"]}
    unseen = {row["family"] for row in parts["unseen_holdout"]}
    assert unseen and not unseen & {row["family"] for row in parts["train"]}
    assert sum(len(rows) for rows in parts.values()) == len(read_records(planted))
    with pytest.raises(MemgapError, match="grouped only"):
        split_data_file(planted, tmp_path / "other", strategy="random", stratify="label")


def test_score_texts_scores_a_runs_predictions_with_the_runs_scorer(tmp_path):
    records = [Record(f"r{i}", f"the answer is {i}", prompt_messages=({"role": "user", "content": f"q{i}"},),
                      family=f"f{i}") for i in range(2)]
    run = tmp_path / "run"
    write_jsonl(run / "split" / "train.jsonl", records_to_rows(records[:1]))
    write_jsonl(run / "split" / "seen_holdout.jsonl", records_to_rows(records[:1]))
    write_jsonl(run / "split" / "unseen_holdout.jsonl", records_to_rows(records[1:]))
    write_jsonl(run / "predictions.jsonl", [
        {"id": "r1", "family": "f1", "holdout": "unseen", "model": "adapter", "generation": "the answer is 1"},
        {"id": "r1", "family": "f1", "holdout": "unseen", "model": "base", "generation": "no idea"},
    ])
    (run / "audit.json").write_text(json.dumps({"data": {"scorer": "token-f1"}}))
    scorer, results, summary = score_texts(run=run)
    assert scorer == "token-f1" and summary["scorer"] == "token-f1" and summary["rows"] == 2
    assert sorted(result["score"] for result in results) == [0.0, 1.0]
    with pytest.raises(MemgapError, match="give --data FILE"):
        score_texts()


def test_write_dataset_is_deterministic_and_summarised(tmp_path):
    first = write_dataset("tenacious", tmp_path / "a.jsonl", originals=6, variants=3, seed=1)
    write_dataset("tenacious", tmp_path / "b.jsonl", originals=6, variants=3, seed=1)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first["rows"] == 18 and first["families"] == 6 and first["largest_family"] == 3
    assert family_size_summary(["a", "a", "b"]) == {"rows": 3, "families": 2, "largest_family": 2,
                                                    "smallest_family": 1, "top_decile_share": 2 / 3}
    with pytest.raises(MemgapError, match="did you mean tenacious"):
        write_dataset("tenacous", tmp_path / "c.jsonl")


def test_registries_name_domains_without_importing_them():
    code = ("import sys, memgap.datasets, memgap.evaluation.scoring, memgap.cli.dataset; "
            "print(any(name.startswith('memgap.domains.tenacious') for name in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
