"""`memgap run --seeds 0,1`: one split and adapter per seed, pooled lifts and gap at the top."""
from __future__ import annotations

import json

import pytest

from memgap.cli.run import print_summary
from memgap.multiseed import run_seeds
from memgap.report import validate_audit
from pipeline_helpers import make_inputs, tiny_config


def test_two_seeds_pool_into_one_audit(tmp_path, capsys):
    model_dir, data = make_inputs(tmp_path)
    out = tmp_path / "multi"
    audit = run_seeds(tiny_config(model_dir, data, out, seeds=[0, 1]), progress=False)
    per_seed = [json.loads((out / f"seed-{seed}" / "audit.json").read_text()) for seed in (0, 1)]
    # Different seeds draw different family splits.
    unseen = [sorted(r["family"] for r in map(json.loads, open(out / f"seed-{s}" / "split" / "unseen_holdout.jsonl"))) for s in (0, 1)]
    assert unseen[0] != unseen[1]
    validate_audit(json.loads((out / "audit.json").read_text()))
    assert audit["seeds"] == [0, 1]
    for metric in ("nll", "score"):
        deltas = [a["lifts"][metric]["seen"]["delta"] for a in per_seed]
        pooled = audit["lifts"][metric]["seen"]
        assert pooled["delta"] == pytest.approx(sum(deltas) / 2)
        assert audit["multi_seed"]["lifts"][metric]["seen"] == pytest.approx(deltas)
        if pooled["ci_low"] is not None:
            assert pooled["ci_low"] <= pooled["delta"] <= pooled["ci_high"]
    assert set(audit["multi_seed"]["verdicts"]) == {"seed-0", "seed-1"}
    assert (out / "report.html").exists()
    # Pooled figures say so: in each S block, the console summary and the report's key figures.
    assert audit["lifts"]["score"]["seen"]["method"].startswith("pooled over 2 seeds: ")
    print_summary(audit, str(out))
    printed = capsys.readouterr().out
    assert "pooled over 2 seeds:" in printed and "[pooled over seeds]" in printed
    assert "Lifts and gap are pooled over 2 seeds" in (out / "report.md").read_text(encoding="utf-8")
