"""The config tree: YAML + CLI overrides, validated once, errors naming the bad key."""
from __future__ import annotations

import pytest

from memgap.config import QUICK_OVERRIDES, load_config
from memgap.errors import MemgapError


def test_defaults_quick_and_overrides(tmp_path):
    config = load_config()
    assert config.split.unseen_holdout_fraction == 0.3 and not config.quick
    quick = load_config(overrides={"quick": True})
    assert quick.split.max_train_rows == QUICK_OVERRIDES["split.max_train_rows"]
    yaml_file = tmp_path / "audit.yaml"
    yaml_file.write_text("seed: 3\ntraining:\n  learning_rate: 2.0e-4\nlora:\n  target_modules: [q_proj, v_proj]\n")
    config = load_config(yaml_file, {"training.epochs": "3"})
    assert config.seed == 3 and config.training.learning_rate == 2e-4 and config.training.epochs == 3.0
    assert config.lora.target_modules == ["q_proj", "v_proj"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("training:\n  learnig_rate: 1\n", "unknown setting 'training.learnig_rate' (did you mean 'training.learning_rate'?)"),
        ("training:\n  learning_rate: fast\n", "'training.learning_rate' must be float"),
        ("split:\n  unseen_holdout_fraction: 1.5\n", "'split.unseen_holdout_fraction' must lie strictly between 0 and 1"),
        ("split:\n  max_train_rows: 5\n  max_holdout_items: 8\n", "must not exceed split.max_train_rows"),
        ("lora: 8\n", "'lora' is a section"),
        ("seed: [1\n", "unparsable YAML"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, text, expected):
    path = tmp_path / "audit.yaml"
    path.write_text(text)
    with pytest.raises(MemgapError) as caught:
        load_config(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(MemgapError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_size_presets_cap_only_quick_runs_and_the_bundled_data():
    from memgap.config import BUNDLED_DATA_OVERRIDES

    bundled = load_config()
    assert bundled.split.max_train_rows == BUNDLED_DATA_OVERRIDES["split.max_train_rows"]
    users = load_config(overrides={"data.path": "rows.jsonl"})
    assert users.split.max_train_rows is None and users.split.max_holdout_items is None
    quick = load_config(overrides={"data.path": "rows.jsonl", "quick": True})
    assert quick.split.max_train_rows == QUICK_OVERRIDES["split.max_train_rows"]
    explicit = load_config(overrides={"quick": True, "split.max_train_rows": 17})
    assert explicit.split.max_train_rows == 17
