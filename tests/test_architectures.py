"""Where LoRA modules sit: layer, in-layer path and group, for each supported family."""
import pytest

from memgap.errors import MemgapError
from memgap.training.architectures import adaptable_modules, check_lora_targets, default_lora_targets, describe_module
from tiny_models import tiny_model

EXPECTED = {
    "base_model.model.model.layers.3.self_attn.q_proj": (3, "self_attn.q_proj", "attention"),
    "model.layers.0.mlp.down_proj": (0, "mlp.down_proj", "mlp"),
    "model.layers.11.mlp.gate_proj": (11, "mlp.gate_proj", "mlp"),
    "transformer.h.2.attn.c_attn": (2, "attn.c_attn", "attention"),
    "transformer.h.2.attn.c_proj": (2, "attn.c_proj", "attention"),
    "transformer.h.2.mlp.c_proj": (2, "mlp.c_proj", "mlp"),
    "transformer.h.5.mlp.c_fc": (5, "mlp.c_fc", "mlp"),
    "gpt_neox.layers.1.attention.query_key_value": (1, "attention.query_key_value", "attention"),
    "gpt_neox.layers.1.attention.dense": (1, "attention.dense", "attention"),
    "gpt_neox.layers.1.mlp.dense_h_to_4h": (1, "mlp.dense_h_to_4h", "mlp"),
    "gpt_neox.layers.1.mlp.dense_4h_to_h": (1, "mlp.dense_4h_to_h", "mlp"),
    "model.layers.4.self_attn.dense": (4, "self_attn.dense", "attention"),
    "model.layers.4.mlp.fc1": (4, "mlp.fc1", "mlp"),
    "module.base_model.model.model.layers.7.self_attn.v_proj": (7, "self_attn.v_proj", "attention"),
    "model.layers.2.weird_block.gizmo": (2, "weird_block.gizmo", "other"),
    "lm_head": (-1, "lm_head", "other"),
}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_describe_module(path):
    where = describe_module(path)
    assert (where.layer, where.module, where.group) == EXPECTED[path]


def test_gpt2_two_c_proj_are_told_apart_in_a_real_model():
    model = tiny_model("gpt2")
    c_proj = [name for name in adaptable_modules(model) if name.endswith("c_proj")]
    groups = {describe_module(name).group for name in c_proj}
    assert len(c_proj) == 4 and groups == {"attention", "mlp"}


@pytest.mark.parametrize("family, expected", [
    ("llama", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    ("gpt2", ["c_attn", "c_proj", "c_fc"]),
    ("gpt_neox", ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
    ("phi", ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"]),
])
def test_default_targets_match_every_projection_of_the_family(family, expected):
    model = tiny_model(family)
    targets = default_lora_targets(model)
    assert targets == expected
    check_lora_targets(model, targets)  # each default matches a module
    # every linear layer inside the blocks is covered, and every module gets a real group
    for name in adaptable_modules(model):
        if name != "lm_head":
            assert name.rsplit(".", 1)[-1] in targets
            assert describe_module(name).group in ("attention", "mlp")


def test_unknown_family_falls_back_to_linear_layers_inside_blocks():
    model = tiny_model("llama")
    model.config.model_type = "brand_new_arch"
    assert sorted(default_lora_targets(model)) == sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def test_bad_target_lists_the_linear_modules():
    with pytest.raises(MemgapError) as error:
        check_lora_targets(tiny_model("gpt2"), ["q_proj", "c_attn"])
    message = str(error.value)
    assert "'q_proj'" in message and "'c_attn'" not in message.split("match no module")[0]
    for leaf in ("c_attn", "c_proj", "c_fc", "lm_head"):
        assert leaf in message.split("are:")[1]
