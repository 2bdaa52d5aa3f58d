"""The catalogue of bad inputs, each through the CLI verb that meets it: one line, exit 2, nothing half-done."""
from __future__ import annotations

import json

import pytest

from memgap.cli import main
from pipeline_helpers import make_inputs

GOOD_ROW = {"family": "f0", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("tiny"))


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    return caught.value.code, err


def expect_one_line_error(args, capsys, *fragments):
    code, err = run_cli(args, capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("memgap: error: ")]
    # Progress lines may come first; the error itself is exactly one line, and the last.
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_DATA = {
    "empty": ("", "file is empty"),
    "truncated_line": (json.dumps(GOOD_ROW) + '\n{"family": "f1", "messages": [{"role": "us', ":2: malformed JSON"),
    "missing_messages": ('{"family": "f0", "question": "hi"}\n', ":1: field 'messages'"),
    "text_only": ('{"family": "f0", "text": "hi"}\n', ":1: field 'text': a 'text'-only row"),
    "non_list_messages": ('{"family": "f0", "messages": {"role": "user"}}\n', ":1: field 'messages': expected a list"),
    "no_assistant_turn": ('{"family": "f0", "messages": [{"role": "user", "content": "q"}]}\n', "no assistant turn"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_run_rejects_bad_data_before_any_work(case, tmp_path, capsys):
    text, fragment = BAD_DATA[case]
    data = write(tmp_path / "d.jsonl", text)
    out = tmp_path / "out"
    expect_one_line_error(["run", "--data", data, "--out", str(out)], capsys, "d.jsonl", fragment)
    assert not (out / "audit.json").exists()


def test_binary_garbage_and_csv_without_columns(tmp_path, capsys):
    garbage = tmp_path / "g.jsonl"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 50)
    expect_one_line_error(["run", "--data", str(garbage), "--out", str(tmp_path / "o")], capsys, "g.jsonl", "not UTF-8")
    csv = write(tmp_path / "d.csv", "question,answer\nhi,there\n")
    expect_one_line_error(["families", csv], capsys, "d.csv:2", "field 'messages'")


def test_missing_file_and_unknown_model(tmp_path, capsys, tiny):
    expect_one_line_error(["run", "--data", str(tmp_path / "absent.jsonl")], capsys, "absent.jsonl", "no such file")
    _, data = tiny
    expect_one_line_error(
        ["run", "--data", str(data), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "o")],
        capsys, "no-model", "no such model",
    )


def test_one_family_only_and_missing_family_field(tmp_path, capsys):
    one_family = write(tmp_path / "one.jsonl", "\n".join(json.dumps({**GOOD_ROW, "id": str(i)}) for i in range(6)) + "\n")
    line = expect_one_line_error(["split", one_family, "--strategy", "nested", "--out", str(tmp_path / "s")], capsys)
    assert "famil" in line
    assert not (tmp_path / "s" / "train.jsonl").exists()
    expect_one_line_error(
        ["run", "--data", one_family, "--family-field", "group", "--out", str(tmp_path / "o")], capsys, "group"
    )


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("training:\n  learning_rate: fast\n", "'training.learning_rate' must be float"),
        ("training:\n  epocs: 2\n", "did you mean 'training.epochs'"),
        ("split: [1, 2\n", "unparsable YAML"),
        ("stats:\n  alpha: 0.9\n", "'stats.alpha'"),
    ],
)
def test_bad_config_values(tmp_path, capsys, yaml_text, fragment):
    config = write(tmp_path / "audit.yaml", yaml_text)
    expect_one_line_error(["run", "--config", config, "--out", str(tmp_path / "o")], capsys, "audit.yaml", fragment)


def test_lora_targets_matching_nothing_lists_linear_modules(tmp_path, capsys, tiny):
    model_dir, data = tiny
    config = write(tmp_path / "audit.yaml", "lora:\n  target_modules: [not_a_layer]\nsplit:\n  max_train_rows: 8\n")
    line = expect_one_line_error(
        ["run", "--config", config, "--data", str(data), "--model", str(model_dir), "--out", str(tmp_path / "o"), "--no-progress"],
        capsys, "not_a_layer",
    )
    assert "q_proj" in line  # the message names the linear modules the model does have
    assert not (tmp_path / "o" / "audit.json").exists()


def test_pickle_only_model_folder_is_refused(tmp_path, capsys, tiny):
    _, data = tiny
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    expect_one_line_error(
        ["run", "--data", str(data), "--model", str(folder), "--out", str(tmp_path / "o")], capsys, "pickle weights are refused"
    )


def test_debug_shows_the_traceback(tmp_path):
    from memgap.errors import MemgapError

    with pytest.raises(MemgapError):
        main(["--debug", "run", "--data", str(tmp_path / "absent.jsonl")])


def test_rows_longer_than_max_length_are_counted_before_training(tmp_path, capsys, tiny):
    from memgap.data.io import read_records
    from memgap.encoding import encode
    from tiny_models import tiny_tokenizer

    model_dir, data = tiny
    # Long enough for every prompt and a first completion token, too short for any whole completion.
    tokenizer = tiny_tokenizer()
    max_length = max(encode(tokenizer, r, 10_000).prompt_length for r in read_records(data)) + 2
    config = write(tmp_path / "audit.yaml", f"model:\n  max_length: {max_length}\nsplit:\n  max_train_rows: 8\n"
                   "  max_holdout_items: 6\ntraining:\n  max_steps: 1\n  warmup_ratio: 0.0\n"
                   "evaluation:\n  max_new_tokens: 2\n  scorer: token-f1\nstats:\n  n_resamples: 200\n")
    assert main(["run", "--config", config, "--data", str(data), "--model", str(model_dir),
                 "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if "are truncated" in line)
    assert warning.startswith(f"memgap: warning: 8 of 8 training rows are longer than max_length={max_length}")
    assert err.index("are truncated") < err.index("evaluating the adapter")


def test_max_length_that_cuts_every_completion_fails_before_any_evaluation(tmp_path, capsys, tiny):
    model_dir, data = tiny
    config = write(tmp_path / "audit.yaml", "model:\n  max_length: 16\n")
    expect_one_line_error(
        ["run", "--config", config, "--data", str(data), "--model", str(model_dir), "--out", str(tmp_path / "o"), "--no-progress"],
        capsys, "model.max_length=16",
    )
    assert not (tmp_path / "o" / "evaluation").exists()
