"""Kill a real `memgap run` in the middle of training, start it again, and get the same audit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from memgap.pipeline import run_audit
from pipeline_helpers import comparable, make_inputs, tiny_config, tiny_settings

SETTINGS = {"training.epochs": 12.0, "training.save_steps": 4}


def nested(settings: dict) -> dict:
    tree: dict = {}
    for dotted, value in settings.items():
        *sections, key = dotted.split(".")
        node = tree
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = value
    return tree


def start_run(config_file: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "memgap", "run", "--config", str(config_file), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )


def test_killed_run_resumes_to_the_same_audit(tmp_path):
    model_dir, data = make_inputs(tmp_path)
    out = tmp_path / "killed"
    config_file = tmp_path / "audit.yaml"
    config_file.write_text(yaml.safe_dump(nested(tiny_settings(model_dir, data, out, **SETTINGS))))

    process = start_run(config_file)
    checkpoints = out / "training" / "checkpoints"
    deadline = time.monotonic() + 300
    while not (checkpoints.exists() and any(checkpoints.glob("checkpoint-*"))):
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    time.sleep(0.3)  # somewhere past the first checkpoint
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "stages" / "train.json").exists(), "training finished before the kill; the test proves nothing"
    assert not (out / "audit.json").exists()

    resumed = start_run(config_file)
    output = resumed.communicate(timeout=600)[0].decode()
    assert resumed.returncode == 0, output
    killed_and_resumed = json.loads((out / "audit.json").read_text())

    uninterrupted = run_audit(tiny_config(model_dir, data, tmp_path / "whole", **SETTINGS), progress=False)
    strip = lambda audit: comparable({k: v for k, v in audit.items() if k not in ("config",)})  # noqa: E731
    assert strip(killed_and_resumed)["lifts"] == strip(uninterrupted)["lifts"]
    assert strip(killed_and_resumed) == strip(uninterrupted)
