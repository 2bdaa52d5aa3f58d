"""The converted copy of the embedded GGUF model: same tensors and tokenizer, written whole or not at all."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from memgap import model_cache
from memgap.models import embedded_model_file, load_model


@pytest.mark.slow
def test_the_cached_embedded_model_equals_the_gguf_conversion(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGAP_CACHE_DIR", str(tmp_path))
    # a load cast to bfloat16 keeps no copy: a later float32 load would get rounded tensors from it
    halved = load_model(None, dtype="bfloat16")
    assert {p.dtype for p in halved.model.parameters()} == {torch.bfloat16}
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    del halved
    converted = load_model(None)
    folder = model_cache.converted_folder(embedded_model_file(), tmp_path)
    assert (folder / model_cache.COMPLETE_MARKER).exists() and (folder / "model.safetensors").exists()
    assert not list(folder.parent.glob("*.partial-*"))
    cached = load_model(None)
    first, second = converted.model.state_dict(), cached.model.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert cached.model.config.to_dict() == converted.model.config.to_dict()
    assert cached.model.config._name_or_path == converted.model.config._name_or_path
    assert cached.weight_files == converted.weight_files == [embedded_model_file()]
    messages = [{"role": "system", "content": "Sé breve; 日本語も"}, {"role": "user", "content": "Write to Acme\n\nabout 3 roles"},
                {"role": "assistant", "content": "Hi Ana — saw the 3 roles…"}]
    for tokenizer in (converted.tokenizer, cached.tokenizer):
        assert tokenizer.pad_token_id == converted.tokenizer.pad_token_id
    assert cached.tokenizer.apply_chat_template(messages, tokenize=False) == converted.tokenizer.apply_chat_template(messages, tokenize=False)
    assert cached.tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True) == \
        converted.tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True)


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGAP_CACHE_DIR", "off")
    assert model_cache.cache_root() is None
    monkeypatch.setenv("MEMGAP_CACHE_DIR", str(tmp_path / "here"))
    assert model_cache.cache_root() == tmp_path / "here"
    monkeypatch.delenv("MEMGAP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache.cache_root() == tmp_path / "xdg" / "memgap"


def test_the_folder_name_changes_with_the_file_content(tmp_path):
    source = tmp_path / "model.gguf"
    source.write_bytes(b"one")
    before = model_cache.converted_folder(source, tmp_path)
    source.write_bytes(b"two")
    assert model_cache.converted_folder(source, tmp_path) != before
    assert before.name.startswith("model-")


class _Saves:
    def __init__(self, fail: bool = False):
        self.fail = fail

    def save_pretrained(self, folder, **_):
        if self.fail:
            raise OSError("No space left on device")
        (Path(folder) / "saved.txt").write_text("x")


def test_a_failed_write_leaves_no_folder_and_only_warns(tmp_path, caplog):
    folder = tmp_path / "models" / "m-0"
    with caplog.at_level(logging.WARNING, logger="memgap.model_cache"):
        model_cache.save_converted(folder, _Saves(fail=True), _Saves())
    assert not folder.exists() and not list((tmp_path / "models").glob("*"))
    assert "No space left on device" in caplog.text
    assert model_cache.load_converted(folder, {}) is None


def test_a_folder_without_the_marker_is_not_read(tmp_path):
    folder = tmp_path / "models" / "m-0"
    model_cache.save_converted(folder, _Saves(), _Saves())
    assert (folder / model_cache.COMPLETE_MARKER).exists() and (folder / "saved.txt").exists()
    (folder / model_cache.COMPLETE_MARKER).unlink()  # as if a copy were cut short
    assert model_cache.load_converted(folder, {}) is None


@pytest.mark.parametrize("damage", ["truncate", "delete", "marker", "same size, other bytes"])
def test_a_damaged_folder_is_removed_with_a_warning_not_an_error(tmp_path, caplog, damage):
    folder = tmp_path / "models" / "m-0"
    model_cache.save_converted(folder, _Saves(), _Saves())
    if damage == "truncate":
        (folder / "saved.txt").write_text("")
    elif damage == "same size, other bytes":
        (folder / "saved.txt").write_text("y")
    elif damage == "delete":
        (folder / "saved.txt").unlink()
    else:
        (folder / model_cache.COMPLETE_MARKER).write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="memgap.model_cache"):
        assert model_cache.load_converted(folder, {}) is None
    assert "damaged" in caplog.text and not folder.exists()  # so the next conversion writes a new copy
    model_cache.save_converted(folder, _Saves(), _Saves())
    assert (folder / model_cache.COMPLETE_MARKER).exists()
