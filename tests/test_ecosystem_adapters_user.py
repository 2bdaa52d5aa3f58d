"""`memgap audit` on adapter folders as Unsloth, axolotl, TRL and PEFT recipes save them (tiny models).

Each case builds the adapter the way the tool's recipe does (tests/ecosystem_adapters.py), audits it
from the command line on a nested split of a small family-labelled data set, and checks what a user
is told: an audit (exit 0, audit.json), or one error line (exit 2, no traceback, no --out folder).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import ecosystem_adapters as eco

BASE_VOCAB = 400  # the tiny tokenizer's size (ecosystem_adapters.build_tokenizer)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ecosystem")
    rows = eco.write_rows(root / "rows.jsonl")
    base = eco.build_base(root / "base")
    split = root / "split"
    result = eco.memgap("split", rows, "--strategy", "nested", "--out", split)
    assert result.returncode == 0, result.stderr
    config = root / "audit.yaml"
    config.write_text(eco.AUDIT_CONFIG)
    tied = eco.build_base(root / "base_tied", tie_word_embeddings=True)
    return {"root": root, "base": base, "base_tied": tied, "split": split, "config": config}


class _Adapters(dict):
    """Adapter folders by kind, each built the first time a test asks for it."""

    def __init__(self, workspace):
        super().__init__()
        self.workspace = workspace

    def __missing__(self, kind):
        folder = self.workspace["root"] / "adapters" / kind
        if kind == "trainable_new_tokens_tied":
            self[kind] = eco.build_adapter("trainable_new_tokens", self.workspace["base_tied"], folder)
        else:
            self[kind] = eco.build_adapter(kind, self.workspace["base"], folder)
        return self[kind]


@pytest.fixture(scope="module")
def adapters(workspace):
    return _Adapters(workspace)


def _audit(workspace, adapter: Path, name: str, base: str = "base"):
    out = workspace["root"] / "audits" / name
    result = eco.memgap("audit", "--model", workspace[base], "--adapter", adapter, "--split", workspace["split"],
                        "--config", workspace["config"], "--no-progress", "--out", out)
    return result, out


def _shown(result) -> str:
    return f"rc={result.returncode}\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"


def _assert_audited(result, out: Path) -> dict:
    assert result.returncode == 0, _shown(result)
    assert "Traceback" not in result.stderr, _shown(result)
    audit = json.loads((out / "audit.json").read_text())
    assert audit["protocol"] and audit["verdict"], audit.keys()
    return audit


def _warnings_text(audit: dict) -> str:
    return json.dumps(audit.get("warnings") or [])


def test_a_plain_lora_on_attention_is_audited(workspace, adapters):
    result, out = _audit(workspace, adapters["plain"], "plain")
    audit = _assert_audited(result, out)
    # The tokenizer saved beside the adapter (as Unsloth and SFTTrainer save it) is the base's own:
    # nothing to warn about.
    assert "template" not in _warnings_text(audit).lower(), audit.get("warnings")


def test_b_modules_to_save_embed_tokens_and_lm_head_is_audited_on_the_same_base(workspace, adapters):
    """axolotl `lora_modules_to_save: [embed_tokens, lm_head]`, saved with save_embedding_layers=True."""
    result, out = _audit(workspace, adapters["modules_to_save"], "modules_to_save")
    _assert_audited(result, out)


def test_c_trl_chat_format_resize_with_saved_embeddings_is_audited(workspace, adapters):
    """TRL setup_chat_format (ChatML tokens added, embeddings resized 400 -> 402), tokenizer beside the
    adapter, embedding layers saved: the base's embeddings are resized to the adapter's tokenizer."""
    result, out = _audit(workspace, adapters["chat_format_resized"], "chat_format_resized")
    _assert_audited(result, out)


def test_c2_resize_to_a_multiple_of_64_with_modules_to_save_is_audited(workspace, adapters):
    """clone_chat_template's default rounding (402 tokens, embeddings of 448 rows) with axolotl's
    lora_modules_to_save."""
    result, out = _audit(workspace, adapters["chat_format_multiple_of_64"], "chat_format_multiple_of_64")
    _assert_audited(result, out)


def test_d_resize_without_saved_embedding_layers_is_one_line_naming_both_vocabulary_sizes(workspace, adapters):
    """The new tokens' embeddings were never saved: the adapter cannot be evaluated as trained."""
    result, out = _audit(workspace, adapters["chat_format_no_embeddings"], "chat_format_no_embeddings")
    line = eco.assert_one_line_error(result, out)
    assert str(BASE_VOCAB) in line and str(BASE_VOCAB + 2) in line, line


def test_e_trainable_token_indices_is_audited(workspace, adapters):
    result, out = _audit(workspace, adapters["trainable_tokens"], "trainable_tokens")
    _assert_audited(result, out)


def test_e2_trainable_token_indices_on_added_tokens_of_a_tied_base_is_audited(workspace, adapters):
    """PEFT's recipe for new tokens: add them, resize, train only their rows (trainable_token_indices).
    With tied embeddings the adapter holds everything the added tokens need (input and output rows);
    the tokenizer beside it has the 402 tokens: the base is resized to it."""
    result, out = _audit(workspace, adapters["trainable_new_tokens_tied"], "trainable_new_tokens_tied",
                         base="base_tied")
    _assert_audited(result, out)


def test_e3_trainable_token_indices_on_added_tokens_of_an_untied_base_is_never_silent(workspace, adapters):
    """Untied, the lm_head rows of the added tokens were initialised at resize time and never saved, so
    the trained model cannot be rebuilt exactly. Either refused in one line naming both vocabulary
    sizes, or audited with a warning saying the output rows of the added tokens are not the trained ones."""
    result, out = _audit(workspace, adapters["trainable_new_tokens"], "trainable_new_tokens")
    if result.returncode == 0:
        warnings = _warnings_text(json.loads((out / "audit.json").read_text())).lower()
        assert "lm head" in warnings or "lm_head" in warnings or "output" in warnings, _shown(result)
        assert str(BASE_VOCAB + 2) in warnings or "2 tokens" in warnings, _shown(result)
    else:
        line = eco.assert_one_line_error(result, out)
        assert str(BASE_VOCAB) in line and str(BASE_VOCAB + 2) in line, line


def test_f_a_chat_template_beside_the_adapter_that_differs_from_the_base_is_warned_about(workspace, adapters):
    result, out = _audit(workspace, adapters["other_template"], "other_template")
    audit = _assert_audited(result, out)
    assert "template" in _warnings_text(audit).lower(), audit.get("warnings")
    console = (result.stdout + result.stderr).splitlines()
    said = [line for line in console if "template" in line.lower()]
    # The console says which template rendered the rows (the adapter's or the base's).
    assert any("adapter" in line.lower() or "base" in line.lower() for line in said), _shown(result)
    # ... and so does audit.json (README: `data.rendering.chat_template`).
    assert audit["data"]["rendering"].get("chat_template"), audit["data"]["rendering"]


def test_g_adapter_config_from_a_newer_peft_is_audited_with_a_warning_naming_keys_and_versions(workspace, adapters):
    import peft

    result, out = _audit(workspace, adapters["newer_peft_config"], "newer_peft_config")
    audit = _assert_audited(result, out)
    warnings = _warnings_text(audit)
    for key in eco.NEWER_PEFT_KEYS:
        assert key in warnings, audit.get("warnings")
    assert "0.99.0" in warnings and peft.__version__ in warnings, audit.get("warnings")


def test_g2_a_newer_peft_feature_in_use_is_named_with_both_versions(workspace, adapters):
    """A key of a newer PEFT set to a value the installed PEFT would ignore: either audited with a
    warning naming it, or refused in one line naming the key and both versions; never silent."""
    import peft

    result, out = _audit(workspace, adapters["newer_peft_feature_on"], "newer_peft_feature_on")
    if result.returncode == 0:
        said = _warnings_text(json.loads((out / "audit.json").read_text()))
    else:
        said = eco.assert_one_line_error(result, out)
    assert "lora_shard_policy" in said and "0.99.0" in said and peft.__version__ in said, _shown(result)


def test_h_lora_bias_adapter_is_audited(workspace, adapters):
    result, out = _audit(workspace, adapters["lora_bias"], "lora_bias")
    if result.returncode != 0:  # whatever went wrong, no traceback and no half-written audit folder
        assert "Traceback" not in result.stderr and not out.exists(), _shown(result)
    audit = _assert_audited(result, out)
    # README: how the adapter was loaded (merged, or unmerged where PEFT cannot merge) is recorded.
    assert audit["model"].get("adapter_loading"), audit["model"]


def test_i_a_merged_model_passed_as_adapter_is_one_line_saying_pass_it_as_model(workspace, adapters):
    result, out = _audit(workspace, adapters["merged"], "merged")
    line = eco.assert_one_line_error(result, out).lower()
    assert "merged" in line or "full model" in line, line
    assert "--model" in line, line


def test_j_a_folder_holding_a_named_adapter_is_one_line_naming_the_subfolder(workspace, adapters):
    """save_pretrained of an adapter named "my_task" writes it to FOLDER/my_task/."""
    result, out = _audit(workspace, adapters["named_adapter"], "named_adapter")
    line = eco.assert_one_line_error(result, out)
    assert "my_task" in line, line
