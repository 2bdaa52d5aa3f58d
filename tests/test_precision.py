"""One precision story: each setting resolved once with its reason, recorded, and `memgap run`'s adapter
figures equal to `memgap audit`'s of the saved adapter, bit for bit, under every training precision.

The bf16 path is forced here (`training.precision: bf16`), so it runs on every machine: natively on
a CPU with AVX512_BF16 or AMX, emulated (correct, slower) elsewhere; the tiny model keeps it cheap.
"""
from __future__ import annotations

import json

import pytest
import torch

from memgap.cli import main
from memgap.config import load_config
from memgap.errors import MemgapError
from memgap.training.precision import (
    Hardware, cpu_flags, cpu_has_native_bf16, evaluation_autocast, plan_precision, resolve_adapter_dtype,
    resolve_evaluation_precision, resolve_training_precision, saved_adapter_dtype,
)
from pipeline_helpers import make_inputs

AVX512_CPU = Hardware("cpu", frozenset({"avx512f", "avx512bw", "avx512_vnni"}))
BF16_CPU = Hardware("cpu", frozenset({"avx512f", "avx512_bf16"}))
AMX_CPU = Hardware("cpu", frozenset({"amx_bf16", "amx_tile"}))
AMPERE = Hardware("cuda", cuda_bf16=True)  # a stand-in for a GPU with bfloat16 (compute capability 8.0+)
TURING = Hardware("cuda", cuda_bf16=False)  # ... and for one without (a T4)


def test_auto_follows_the_cpu_flags_and_the_gpu():
    assert cpu_has_native_bf16({"avx512f", "avx512_bf16"}) and cpu_has_native_bf16({"amx_bf16"})
    assert not cpu_has_native_bf16(AVX512_CPU.cpu_flags)
    cases = {AVX512_CPU: "fp32", BF16_CPU: "bf16", AMX_CPU: "bf16", AMPERE: "bf16", TURING: "fp16"}
    for hardware, expected in cases.items():
        resolved = resolve_training_precision("auto", hardware)
        assert (resolved.value, resolved.requested) == (expected, "auto"), hardware
        assert resolved.reason.startswith("auto: ")
    assert "AVX512_BF16" in resolve_training_precision("auto", BF16_CPU).reason
    assert "AMX_BF16" in resolve_training_precision("auto", AMX_CPU).reason
    assert "no native bfloat16" in resolve_training_precision("auto", AVX512_CPU).reason
    assert "GPU supports bfloat16" in resolve_training_precision("auto", AMPERE).reason


def test_explicit_training_precisions_are_honoured_or_refused():
    assert resolve_training_precision("fp32", BF16_CPU).value == "fp32"
    emulated = resolve_training_precision("bf16", AVX512_CPU)  # correct, only slow: honoured
    assert emulated.value == "bf16" and "emulated" in emulated.reason
    assert resolve_training_precision("fp16", TURING).value == "fp16"
    with pytest.raises(MemgapError, match="fp16, which needs a CUDA GPU"):
        resolve_training_precision("fp16", BF16_CPU)
    with pytest.raises(MemgapError, match="no bfloat16 support"):
        resolve_training_precision("bf16", TURING)
    with pytest.raises(MemgapError, match="training.precision"):
        resolve_training_precision("half", BF16_CPU)


def test_evaluation_precision_follows_the_weights_unless_set():
    assert resolve_evaluation_precision("auto", "float32").value == "fp32"
    assert resolve_evaluation_precision("auto", "bfloat16").value == "bf16"  # a GPU base loaded in bf16
    assert resolve_evaluation_precision("bf16", "float32").value == "bf16"  # autocast down
    with pytest.raises(MemgapError, match="model.dtype to float32"):
        resolve_evaluation_precision("fp32", "bfloat16")  # no silent second copy of the weights
    assert resolve_adapter_dtype("auto").value == "fp32" and resolve_adapter_dtype("bf16").value == "bf16"
    plan = plan_precision(training="auto", evaluation="auto", adapter_dtype="auto", weights_dtype="float32",
                          hardware=BF16_CPU)
    assert {key: value["value"] for key, value in plan.to_dict().items()} == {
        "training": "bf16", "evaluation": "fp32", "adapter_weights": "fp32"}
    assert plan.describe().startswith("precision: training bf16 (auto: this CPU has AVX512_BF16)")


def test_evaluation_autocast_changes_the_products_only_when_asked():
    torch.manual_seed(0)
    a, b = torch.randn(64, 64), torch.randn(64, 64)
    with evaluation_autocast(resolve_evaluation_precision("auto", "float32"), "float32", "cpu"):
        exact = a @ b
    with evaluation_autocast(resolve_evaluation_precision("bf16", "float32"), "float32", "cpu"):
        rounded = a @ b
    assert exact.dtype == torch.float32 and torch.equal(exact, a @ b)
    assert rounded.dtype == torch.bfloat16 and not torch.equal(rounded.float(), exact)


def test_precision_settings_are_validated_with_their_key():
    config = load_config(None)
    assert (config.training.precision, config.training.adapter_dtype, config.evaluation.precision) == ("auto",) * 3
    for key in ("training.precision", "training.adapter_dtype", "evaluation.precision"):
        assert load_config(None, {key: "bf16"}) is not None
        with pytest.raises(MemgapError, match=key.replace(".", r"\.")):
            load_config(None, {key: "half"})


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_tile\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "sse", "avx512_bf16", "amx_tile"}
    assert cpu_flags(tmp_path / "absent") == set()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


def _rows(folder, label):
    return [json.loads(line) for line in (folder / "evaluation" / f"{label}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("training_precision,adapter_dtype", [("fp32", "auto"), ("bf16", "auto"), ("bf16", "bf16")])
def test_quick_run_then_audit_give_identical_figures(inputs, tmp_path, training_precision, adapter_dtype):
    """`memgap run --quick`, then `memgap audit --quick` of its adapter and split: the same numbers exactly."""
    model_dir, data = inputs
    settings = tmp_path / "small.yaml"
    settings.write_text("model: {max_length: 64}\nevaluation: {max_new_tokens: 6, scorer: token-f1}\n"
                        f"training: {{precision: {training_precision}, adapter_dtype: {adapter_dtype}}}\n")
    run, audit = tmp_path / "run", tmp_path / "audit"
    assert main(["run", "--quick", "--data", str(data), "--model", str(model_dir), "--config", str(settings),
                 "--out", str(run), "--no-progress"]) == 0
    assert main(["audit", "--quick", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                 "--split", str(run / "split"), "--config", str(settings), "--out", str(audit), "--no-progress"]) == 0
    ran, audited = (json.loads((folder / "audit.json").read_text()) for folder in (run, audit))
    # Bit for bit: no rounding between the two, on every item's NLL and on the statistics built from them.
    for label in ("base", "adapter"):
        assert [(r["id"], r["nll"], r.get("generation")) for r in _rows(run, label)] == \
               [(r["id"], r["nll"], r.get("generation")) for r in _rows(audit, label)], label
    for key in ("metrics", "lifts", "gap", "generalization_ratio"):
        assert audited[key] == ran[key], key
    assert audited["verdict"]["label"] == ran["verdict"]["label"]

    expected_dtype = "bf16" if adapter_dtype == "bf16" else "fp32"
    assert ran["precision"]["training"]["value"] == training_precision
    assert ran["precision"]["training"]["reason"] == "set in the config" or "emulated" in ran["precision"]["training"]["reason"]
    assert ran["precision"]["evaluation"]["value"] == audited["precision"]["evaluation"]["value"] == "fp32"
    assert ran["precision"]["adapter_weights"]["value"] == expected_dtype
    assert audited["precision"]["training"] is None  # no --training-dir: how training ran is not known
    assert audited["precision"]["adapter_weights"]["value"] == expected_dtype
    assert saved_adapter_dtype(run / "training" / "adapter" / "adapter_model.safetensors").value == expected_dtype
    report = (run / "report.md").read_text()
    assert f"| training | {training_precision} (" in report and "| evaluation | fp32 (auto: the weights' own dtype" in report


def test_an_audit_with_memgaps_training_folder_records_how_training_ran(inputs, tmp_path):
    model_dir, data = inputs
    settings = tmp_path / "small.yaml"
    settings.write_text("model: {max_length: 64}\nevaluation: {max_new_tokens: 4, scorer: token-f1}\n"
                        "training: {precision: bf16}\n")
    run = tmp_path / "run"
    assert main(["run", "--quick", "--data", str(data), "--model", str(model_dir), "--config", str(settings),
                 "--out", str(run), "--no-progress"]) == 0
    assert main(["audit", "--quick", "--model", str(model_dir), "--adapter", str(run / "training" / "adapter"),
                 "--split", str(run / "split"), "--training-dir", str(run / "training"), "--config", str(settings),
                 "--out", str(tmp_path / "audit"), "--no-progress"]) == 0
    audited = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert audited["precision"]["training"]["value"] == "bf16"
    assert audited["precision"]["training"]["reason"].startswith("read from train_result.json: ")
