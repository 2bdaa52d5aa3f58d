"""The TRL recipe picks SFTConfig's `use_cpu` and `bf16` for the machine: TRL's default (bf16 on) is
refused on a machine without a CUDA GPU, the example's settings are not."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("trl")
import torch  # noqa: E402
from trl import SFTConfig  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trl_sft.py"


def example():
    spec = importlib.util.spec_from_file_location("trl_sft_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_device_settings_follow_the_machine():
    settings = example().device_settings()
    cuda = torch.cuda.is_available()
    assert settings == {"use_cpu": not cuda, "bf16": cuda and torch.cuda.is_bf16_supported()}


def test_sft_config_accepts_the_examples_settings_where_its_default_is_refused(tmp_path):
    config = SFTConfig(output_dir=str(tmp_path), report_to="none", **example().device_settings())
    assert config.bf16 == (torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if not torch.cuda.is_available():
        assert config.use_cpu
        with pytest.raises(ValueError, match="use_cpu"):  # what the recipe used to leave a CPU user with
            SFTConfig(output_dir=str(tmp_path), report_to="none")
