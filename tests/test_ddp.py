"""Two DDP processes on CPU (gloo) record the same gradient norms as one process with the same global batch.

`accelerate launch --multi_gpu` is accelerate's torchrun launcher; on a machine without GPUs the Trainer
runs it on the CPU with the gloo backend. (`accelerate launch --cpu --num_processes 2` starts a single
process unless MPI is set up, so it is not a multi-process run.)
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memgap.data.io import records_to_rows, write_jsonl
from tiny_models import save_tiny_model, tiny_records

pytestmark = pytest.mark.slow
STEPS = 4


def _run(command, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _norms(path: Path):
    import csv

    with open(path, newline="") as stream:
        return {(r["step"], r["layer"], r["module"], r["matrix"]): float(r["norm"]) for r in csv.DictReader(stream)}


# Relative tolerance of the 2-process vs 1-process pre-clip norms, per training precision.
# fp32: the two set-ups sum the same per-example gradients in another order (all-reduce of two halves
# against one batch), which moves a norm by a few float32 roundings, far below 1e-4.
# bf16: autocast rounds every matrix product's output to bfloat16, whose unit roundoff is 2**-8 (8
# significand bits). Splitting the batch changes which products are formed (each process pads its own
# half to its own length), so each gradient element can differ by the rounding of the products it is
# built from: a relative error of order 2**-8 = 3.9e-3 per element. A norm averages these over many
# elements, so 2**-8 bounds its relative difference with room to spare (2.6e-4 was measured).
TOLERANCE = {"fp32": 1e-4, "bf16": 2.0 ** -8}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_two_processes_match_one_process(tmp_path, precision):
    save_tiny_model(tmp_path / "model")
    # 4 rows: every step's global batch is the whole data set, in both set-ups, so the order cannot differ.
    write_jsonl(tmp_path / "data.jsonl", records_to_rows(tiny_records(4)))
    for batch in (2, 4):  # clipping active, so the pre-clip measurement is what is compared
        (tmp_path / f"batch{batch}.yaml").write_text(
            f"training:\n  batch_size: {batch}\n  learning_rate: 0.01\n  max_grad_norm: 0.01\n  warmup_ratio: 0.0\n"
            f"  precision: {precision}\n"
        )
    train = ["-m", "memgap", "train", "--data", "data.jsonl", "--model", "model", "--max-steps", str(STEPS), "--no-progress"]
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517"]
    printed = _run([*accelerate, *train, "--out", "ddp", "--config", "batch2.yaml"], tmp_path)
    _run([sys.executable, *train, "--out", "single", "--config", "batch4.yaml"], tmp_path)

    assert printed.count("Training pressure") == 1  # only the main process prints
    ddp, single = _norms(tmp_path / "ddp" / "gradnorms.csv"), _norms(tmp_path / "single" / "gradnorms.csv")
    assert ddp.keys() == single.keys() and len({key[0] for key in ddp}) == STEPS
    for key, value in single.items():
        assert ddp[key] == pytest.approx(value, rel=TOLERANCE[precision], abs=1e-8), key
    assert (tmp_path / "ddp" / "adapter" / "adapter_model.safetensors").exists()
    assert (tmp_path / "ddp" / "updates.csv").exists()
