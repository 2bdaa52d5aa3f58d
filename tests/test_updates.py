"""The realised update dW = scaling * B A: norms and effective rank from the r x r core equal the full matrix's."""
import peft
import pytest
import torch

from memgap.training.architectures import default_lora_targets, describe_module
from memgap.training.updates import effective_rank, realised_updates, update_summary, write_updates_csv
from tiny_models import tiny_model


def _peft(family, r=4, alpha=12):
    model = tiny_model(family)
    config = peft.LoraConfig(task_type="CAUSAL_LM", r=r, lora_alpha=alpha, target_modules=default_lora_targets(model), init_lora_weights=False)
    return peft.get_peft_model(model, config)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_rows_match_the_full_delta_weight(family):
    model = _peft(family)
    rows = realised_updates(model)
    lora_layers = {name: module for name, module in model.named_modules() if isinstance(module, peft.tuners.lora.LoraLayer)}
    assert len(rows) == len(lora_layers)
    for row, (name, module) in zip(rows, lora_layers.items()):
        delta = module.get_delta_weight("default").detach().double()  # PEFT's own dW, full size
        singular = torch.linalg.svdvals(delta).numpy()
        assert (row["layer"], row["module"]) == (describe_module(name).layer, describe_module(name).module)
        assert row["frobenius_norm"] == pytest.approx(float(delta.norm()), rel=1e-6)
        assert row["relative_norm"] == pytest.approx(float(delta.norm() / module.get_base_layer().weight.double().norm()), rel=1e-6)
        assert row["effective_rank"] == pytest.approx(effective_rank(singular[:4]), rel=1e-5)  # rank <= r; the rest is float32 noise
        assert 1.0 <= row["effective_rank"] <= 4.0 + 1e-9


def test_effective_rank_of_known_spectra():
    assert effective_rank([1.0, 1.0, 1.0, 1.0]) == pytest.approx(4.0)
    assert effective_rank([5.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert effective_rank([0.0, 0.0]) == 0.0
    assert 1.0 < effective_rank([3.0, 1.0]) < 2.0


def test_zero_update_of_fresh_adapter_and_summary(tmp_path):
    model = tiny_model("llama")
    fresh = peft.get_peft_model(model, peft.LoraConfig(task_type="CAUSAL_LM", r=4, target_modules=["q_proj", "down_proj"]))
    rows = realised_updates(fresh)
    assert {row["module"] for row in rows} == {"self_attn.q_proj", "mlp.down_proj"}
    assert all(row["frobenius_norm"] == 0.0 and row["effective_rank"] == 0.0 for row in rows)
    trained_rows = realised_updates(_peft("llama"))
    summary = update_summary(trained_rows)
    assert summary["modules"] == len(trained_rows)
    assert sum(summary["by_group"].values()) == pytest.approx(1.0)
    assert summary["relative_norm_max"] == pytest.approx(max(r["relative_norm"] for r in trained_rows))
    path = write_updates_csv(tmp_path / "updates.csv", trained_rows)
    lines = path.read_text().splitlines()
    assert lines[0] == "layer,module,group,frobenius_norm,relative_norm,effective_rank" and len(lines) == len(trained_rows) + 1
