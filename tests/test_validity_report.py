"""The validity table's rows: verdict, lifts, and where the gap opened and the unseen-family loss was lowest."""
import importlib.util
import sys
from pathlib import Path

VALIDITY = Path(__file__).resolve().parent.parent / "benchmarks" / "validity"
sys.path.insert(0, str(VALIDITY))

from fixtures.run_folder import audit_from_lifts  # noqa: E402
from memgap.audit_document import json_ready  # noqa: E402
from memgap.curves import training_curves  # noqa: E402
from memgap.verdict import decide  # noqa: E402
from test_curves import simulate  # noqa: E402

_spec = importlib.util.spec_from_file_location("validity_run", VALIDITY / "run.py")
validity_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(validity_run)
HEADER, is_right, table_row = validity_run.HEADER, validity_run.is_right, validity_run.table_row


def _audit(course, seen, unseen):
    audit = audit_from_lifts(seen=seen, unseen=unseen)
    audit["training_curves"] = json_ready(training_curves(simulate(course, 0)))
    audit["verdict"] = decide(audit)
    return audit


def test_rows_report_onset_and_best_step_and_judge_the_course():
    memorizing = _audit("memorize", (0.6, 0.05), (0.05, 0.03))
    learning = _audit("learn", (0.5, 0.05), (0.45, 0.05))
    onset, best = memorizing["training_curves"]["onset"]["step"], memorizing["training_curves"]["best_step"]
    row = table_row("memorizable", 0, memorizing)
    assert row.endswith(f"| {onset} of 80 | {best} of 80 |") and "**memorizes-families**" in row
    assert table_row("learnable", 1, learning).endswith(f"| none of 80 | {learning['training_curves']['best_step']} of 80 |")
    assert len(row.split("|")) == len(HEADER[0].split("|"))
    assert is_right("memorizable", memorizing) and is_right("learnable", learning)
    # the right verdict with the wrong course is not right, nor is a run without curves
    assert not is_right("learnable", {**learning, "training_curves": memorizing["training_curves"]})
    assert not is_right("learnable", {**learning, "training_curves": None})
    assert table_row("learnable", 1, {**learning, "training_curves": None}).endswith("| not measured | not measured |")
