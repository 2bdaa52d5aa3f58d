"""Adapters as people save them load through PEFT with the adapter's own meaning, on one model; the
base is the model with the adapter disabled; `model.device`/`model.dtype` resolve as documented."""
from __future__ import annotations

import pytest
import torch

from memgap.adapters import load_adapter, read_adapter_folder
from memgap.devices import resolve_placement
from memgap.errors import MemgapError
from memgap.training.updates import realised_updates
from tiny_models import tiny_model, tiny_tokenizer

VARIANTS = {
    "rank_and_alpha_pattern": dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                   rank_pattern={"down_proj": 2}, alpha_pattern={"v_proj": 32}),
    "rslora": dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj"], use_rslora=True),
    "dora": dict(r=4, lora_alpha=8, target_modules=["q_proj", "o_proj"], use_dora=True),
    "modules_to_save": dict(r=2, lora_alpha=4, target_modules=["v_proj"], modules_to_save=["lm_head"]),
    "some_projections": dict(r=2, lora_alpha=4, target_modules=["up_proj"], layers_to_transform=[1]),
}


def _save_adapter(folder, settings, seed=1):
    import peft

    model = tiny_model("llama", seed=0)
    torch.manual_seed(seed)
    peft_model = peft.get_peft_model(model, peft.LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **settings))
    if "modules_to_save" in settings:
        with torch.no_grad():
            peft_model.base_model.model.lm_head.modules_to_save["default"].weight.mul_(1.5)
    peft_model.save_pretrained(folder, safe_serialization=True)
    return peft_model


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_loads_with_its_meaning_and_disables_to_the_base(tmp_path, variant):
    saved = _save_adapter(tmp_path / variant, VARIANTS[variant])
    ids = tiny_tokenizer()("Which box is red? The red box", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected_adapter = saved(input_ids=ids).logits
        plain_base = tiny_model("llama", seed=0)(input_ids=ids).logits
        loaded = load_adapter(tiny_model("llama", seed=0), read_adapter_folder(tmp_path / variant))
        adapter_logits = loaded(input_ids=ids).logits
        with loaded.disable_adapter():
            base_logits = loaded(input_ids=ids).logits
    assert torch.allclose(adapter_logits, expected_adapter, atol=1e-5)
    assert torch.allclose(base_logits, plain_base, atol=1e-6)
    assert not torch.allclose(adapter_logits, plain_base, atol=1e-4)
    rows = realised_updates(loaded)
    assert rows and all(row["frobenius_norm"] > 0 for row in rows)
    if variant == "rank_and_alpha_pattern":
        down = [row["effective_rank"] for row in rows if row["module"].endswith("down_proj")]
        others = [row["effective_rank"] for row in rows if not row["module"].endswith("down_proj")]
        assert down and max(down) <= 2 + 1e-6 < max(others)


def test_adapter_for_one_module_kind_targets_only_it(tmp_path):
    _save_adapter(tmp_path / "a", VARIANTS["some_projections"])
    loaded = load_adapter(tiny_model("llama", seed=0), read_adapter_folder(tmp_path / "a"))
    rows = realised_updates(loaded)
    assert {(row["layer"], row["module"]) for row in rows} == {(1, "mlp.up_proj")}


def test_missing_config_or_weights_are_named(tmp_path):
    _save_adapter(tmp_path / "a", VARIANTS["rslora"])
    (tmp_path / "a" / "adapter_config.json").unlink()
    with pytest.raises(MemgapError, match="no adapter_config.json"):
        read_adapter_folder(tmp_path / "a")
    with pytest.raises(MemgapError, match="no such adapter folder"):
        read_adapter_folder(tmp_path / "absent")


def test_placement_on_this_machine():
    cpu = resolve_placement("cpu", "bfloat16")
    assert (cpu.device, cpu.dtype) == ("cpu", "bfloat16")
    assert cpu.from_pretrained_kwargs() == {"dtype": torch.bfloat16}
    auto = resolve_placement("auto", "auto")
    if not torch.cuda.is_available():
        assert (auto.device, auto.dtype) == ("cpu", "float32")
        with pytest.raises(MemgapError, match="needs a CUDA GPU"):
            resolve_placement("auto", "auto", load_in_4bit=True)
        with pytest.raises(MemgapError, match="no CUDA GPU"):
            resolve_placement("cuda", "auto")


def test_audit_in_bfloat16_on_the_cpu(tmp_path):
    """The whole audit path with the weights in bfloat16: DoRA + rsLoRA + rank pattern + a saved head."""
    from memgap.adapter_audit import audit_adapter
    from memgap.config import load_config
    from memgap.data.io import records_to_rows, write_jsonl
    from memgap.splits import nested_split, write_split
    from tiny_models import save_tiny_model, tiny_records

    model_dir = save_tiny_model(tmp_path / "model")
    records = tiny_records(48, families=12)
    write_jsonl(tmp_path / "data.jsonl", records_to_rows(records))
    write_split(nested_split(records, unseen_fraction=0.4, seen_per_family=1, seed=0), tmp_path / "split")
    _save_adapter(tmp_path / "adapter", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], use_dora=True,
                                             use_rslora=True, rank_pattern={"v_proj": 2}, modules_to_save=["lm_head"]))
    config = load_config(overrides={
        "out": str(tmp_path / "audit"), "model.name": str(model_dir), "model.dtype": "bfloat16", "model.device": "cpu",
        "model.max_length": 64, "evaluation.max_new_tokens": 4, "evaluation.scorer": "token-f1",
        "evaluation.membership_train_rows": 4, "stats.n_resamples": 200, "data.path": str(tmp_path / "split"),
    })
    audit = audit_adapter(config, adapter=tmp_path / "adapter", split_dir=tmp_path / "split", progress=False)
    assert audit["model"]["dtype"] == "bfloat16" and audit["model"]["device"] == "cpu"
    assert audit["model"]["adapter_settings"]["use_dora"] is True
    nll = audit["lifts"]["nll"]
    assert nll["seen"]["n"] > 0 and nll["unseen"]["n"] > 0 and nll["seen"]["delta"] != 0.0
    assert audit["training"] is None and audit["gradients"] is None and audit["updates"]["modules"] == 4


def test_training_on_a_bfloat16_base_on_the_cpu(tmp_path):
    """`memgap run` and `memgap train` load through the same `model.*` settings: a bfloat16 base trains
    (PEFT keeps the LoRA matrices in float32) and the loss is finite."""
    import math

    from memgap.config import load_config
    from memgap.models import load_configured_model
    from memgap.training.sft import train_lora
    from tiny_models import save_tiny_model, tiny_records

    model_dir = save_tiny_model(tmp_path / "model")
    config = load_config(overrides={"model.name": str(model_dir), "model.dtype": "bfloat16", "model.device": "auto",
                                    "training.max_steps": 2, "data.path": "unused"})
    loaded = load_configured_model(config.model)
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    result = train_lora(loaded, tiny_records(8), lora=config.lora, training=config.training, max_length=64,
                        output_dir=tmp_path / "out", seed=0, progress=False)
    assert result.steps == 2 and all(math.isfinite(loss) for loss in result.train_losses)
    assert {p.dtype for n, p in result.model.named_parameters() if "lora_" in n} == {torch.float32}
