"""`--no-progress` hides transformers' "Loading weights" bar: `memgap train` loads its model through
`load_configured_model(..., progress=False)`, which switches the bar off for the load and back on after."""
from __future__ import annotations

import pytest
from transformers.utils import logging as transformers_logging

from memgap.cli import main
from memgap.config import ModelConfig
from memgap.models import load_configured_model
from pipeline_helpers import make_inputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"), families=6, rows=24)


@pytest.fixture(autouse=True)
def bars_on():
    transformers_logging.enable_progress_bar()
    yield
    transformers_logging.enable_progress_bar()


def test_loading_without_progress_prints_no_bar_and_restores_the_switch(inputs, capfd):
    model_dir, _ = inputs
    load_configured_model(ModelConfig(name=str(model_dir)))
    assert "Loading weights" in capfd.readouterr().err  # the bar this test is about does show by default
    load_configured_model(ModelConfig(name=str(model_dir)), progress=False)
    assert "Loading weights" not in capfd.readouterr().err
    assert transformers_logging.is_progress_bar_enabled()  # a notebook's later bars are untouched


def test_memgap_train_no_progress_prints_no_loading_bar(inputs, tmp_path, capfd):
    model_dir, data = inputs
    assert main(["train", "--data", str(data), "--model", str(model_dir), "--out", str(tmp_path / "out"),
                 "--max-steps", "1", "--no-progress"]) == 0
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "it/s]" not in err
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").exists()
