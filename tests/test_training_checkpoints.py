"""last_complete_checkpoint: a checkpoint the run was killed while writing is never resumed from."""
import json

from memgap.training.checkpoints import last_complete_checkpoint


def _checkpoint(root, step, *, weights=True, state="ok"):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if weights:
        (path / "adapter_model.safetensors").write_bytes(b"x")
    if state == "ok":
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    elif state == "torn":
        (path / "trainer_state.json").write_text('{"global_step": ')
    elif state == "other-step":
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step - 1}))
    return path


def test_highest_complete_checkpoint_wins_by_number_not_name(tmp_path):
    _checkpoint(tmp_path, 4)
    nine = _checkpoint(tmp_path, 9)
    _checkpoint(tmp_path, 12, state=None)
    (tmp_path / "checkpoint-notes").mkdir()
    (tmp_path / "checkpoint-20").write_text("a file, not a checkpoint")
    assert last_complete_checkpoint(tmp_path) == nine
    assert not (tmp_path / "checkpoint-12").exists(), "the incomplete checkpoint above the pick is removed"
    assert (tmp_path / "checkpoint-4").is_dir() and (tmp_path / "checkpoint-20").is_file()


def test_each_kind_of_incomplete_checkpoint_is_skipped(tmp_path):
    for step, kind in ((8, {"weights": False}), (12, {"state": "torn"}), (16, {"state": "other-step"})):
        root = tmp_path / str(step)
        four = _checkpoint(root, 4)
        _checkpoint(root, step, **kind)
        assert last_complete_checkpoint(root, remove_incomplete=False) == four
        assert (root / f"checkpoint-{step}").is_dir()


def test_nothing_to_resume(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    _checkpoint(tmp_path, 3, state=None)
    assert last_complete_checkpoint(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
