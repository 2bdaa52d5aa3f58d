"""`memgap score --config`: the config's evaluation.scorer is used unless --scorer says otherwise."""
from __future__ import annotations

import json

import pytest

from memgap.cli import main
from memgap.data.io import records_to_rows, write_jsonl
from tiny_models import tiny_records


@pytest.fixture
def data(tmp_path):
    return write_jsonl(tmp_path / "rows.jsonl", records_to_rows(tiny_records(6, families=2)))


def config(tmp_path, scorer: str):
    path = tmp_path / f"{scorer.replace(':', '_')}.yaml"
    path.write_text(f"evaluation:\n  scorer: {scorer}\n")
    return str(path)


def scored_with(args, capsys) -> str:
    assert main(["score", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["scorer"]


def test_the_configs_scorer_is_used_and_the_flag_wins(tmp_path, data, capsys):
    assert scored_with(["--data", str(data)], capsys) == "tenacious"  # the default without a config
    assert scored_with(["--data", str(data), "--config", config(tmp_path, "token-f1")], capsys) == "token-f1"
    assert scored_with(["--data", str(data), "--config", config(tmp_path, "token-f1"), "--scorer", "tenacious"],
                       capsys) == "tenacious"
    # `auto` is resolved by `memgap run` from its data; here it leaves the default in place
    assert scored_with(["--data", str(data), "--config", config(tmp_path, "auto")], capsys) == "tenacious"


def test_a_mistyped_scorer_in_the_config_is_one_line_and_exit_2(tmp_path, data, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["score", "--data", str(data), "--config", config(tmp_path, "token-f2")])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "Traceback" not in err and "token-f2" in err
