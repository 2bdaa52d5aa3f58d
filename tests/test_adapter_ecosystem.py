"""Adapters as Unsloth, axolotl, TRL and PEFT save them, audited as they are.

The four cases in tests/data/adapters_and_files/ (README.md there) run through the CLI as a user runs
them; the PEFT layouts behind them (saved embedding layers, trainable tokens, a resized vocabulary, a
named adapter, a merged model) are built here on tiny models and must load with the adapter's own
outputs, or be refused in one line that says what to pass instead. Merged and unmerged evaluation
must give the same figures.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

from memgap.adapter_tokenizer import rows_tokenizer
from memgap.adapter_fit import merge_blocker
from memgap.adapters import check_fits_base, ignored_config_keys, load_adapter, read_adapter_folder
from memgap.cli import main
from memgap.errors import MemgapError
from tiny_models import CHATML_TEMPLATE, save_tiny_model, tiny_model, tiny_records, tiny_tokenizer

CASES = Path(__file__).parent / "data" / "adapters_and_files"
ALPACA_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}### Instruction:\n{{ m['content'] }}\n\n"
    "{% elif m['role'] == 'assistant' %}### Response:\n{{ m['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}### Response:\n{% endif %}"
)


def _audit_case(adapter: str, out: Path, monkeypatch, *, model: str = "models/llama") -> int:
    monkeypatch.chdir(CASES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        return main(["audit", "--model", model, "--split", "split", "--config", "tiny.yaml", "--no-progress",
                     "--adapter", f"adapters/{adapter}", "--out", str(out)])
    except SystemExit as stop:
        return int(stop.code)


def _cli_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- the four cases, as a user runs them -------------------------------------------------------------------


def test_embedding_layers_saved_with_modules_to_save_is_audited(tmp_path, monkeypatch):
    """huggingface/peft#1457: modules_to_save=[embed_tokens, lm_head] saved with save_embedding_layers=True."""
    assert _audit_case("embedding_layers_saved", tmp_path / "out", monkeypatch) == 0
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert audit["model"]["adapter_loading"]["embedding_rows"]["resized_to"] is None
    assert audit["lifts"]["nll"]["seen"]["delta"] != 0.0


def test_template_beside_the_adapter_renders_the_rows(tmp_path, monkeypatch, capsys):
    """unslothai/unsloth#880: the adapter trained with ChatML saved beside it; the base's template is Alpaca-style."""
    assert _audit_case("template_beside_adapter", tmp_path / "out", monkeypatch, model="models/llama_alpacatpl") == 0
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    template = audit["data"]["rendering"]["chat_template"]
    adapter_template = (CASES / "adapters" / "template_beside_adapter" / "chat_template.jinja").read_text(encoding="utf-8")
    assert template["source"] == "adapter" and template["same_as_base"] is False
    assert template["sha256"] == hashlib.sha256(adapter_template.encode("utf-8")).hexdigest()
    assert any("chat template" in warning and "differs" in warning for warning in audit["warnings"])
    assert "chat template saved beside the adapter" in capsys.readouterr().err


def test_the_rows_are_rendered_with_the_adapters_template_not_the_bases(tmp_path):
    from memgap.encoding import encode

    monkey_base = tiny_tokenizer(ALPACA_TEMPLATE)
    rendering = rows_tokenizer(CASES / "adapters" / "template_beside_adapter", monkey_base)
    record = tiny_records(1)[0]
    text = rendering.tokenizer.decode(encode(rendering.tokenizer, record, 128, assistant_turns="last").input_ids)
    assert "<|im_start|>user" in text and "### Instruction" not in text
    assert rendering.template_source == "adapter" and not rendering.same_template_as_base
    # A template file alone beside the adapter renders with the base's tokenizer; a template inside
    # tokenizer_config.json (as older transformers saved it) counts the same as chat_template.jinja.
    only_template = tmp_path / "only_template"
    only_template.mkdir()
    shutil.copy(CASES / "adapters" / "template_beside_adapter" / "chat_template.jinja", only_template)
    alone = rows_tokenizer(only_template, monkey_base)
    assert alone.tokenizer_source == "base" and alone.template_source == "adapter" and alone.warnings
    assert alone.tokenizer.chat_template == rendering.tokenizer.chat_template and monkey_base.chat_template == ALPACA_TEMPLATE
    inside = tmp_path / "inside"
    tiny_tokenizer(CHATML_TEMPLATE).save_pretrained(inside)
    (inside / "chat_template.jinja").unlink(missing_ok=True)
    settings = json.loads((inside / "tokenizer_config.json").read_text())
    settings["chat_template"] = CHATML_TEMPLATE
    (inside / "tokenizer_config.json").write_text(json.dumps(settings))
    assert rows_tokenizer(inside, monkey_base).tokenizer.chat_template == CHATML_TEMPLATE
    # No tokenizer or template beside the adapter: the base's renders, with no warning.
    plain = rows_tokenizer(CASES / "adapters" / "lora_bias", monkey_base)
    assert plain.tokenizer is monkey_base and plain.template_source == "base" and plain.warnings == ()


def test_a_config_from_a_newer_peft_warns_naming_the_keys_and_both_versions(tmp_path, monkeypatch, capsys):
    """huggingface/peft#2275: keys this PEFT does not know, all switched off."""
    import peft

    assert _audit_case("newer_peft_config", tmp_path / "out", monkeypatch) == 0
    warnings = json.loads((tmp_path / "out" / "audit.json").read_text())["warnings"]
    (warning,) = [w for w in warnings if "unknown to PEFT" in w]
    for word in ("lora_block_config", "tiny_future_option", "use_hira", "0.99.0", peft.__version__):
        assert word in warning
    assert "use_hira" in capsys.readouterr().err


def test_an_ignored_key_that_switches_a_feature_on_is_refused_before_any_folder(tmp_path, capsys):
    adapter = tmp_path / "adapter"
    shutil.copytree(CASES / "adapters" / "newer_peft_config", adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["use_hira"] = True
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    message = _cli_error(capsys, ["audit", "--model", str(CASES / "models" / "llama"), "--split", str(CASES / "split"),
                                  "--config", str(CASES / "tiny.yaml"), "--adapter", str(adapter), "--out", str(out)])
    assert "use_hira=True" in message and "0.99.0" in message and "tiny_future_option" not in message
    assert not out.exists()
    # The rule itself: a switch set on, or a non-empty list or object, is refused; anything else is a warning.
    keys, warning = ignored_config_keys({"r": 8, "new_a": None, "new_b": False, "new_c": {}, "new_d": "per_layer",
                                         "new_e": 2}, where="x")
    assert keys == ["new_a", "new_b", "new_c", "new_d", "new_e"] and "new_d='per_layer'" in warning
    assert "not recorded" in warning
    for value in (True, {"k": 1}, [3, 4]):
        with pytest.raises(MemgapError, match="new_key="):
            ignored_config_keys({"new_key": value, "peft_version": "9.0"}, where="x")


def test_a_value_this_peft_rejects_is_one_line_with_both_versions(tmp_path):
    adapter = tmp_path / "adapter"
    shutil.copytree(CASES / "adapters" / "newer_peft_config", adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["init_lora_weights"] = "a_future_method"
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(MemgapError, match="PEFT cannot load this adapter .*a_future_method.*saved by PEFT 0.99.0"):
        load_adapter(tiny_model("llama", tokenizer=tiny_tokenizer()), read_adapter_folder(adapter))


def test_lora_bias_is_evaluated_unmerged_and_the_run_folder_is_whole(tmp_path, monkeypatch):
    """huggingface/peft#2716: PEFT loads lora_bias=True but cannot merge it into bias-less layers."""
    assert _audit_case("lora_bias", tmp_path / "out", monkeypatch) == 0
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    loading = audit["model"]["adapter_loading"]
    assert loading["merged_for_evaluation"] is False and "lora_bias" in loading["unmerged_because"]
    assert (tmp_path / "out" / "evaluation" / "adapter.jsonl").exists() and (tmp_path / "out" / "report.md").exists()


# --- PEFT's layouts, built here: each loads with the adapter's own outputs -----------------------------------


def _ids(tokenizer, text="Which box is red? The red box"):
    return tokenizer(text, return_tensors="pt")["input_ids"]


def _saved_adapter(folder: Path, lora: dict, *, tokenizer=None, new_tokens=(), tie=False, save_embedding_layers="auto",
                   trainable_new_tokens=False):
    """A LoRA adapter on the tiny Llama with nonzero weights, saved as PEFT's save_pretrained writes it
    (with the tokenizer beside it when one is given); returns the in-memory PEFT model and its tokenizer."""
    import peft

    tokenizer = tokenizer or tiny_tokenizer()
    model = tiny_model("llama", seed=0, tie_word_embeddings=tie)
    if new_tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": list(new_tokens)})
        torch.manual_seed(3)
        model.resize_token_embeddings(len(tokenizer))
    if trainable_new_tokens:
        lora = {**lora, "trainable_token_indices": tokenizer.convert_tokens_to_ids(list(new_tokens))}
    torch.manual_seed(1)
    peft_model = peft.get_peft_model(model, peft.LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **lora))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "modules_to_save" in name or "trainable_tokens_delta" in name:
                parameter.add_(0.5)
    peft_model.save_pretrained(folder, safe_serialization=True, save_embedding_layers=save_embedding_layers)
    if new_tokens or tokenizer.chat_template != CHATML_TEMPLATE:
        tokenizer.save_pretrained(folder)
    peft_model.eval()
    return peft_model, tokenizer


def _load_as_the_audit_does(folder: Path, *, tie=False):
    """Load the adapter onto a fresh base exactly as memgap audit does: tokenizer beside it, fit, load."""
    base_tokenizer = tiny_tokenizer()
    adapter = read_adapter_folder(folder)
    rendering = rows_tokenizer(folder, base_tokenizer)
    base = tiny_model("llama", seed=0, tie_word_embeddings=tie)
    fit = check_fits_base(adapter, base, tokenizer_size=rendering.adapter_tokenizer_size)
    return load_adapter(base, adapter, fit=fit), rendering, fit


@pytest.mark.parametrize("layout", ["modules_to_save_embedding_layers", "trainable_tokens", "resized_vocabulary",
                                    "resized_vocabulary_modules_to_save", "trainable_new_tokens_tied"])
def test_peft_layouts_load_with_the_adapters_own_outputs(tmp_path, layout):
    lora = dict(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
    new = ("<|tool|>", "<|obs|>")
    settings = {
        "modules_to_save_embedding_layers": dict(lora={**lora, "modules_to_save": ["embed_tokens", "lm_head"]},
                                                 save_embedding_layers=True),
        "trainable_tokens": dict(lora={**lora, "trainable_token_indices": [5, 6, 40]}),
        "resized_vocabulary": dict(lora=lora, new_tokens=new, save_embedding_layers=True),
        "resized_vocabulary_modules_to_save": dict(lora={**lora, "modules_to_save": ["embed_tokens", "lm_head"]},
                                                   new_tokens=new, save_embedding_layers=True),
        "trainable_new_tokens_tied": dict(lora=lora, new_tokens=new, tie=True, trainable_new_tokens=True,
                                          save_embedding_layers=False),
    }[layout]
    saved, tokenizer = _saved_adapter(tmp_path / "adapter", **settings)
    loaded, rendering, fit = _load_as_the_audit_does(tmp_path / "adapter", tie=settings.get("tie", False))
    ids = _ids(tokenizer, "Which box is red? <|tool|> The red box <|obs|>" if "new_tokens" in settings else
               "Which box is red? The red box")
    with torch.no_grad():
        expected, actual = saved(input_ids=ids).logits, loaded(input_ids=ids).logits
    assert torch.allclose(actual, expected, atol=1e-5)
    if "new_tokens" in settings:
        assert fit.embedding_rows == len(tokenizer) and rendering.adapter_tokenizer_size == len(tokenizer)
        assert loaded.get_base_model().get_input_embeddings().weight.shape[0] == len(tokenizer)
    else:
        assert fit.embedding_rows is None


@pytest.mark.parametrize("tie", [False, True])
def test_a_resized_vocabulary_whose_embeddings_were_not_saved_is_one_line_with_both_sizes(tmp_path, tie):
    lora = dict(r=2, lora_alpha=4, target_modules=["q_proj"])
    _, tokenizer = _saved_adapter(tmp_path / "adapter", lora, new_tokens=("<|a|>", "<|b|>"), tie=tie,
                                  save_embedding_layers=False)
    base_rows = len(tokenizer) - 2
    with pytest.raises(MemgapError, match=f"{len(tokenizer)} tokens .* {base_rows} rows.*another vocabulary size"):
        _load_as_the_audit_does(tmp_path / "adapter", tie=tie)


def test_untied_trainable_new_tokens_load_with_a_note_on_the_heads_rows(tmp_path):
    """PEFT's recipe for new tokens (resize, trainable_token_indices) on an untied head: the input rows are
    in the adapter, the head's rows for the new tokens are not; every other logit is the adapter's own."""
    lora = dict(r=2, lora_alpha=4, target_modules=["q_proj"])
    saved, tokenizer = _saved_adapter(tmp_path / "adapter", lora, new_tokens=("<|a|>", "<|b|>"),
                                      trainable_new_tokens=True, save_embedding_layers=False)
    loaded, _, fit = _load_as_the_audit_does(tmp_path / "adapter")
    assert fit.embedding_rows == len(tokenizer) and any("LM head's rows for the 2 tokens" in note for note in fit.notes)
    ids = _ids(tokenizer, "Which box <|a|> is red? <|b|>")
    old = len(tokenizer) - 2
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits[..., :old], saved(input_ids=ids).logits[..., :old], atol=1e-5)


def test_a_base_with_more_layers_than_the_adapters_is_refused(tmp_path):
    _saved_adapter(tmp_path / "adapter", dict(r=2, lora_alpha=4, target_modules=["q_proj"]))
    deeper = tiny_model("llama", num_hidden_layers=3)
    with pytest.raises(MemgapError, match="adapts 'model.layers.2.self_attn.q_proj' .* no weights for it: a base with more layers"):
        check_fits_base(read_adapter_folder(tmp_path / "adapter"), deeper)


def test_tensors_of_a_feature_the_config_does_not_switch_on_are_refused(tmp_path):
    """DoRA's magnitude vectors saved, but adapter_config.json (as an older PEFT would read it) without
    use_dora: PEFT would drop them silently and compute plain LoRA."""
    _saved_adapter(tmp_path / "adapter", dict(r=2, lora_alpha=4, target_modules=["q_proj"], use_dora=True))
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    config["use_dora"] = False
    (tmp_path / "adapter" / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(MemgapError, match="lora_magnitude_vector.*which PEFT does not load onto this base"):
        check_fits_base(read_adapter_folder(tmp_path / "adapter"), tiny_model("llama"))


def test_a_merged_model_or_a_named_adapters_parent_is_one_line_saying_what_to_pass(tmp_path, capsys):
    import peft

    base = save_tiny_model(tmp_path / "base")
    merged = tmp_path / "merged"
    model = tiny_model("llama")
    peft_model = peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    peft_model.merge_and_unload().save_pretrained(merged, safe_serialization=True)
    named = tmp_path / "named"
    peft.get_peft_model(tiny_model("llama"), peft.LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"),
                        adapter_name="my_task").save_pretrained(named, safe_serialization=True)
    assert (named / "my_task" / "adapter_config.json").exists()
    split = str(CASES / "split")
    message = _cli_error(capsys, ["audit", "--model", str(base), "--adapter", str(merged), "--split", split,
                                  "--out", str(tmp_path / "a")])
    assert "full model" in message and "merged" in message and "adapter_config.json" in message
    message = _cli_error(capsys, ["audit", "--model", str(base), "--adapter", str(named), "--split", split,
                                  "--out", str(tmp_path / "b")])
    assert "my_task" in message and f"--adapter {named / 'my_task'}" in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    # The subfolder itself is an adapter folder; one of its files is not.
    assert read_adapter_folder(named / "my_task").config["r"] == 2
    with pytest.raises(MemgapError, match=f"not one file: pass --adapter {named / 'my_task'}"):
        read_adapter_folder(named / "my_task" / "adapter_model.safetensors")


# --- evaluation without a merge ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "lora"), [
    ("llama", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], use_dora=True,
                   rank_pattern={"down_proj": 2}, modules_to_save=["lm_head"])),
    ("gpt2", dict(r=4, lora_alpha=8, target_modules=["c_attn", "c_fc"], lora_bias=True)),  # GPT-2's layers have biases
])
def test_merged_and_unmerged_evaluation_give_the_same_figures(tmp_path, family, lora):
    """Tolerance: the merged weight W + sBA and the unmerged Wx + s·B(Ax) differ only by float32 rounding
    (relative 1e-7 per operation); over two layers of width 32 that moves a per-token NLL by about
    1e-6, so 1e-5 (relative) bounds rounding while any real difference in the computation (a missing
    bias, a wrong scale) moves it by orders of magnitude more. Greedy generations must be identical."""
    import peft

    from memgap.evaluation.evaluate import evaluate_model, merged_lora
    from memgap.evaluation.scoring import resolve_scorer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(1)
    model = peft.get_peft_model(tiny_model(family, tokenizer=tokenizer),
                                peft.LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **lora))
    model.eval()
    assert merge_blocker(model) is None
    records = tiny_records(12)
    holdouts = {"seen": records[:6], "unseen": records[6:]}

    def evaluate():
        return evaluate_model(model, tokenizer, holdouts, model_label="adapter", scorer=resolve_scorer("token-f1"),
                              generate_holdouts=("seen", "unseen"), max_length=64, max_new_tokens=6,
                              generation_batch_size=12, nll_batch_size=12, progress=False)

    with torch.no_grad():
        unmerged = evaluate()
        with merged_lora(model):
            assert any(getattr(module, "merged", False) for module in model.modules())
            merged = evaluate()
    assert not any(getattr(module, "merged", False) for module in model.modules())
    assert [row.nll for row in merged] == pytest.approx([row.nll for row in unmerged], rel=1e-5)
    assert [row.generation for row in merged] == [row.generation for row in unmerged]
    assert [row.score for row in merged] == [row.score for row in unmerged]


@pytest.mark.parametrize(("setting", "reason"), [
    ({"lora_bias": True}, "lora_bias"),  # Llama's projections have no bias to merge it into
    ({"alora_invocation_tokens": [5, 6]}, "aLoRA"),
    ({"layer_replication": [[0, 2], [1, 2]]}, "replicated"),  # merged, both replicas' updates land on shared weights
])
def test_an_adapter_peft_cannot_merge_is_evaluated_unmerged_with_its_weights_untouched(setting, reason):
    import peft

    from memgap.evaluation.evaluate import merged_lora

    torch.manual_seed(1)
    model = peft.get_peft_model(tiny_model("llama"), peft.LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False,
                                                                      task_type="CAUSAL_LM", **setting))
    before = {name: parameter.clone() for name, parameter in model.named_parameters()}
    assert reason in merge_blocker(model)
    with merged_lora(model):
        assert not any(getattr(module, "merged", False) for module in model.modules())
    assert all(torch.equal(parameter, before[name]) for name, parameter in model.named_parameters())
