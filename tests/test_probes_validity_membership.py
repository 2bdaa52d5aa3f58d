"""benchmarks/validity/membership.py on a tiny run: members and siblings found, every score in the table."""
from __future__ import annotations

import sys
from pathlib import Path

from memgap.adapters import load_adapter, read_adapter_folder
from memgap.pipeline import run_audit
from pipeline_helpers import make_inputs, tiny_config
from tiny_models import tiny_loaded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "validity"))
import membership as validity_membership  # noqa: E402


def test_members_siblings_and_the_table_from_a_run_folder(tmp_path):
    model_dir, data = make_inputs(tmp_path / "inputs", families=10, rows=50)
    run_dir = tmp_path / "runs" / "memorizable-fp32-seed0"
    run_audit(tiny_config(model_dir, data, run_dir, **{"split.max_train_rows": 24, "probes.off_task": False}),
              progress=False)
    members, siblings = validity_membership.members_and_siblings(run_dir, data)
    member_ids, sibling_ids = {r.id for r in members}, {r.id for r in siblings}
    assert len(members) == 24 and siblings and not member_ids & sibling_ids
    assert {r.family for r in siblings} <= {r.family for r in members}  # siblings of trained families only
    loaded = tiny_loaded()
    from transformers import AutoModelForCausalLM

    loaded.model.load_state_dict(AutoModelForCausalLM.from_pretrained(model_dir).state_dict())
    model = load_adapter(loaded.model, read_adapter_folder(run_dir / "training" / "adapter"))
    rows = validity_membership.score_rows(model, loaded.tokenizer, members, siblings, max_length=64)
    series = validity_membership.series(rows, "seed0")
    assert len(series["ez"][0][0]) == 24 and len(series["ez"][1][0]) == len(siblings)
    lines, facts = validity_membership.kind_lines("memorizable", [series, series], [0, 1])
    assert len(lines) == len(validity_membership.TODAY) + 1
    assert facts["n_members"] == 48 and facts["best_today"] in validity_membership.TODAY
    assert "undefined" in lines[-1]  # far fewer than 1000 siblings: TPR at 0.1 % FPR is not defined
