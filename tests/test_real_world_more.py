"""The real-world inputs of tests/data/real_world_more/, one test per file (or per expectation its
README row states), through memgap's public CLI and API only."""
from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from memgap.cli import main
from memgap.data.io import read_records, write_jsonl
from memgap.encoding import encode
from tiny_models import CHATML_TEMPLATE, GEMMA_STYLE_TEMPLATE, save_tiny_model, tiny_tokenizer

DATA = Path(__file__).parent / "data" / "real_world_more"
LS, PS, NEL = "\u2028", "\u2029", "\u0085"
IGNORE = -100

# A Gemma-like template that refuses only the system role (roles need not alternate).
SYSTEM_REFUSING_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    + CHATML_TEMPLATE
)
# ChatML with tools, tool calls (whole call as JSON, id included) and tool results with their call id.
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message.tool_call_id %}[{{ message.tool_call_id }}:{{ message.name }}]{% endif %}"
    "{% if message['content'] is not none %}{{ message['content'] }}{% endif %}"
    "{% if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>{{ call | tojson }}</tool_call>"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# -- helpers ------------------------------------------------------------------------------------


def raw_rows(name: str) -> list[dict]:
    """The file's rows as json reads them, lines split on "\\n" only."""
    text = (DATA / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    """`memgap ARGS` in process: (exit status, stdout, stderr)."""
    capsys.readouterr()  # what the test printed before (e.g. saving a tiny model) is not memgap's
    try:
        code = main([str(a) for a in args])
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return (0 if code is None else code), captured.out, captured.err


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("memgap: error:")]


def written(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []


def tiny_config_file(folder: Path, **extra) -> Path:
    """A YAML (JSON is YAML) config with tiny settings."""
    settings = {
        "seed": 0,
        "model": {"max_length": 512},
        "training": {"epochs": 1.0, "batch_size": 4, "save_steps": 50, "max_steps": 3},
        "evaluation": {"max_new_tokens": 4, "generation_batch_size": 8, "nll_batch_size": 8,
                       "membership_train_rows": 4, "scorer": "token-f1"},
        "split": {"max_train_rows": None, "max_holdout_items": None},
        "stats": {"n_resamples": 200},
    }
    for dotted, value in extra.items():
        section, key = dotted.split(".")
        settings.setdefault(section, {})[key] = value
    path = folder / "audit.yaml"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def contains(sequence: list[int], sub: list[int]) -> bool:
    n = len(sub)
    return any(sequence[i:i + n] == sub for i in range(len(sequence) - n + 1))


def labelled_segments(example) -> list[list[int]]:
    """Runs of consecutive learned (labelled) token ids."""
    segments, current = [], []
    for label in example.labels:
        if label == IGNORE:
            if current:
                segments.append(current)
            current = []
        else:
            current.append(label)
    if current:
        segments.append(current)
    return segments


def ids(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def visible(tokenizer, text: str) -> str:
    """`text` as the tiny (printable ASCII) tokenizer decodes it: other characters become <unk>."""
    return tokenizer.decode(ids(tokenizer, text))


def without_source(record):
    return dataclasses.replace(record, source=None)


@pytest.fixture(scope="module")
def chatml_model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("chatml") / "model")


# -- unicode_separators.jsonl -------------------------------------------------------------------


def test_unicode_separators_read_whole_and_written_back(tmp_path, capsys):
    name = "unicode_separators.jsonl"
    text = (DATA / name).read_text(encoding="utf-8")
    assert len(text.splitlines()) == 55  # what a str.splitlines() reader sees
    raw = raw_rows(name)
    records = read_records(DATA / name)
    assert len(records) == 16
    assert [r.id for r in records] == [row["id"] for row in raw]
    for record, row in zip(records, raw):
        assert record.prompt_text == row["prompt"]
        assert record.completion == row["completion"]
        assert record.family == row["family"]
    completions = "".join(r.completion for r in records)
    prompts = "".join(r.prompt_text for r in records)
    assert sum(LS in r.completion for r in records) == 16 and sum(PS in r.completion for r in records) == 16
    assert completions.count(LS) == "".join(row["completion"] for row in raw).count(LS)
    assert sum(NEL in r.prompt_text for r in records) == 4
    assert prompts.count(NEL) == "".join(row["prompt"] for row in raw).count(NEL) == 7
    assert Counter(r.family for r in records) == {"refund-policy": 4, "baggage": 3, "visa": 3, "seat-change": 3,
                                                  "pet-travel": 3}

    out = tmp_path / "with_family.jsonl"
    code, stdout, stderr = cli(["families", DATA / name, "--out", out, "--write-field", "family"], capsys)
    assert code == 0, stderr
    back = read_records(out)
    assert [without_source(r) for r in back] == [without_source(r) for r in records]


def test_unicode_separators_run_folder_resumes(tmp_path, capsys, chatml_model):
    out = tmp_path / "run"
    config = tiny_config_file(tmp_path, **{"model.max_length": 400})
    args = ["run", "--data", DATA / "unicode_separators.jsonl", "--model", chatml_model, "--config", config,
            "--out", out, "--no-progress"]
    code, first, stderr = cli(args, capsys)
    assert code == 0, stderr
    assert "training the LoRA adapter" in stderr
    audit = json.loads((out / "audit.json").read_text())
    split_records = [r for part in ("train", "seen_holdout", "unseen_holdout")
                     for r in read_records(out / "split" / f"{part}.jsonl")]
    originals = {r.id: r for r in read_records(DATA / "unicode_separators.jsonl")}
    assert sorted(r.id for r in split_records) == sorted(originals)
    for record in split_records:  # the run folder's own files keep the separators
        assert (record.prompt_text, record.completion) == (originals[record.id].prompt_text,
                                                           originals[record.id].completion)
    work = ("split.json", "train.json", "evaluate-base.json", "evaluate-adapter.json")
    stamps = {name: (out / "stages" / name).stat().st_mtime_ns for name in work}
    code, second, stderr = cli(args, capsys)
    assert code == 0, stderr
    assert "training the LoRA adapter" not in stderr and "evaluating the" not in stderr, stderr
    assert {name: (out / "stages" / name).stat().st_mtime_ns for name in work} == stamps
    resumed = json.loads((out / "audit.json").read_text())
    assert resumed["lifts"] == audit["lifts"] and resumed["verdict"]["label"] == audit["verdict"]["label"]


# -- hr_multiline_crlf.csv ----------------------------------------------------------------------


def test_hr_csv_keeps_line_breaks_ids_and_json_text():
    with open(DATA / "hr_multiline_crlf.csv", encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    records = read_records(DATA / "hr_multiline_crlf.csv")
    assert len(records) == 14
    assert [r.id for r in records] == [f"{n:05d}" for n in range(417, 431)]
    assert all(isinstance(r.id, str) for r in records)
    assert Counter(r.family for r in records) == {"leave": 3, "expenses": 4, "remote": 3, "onboarding": 4}
    for record, row in zip(records, raw):
        expected = row["completion"]
        if record.id == "00424":
            assert "\r\n" in expected
            assert record.completion in (expected, expected.replace("\r\n", "\n")), repr(record.completion[:80])
        else:
            assert record.completion == expected, (record.id, record.completion[:80])
        breaks = record.completion.count("\n")
        assert breaks == expected.replace("\r\n", "\n").count("\n") and 1 <= breaks <= 10
        assert record.prompt_plain.strip() == row["prompt"].replace("\r\n", "\n").strip()
    assert sum("— People Team" in r.completion for r in records) == sum("— People Team" in row["completion"] for row in raw) > 0
    claim = next(r for r in records if r.id == "00423")
    assert isinstance(claim.completion, str)
    assert claim.completion.startswith('{"claim_id": "EXP-55102", "status": "approved"')


# -- system_turn_gemma.jsonl --------------------------------------------------------------------


def test_system_turn_refused_by_gemma_template_names_file_and_row(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "gemma", chat_template=GEMMA_STYLE_TEMPLATE)
    data = DATA / "system_turn_gemma.jsonl"
    out = tmp_path / "run"
    code, stdout, stderr = cli(["run", "--data", data, "--model", model, "--config", tiny_config_file(tmp_path),
                                "--out", out, "--no-progress"], capsys)
    assert code == 2, stderr
    assert len(error_lines(stderr)) == 1, stderr
    line = error_lines(stderr)[0]
    assert str(data) in line and "'lex-00'" in line and "System role not supported" in line, line
    assert "data.system_turn: fold" in line, line
    assert "Traceback" not in stderr
    assert not (out / "stages").exists() and not (out / "split").exists(), written(out)


def test_system_turn_fold_with_gemma_template_names_the_non_alternating_row(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "gemma", chat_template=GEMMA_STYLE_TEMPLATE)
    data = DATA / "system_turn_gemma.jsonl"
    out = tmp_path / "run"
    config = tiny_config_file(tmp_path, **{"data.system_turn": "fold"})
    code, stdout, stderr = cli(["run", "--data", data, "--model", model, "--config", config, "--out", out,
                                "--no-progress"], capsys)
    assert code == 2, stderr
    assert len(error_lines(stderr)) == 1, stderr
    line = error_lines(stderr)[0]
    assert str(data) in line and "'lex-09'" in line and "alternate" in line, line
    assert not (out / "stages").exists() and not (out / "split").exists(), written(out)


def test_system_turn_fold_runs_and_is_recorded(tmp_path, capsys):
    model = save_tiny_model(tmp_path / "nosystem", chat_template=SYSTEM_REFUSING_TEMPLATE)
    out = tmp_path / "run"
    config = tiny_config_file(tmp_path, **{"data.system_turn": "fold"})
    code, stdout, stderr = cli(["run", "--data", DATA / "system_turn_gemma.jsonl", "--model", model, "--config",
                                config, "--out", out, "--no-progress"], capsys)
    assert code == 0, stderr
    audit = json.loads((out / "audit.json").read_text())
    rendering = audit["data"]["rendering"]
    assert rendering["system_turn"] == "fold" and rendering["folded_system_turns"] == 12
    assert audit["data"]["rows"] == 12
    assert "folded the system turn into the first user turn in 12 rows" in stderr, stderr  # reported too


def test_system_turn_renders_with_chatml():
    tokenizer = tiny_tokenizer()
    records = read_records(DATA / "system_turn_gemma.jsonl")
    assert len(records) == 12
    for record in records:
        system = record.messages[0]
        assert system["role"] == "system"
        example = encode(tokenizer, record, 4096, assistant_turns="all")
        assert contains(example.input_ids, ids(tokenizer, "<|im_start|>system\n" + system["content"] + "<|im_end|>"))
        assert contains(example.input_ids, ids(tokenizer, record.completion))


# -- three_turn_tutoring.jsonl ------------------------------------------------------------------


def test_three_turn_all_assistant_turns_learned_final_scored():
    tokenizer = tiny_tokenizer()
    raw = raw_rows("three_turn_tutoring.jsonl")
    records = read_records(DATA / "three_turn_tutoring.jsonl")
    assert len(records) == 12
    for record, row in zip(records, raw):
        assistants = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        users = [m["content"] for m in row["messages"] if m["role"] == "user"]
        assert len(assistants) == 3
        # evaluation: the final assistant turn, given the five messages before it
        assert record.completion == assistants[-1]
        assert [(m["role"], m["content"]) for m in record.prompt_messages] == [
            (m["role"], m["content"]) for m in row["messages"][:5]]
        every = labelled_segments(encode(tokenizer, record, 4096, assistant_turns="all"))
        assert len(every) == 3, record.id
        for segment, content in zip(every, assistants):
            assert segment[:len(ids(tokenizer, content))] == ids(tokenizer, content), record.id
        for content in users:
            assert not any(contains(segment, ids(tokenizer, content)) for segment in every)
        last = labelled_segments(encode(tokenizer, record, 4096, assistant_turns="last"))
        assert len(last) == 1 and last[0][:len(ids(tokenizer, assistants[-1]))] == ids(tokenizer, assistants[-1])


def test_three_turn_rule_recorded_in_audit_and_report(tmp_path, capsys, chatml_model):
    out = tmp_path / "run"
    code, stdout, stderr = cli(["run", "--data", DATA / "three_turn_tutoring.jsonl", "--model", chatml_model,
                                "--config", tiny_config_file(tmp_path), "--out", out, "--no-progress"], capsys)
    assert code == 0, stderr
    audit = json.loads((out / "audit.json").read_text())
    assert audit["data"]["rendering"]["assistant_turns"] == "all"
    assert audit["data"]["rows"] == 12
    report = (out / "report.md").read_text(encoding="utf-8")
    # stated in words (not only as the config key `"assistant_turns": "all"` in the appendix's settings dump)
    assert "assistant turn" in report.lower(), "the report states the rule only as a config key, if at all"


# -- content_parts_mixed.jsonl ------------------------------------------------------------------


def test_content_parts_joined_and_identical_to_strings():
    tokenizer = tiny_tokenizer()
    raw = {row["id"]: row for row in raw_rows("content_parts_mixed.jsonl")}
    records = {r.id: r for r in read_records(DATA / "content_parts_mixed.jsonl")}
    assert len(records) == 14
    for rid, row in raw.items():
        expected = [(m["role"], m["content"] if isinstance(m["content"], str)
                     else "".join(p["text"] for p in m["content"])) for m in row["messages"]]
        assert [(m["role"], m["content"]) for m in records[rid].messages] == expected, rid
    for rid in ("fj-02", "fj-03", "fj-06", "fj-08", "fj-09", "fj-13"):
        assert any(isinstance(m["content"], list) and len(m["content"]) == 2 for m in raw[rid]["messages"])
    a = encode(tokenizer, records["fj-00"], 4096, assistant_turns="all")
    b = encode(tokenizer, records["fj-01"], 4096, assistant_turns="all")
    assert a.input_ids == b.input_ids and a.labels == b.labels
    assert records["fj-00"].completion == records["fj-01"].completion


# -- tool_calls_agent.jsonl ---------------------------------------------------------------------


def _call_arguments(call: dict) -> dict:
    arguments = call["function"]["arguments"]
    return json.loads(arguments) if isinstance(arguments, str) else arguments


def test_tool_calls_reach_the_template_and_the_loss():
    tokenizer = tiny_tokenizer(TOOLS_TEMPLATE)
    raw = raw_rows("tool_calls_agent.jsonl")
    records = read_records(DATA / "tool_calls_agent.jsonl")
    assert len(records) == 12
    for record, row in zip(records, raw):
        example = encode(tokenizer, record, 100_000, assistant_turns="all")
        rendered = tokenizer.decode(example.input_ids)
        for tool in row["tools"]:
            assert json.dumps(tool, ensure_ascii=False) in rendered or tool["function"]["description"] in rendered
            assert tool["function"]["name"] in rendered and tool["function"]["description"] in rendered
        rendered_calls = [json.loads(chunk.split("</tool_call>")[0]) for chunk in rendered.split("<tool_call>")[1:]]
        expected_calls = [call for m in row["messages"] for call in (m.get("tool_calls") or [])]
        assert len(rendered_calls) == len(expected_calls) == (2 if row["id"] in ("tool-09", "tool-10", "tool-11") else 1)
        for got, want in zip(rendered_calls, expected_calls):
            assert got["id"] == want["id"] and got["function"]["name"] == want["function"]["name"]
            assert _call_arguments(got) == _call_arguments(want), row["id"]
        tool_turns = [m for m in row["messages"] if m["role"] == "tool"]
        for turn in tool_turns:
            assert visible(tokenizer, f"[{turn['tool_call_id']}:{turn['name']}]{turn['content']}") in rendered
        # the loss: the tool-call turn(s) and the final answer, never a tool result
        learned = tokenizer.decode([t for segment in labelled_segments(example) for t in segment])
        final = [m for m in row["messages"] if m["role"] == "assistant"][-1]["content"]
        assert visible(tokenizer, final) in learned and "<tool_call>" in learned
        assert all(visible(tokenizer, turn["content"]) not in learned for turn in tool_turns), row["id"]
        assert record.completion == final


# -- completion_as_messages.jsonl ---------------------------------------------------------------


def test_completion_as_messages_kept_whole():
    tokenizer = tiny_tokenizer(TOOLS_TEMPLATE)
    raw = raw_rows("completion_as_messages.jsonl")
    records = read_records(DATA / "completion_as_messages.jsonl")
    assert len(records) == 12
    for record, row in zip(records, raw):
        conversation = row["prompt"] + row["completion"]
        assert [m["role"] for m in record.messages] == [m["role"] for m in conversation], row["id"]
        assert [m.get("content") for m in record.messages] == [m.get("content") for m in conversation]
        assert len(row["completion"]) == (1 if row["id"] in ("nr-09", "nr-10", "nr-11") else 3)
        assert record.train_from_turn == len(row["prompt"])
        assert record.completion == row["completion"][-1]["content"]
        example = encode(tokenizer, record, 100_000, assistant_turns="all")
        rendered = tokenizer.decode(example.input_ids)
        for tool in row["tools"]:
            assert tool["function"]["name"] in rendered and tool["function"]["description"] in rendered
        learned = tokenizer.decode([t for segment in labelled_segments(example) for t in segment])
        assert visible(tokenizer, row["completion"][-1]["content"]) in learned
        assert visible(tokenizer, row["prompt"][-1]["content"]) not in learned
        if len(row["completion"]) == 3:
            call = row["completion"][0]["tool_calls"][0]
            assert f'"id": "{call["id"]}"' in learned or call["id"] in learned
            result = visible(tokenizer, row["completion"][1]["content"])
            assert result in rendered and result not in learned


# -- long_and_short.jsonl -----------------------------------------------------------------------

LOG_ROWS = ["ops-02", "ops-08", "ops-09", "ops-17"]
HANDBOOK_ROWS = ["ops-00", "ops-06", "ops-14", "ops-19"]


def test_long_rows_refused_up_front_at_a_small_max_length(tmp_path, capsys, chatml_model):
    out = tmp_path / "run"
    config = tiny_config_file(tmp_path, **{"model.max_length": 256})
    code, stdout, stderr = cli(["run", "--data", DATA / "long_and_short.jsonl", "--model", chatml_model, "--config",
                                config, "--out", out, "--no-progress"], capsys)
    assert code == 2, stderr
    assert len(error_lines(stderr)) == 1, stderr
    line = error_lines(stderr)[0]
    assert "4 row(s)" in line and "model.max_length=256" in line, line
    for rid in LOG_ROWS:
        assert f"'{rid}'" in line, line
    for rid in HANDBOOK_ROWS:
        assert f"'{rid}'" not in line, line
    assert "data.overlong_rows: drop" in line, line
    assert written(out) == [] or not (out / "stages").exists(), written(out)


def test_long_rows_dropped_on_request_and_counted(tmp_path, capsys, chatml_model):
    out = tmp_path / "run"
    config = tiny_config_file(tmp_path, **{"model.max_length": 256, "data.overlong_rows": "drop"})
    code, stdout, stderr = cli(["run", "--data", DATA / "long_and_short.jsonl", "--model", chatml_model, "--config",
                                config, "--out", out, "--no-progress"], capsys)
    assert code == 0, stderr
    audit = json.loads((out / "audit.json").read_text())
    assert audit["data"]["rendering"]["overlong_rows"] == {"policy": "drop", "max_length": 256, "dropped": 4,
                                                           "ids": LOG_ROWS}
    assert audit["data"]["rows"] == 16
    split_ids = {r.id for part in ("train", "seen_holdout", "unseen_holdout")
                 for r in read_records(out / "split" / f"{part}.jsonl")}
    assert len(split_ids) == 16 and not split_ids & set(LOG_ROWS) and set(HANDBOOK_ROWS) <= split_ids
    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().split("\n") if line]
    assert predictions and all(row["nll"] is not None and math.isfinite(row["nll"]) and row["n_tokens"] > 0
                               for row in predictions)
    for metric, holdouts in audit["lifts"].items():
        for holdout, figure in holdouts.items():
            assert figure["delta"] is not None and math.isfinite(figure["delta"]), (metric, holdout)


def test_handbook_rows_truncated_not_lost():
    tokenizer = tiny_tokenizer()
    records = {r.id: r for r in read_records(DATA / "long_and_short.jsonl")}
    assert len(records) == 20
    for rid in HANDBOOK_ROWS:
        example = encode(tokenizer, records[rid], 256, assistant_turns="all")
        learned = [t for segment in labelled_segments(example) for t in segment]
        assert len(example.input_ids) == 256 and 0 < len(learned) < len(ids(tokenizer, records[rid].completion))
        assert learned == ids(tokenizer, records[rid].completion)[:len(learned)], rid


# -- families_float_nan.parquet + families_int.jsonl -------------------------------------------


def test_parquet_nan_and_null_are_missing_families():
    records = read_records(DATA / "families_float_nan.parquet")
    assert len(records) == 12
    by_id = {r.id: r.family for r in records}
    assert by_id["pq-09"] is None and by_id["pq-10"] is None and by_id["pq-11"] is None
    assert Counter(by_id.values()) == {"1": 3, "2": 3, "3": 3, None: 3}
    ints = read_records(DATA / "families_int.jsonl")
    assert Counter(r.family for r in ints) == {"1": 3, "2": 3, "3": 3, "4": 1}


def test_parquet_missing_family_named_by_the_families_verb(capsys):
    code, stdout, stderr = cli(["families", DATA / "families_float_nan.parquet"], capsys)
    assert code == 2, stderr
    line = error_lines(stderr)[0]
    assert "families_float_nan.parquet" in line and "'pq-09'" in line and "NaN" in line, line
    assert "nan'" not in line.lower().replace("'pq-09'", "")


def test_leakage_parquet_float_families_match_jsonl_int_families(capsys):
    code, stdout, stderr = cli(["leakage", "--train", DATA / "families_float_nan.parquet",
                                "--eval", DATA / "families_int.jsonl", "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["eval_rows"] == 10 and report["eval_rows_with_train_sibling_count"] == 9
    siblings = {row["eval_id"]: row["sibling"] for row in report["worst_offenders"]}
    assert siblings.get("js-09") is False


def test_leakage_float_families_without_the_missing_rows(tmp_path, capsys):
    import pandas as pd

    frame = pd.read_parquet(DATA / "families_float_nan.parquet")
    present = frame[frame["family"].notna()]
    assert len(present) == 9 and present["family"].dtype.kind == "f"
    train = tmp_path / "families_present.parquet"
    present.to_parquet(train)
    code, stdout, stderr = cli(["leakage", "--train", train, "--eval", DATA / "families_int.jsonl", "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["eval_rows"] == 10 and report["eval_rows_with_train_sibling_count"] == 9
    siblings = {row["eval_id"]: row["sibling"] for row in report["worst_offenders"]}
    assert siblings.get("js-09") is False
    out = tmp_path / "written.jsonl"
    code, stdout, stderr = cli(["families", train, "--out", out, "--write-field", "fam"], capsys)
    assert code == 0, stderr
    values = [json.loads(line)["fam"] for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert sorted(str(v) for v in values) == ["1"] * 3 + ["2"] * 3 + ["3"] * 3, values


# -- family inference: Chinese, Japanese, Arabic, web English -----------------------------------


def _inferred_ari(name: str, tmp_path: Path, capsys) -> float:
    from sklearn.metrics import adjusted_rand_score

    out = tmp_path / "inferred.jsonl"
    code, stdout, stderr = cli(["families", DATA / name, "--infer", "--out", out, "--write-field", "family"], capsys)
    assert code == 0, stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert [row["id"] for row in rows] == [row["id"] for row in raw_rows(name)]
    return adjusted_rand_score([row["planted"] for row in rows], [row["family"] for row in rows])


def _leakage_siblings(name: str, tmp_path: Path, capsys) -> None:
    """Split by `planted` (first row of each planted family to eval): every eval row of a family with
    two or more rows has a training sibling, a singleton family none."""
    rows = raw_rows(name)
    sizes = Counter(row["planted"] for row in rows)
    seen, train, evaluation = set(), [], []
    for row in rows:
        (train if row["planted"] in seen else evaluation).append(row)
        seen.add(row["planted"])
    train_path = write_jsonl(tmp_path / "train.jsonl", train)
    eval_path = write_jsonl(tmp_path / "eval.jsonl", evaluation)
    code, stdout, stderr = cli(["leakage", "--train", train_path, "--eval", eval_path, "--infer", "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    expected = {row["id"] for row in evaluation if sizes[row["planted"]] >= 2}
    assert report["eval_rows"] == len(evaluation)
    assert report["eval_rows_with_train_sibling_count"] == len(expected)
    got = {row["eval_id"] for row in report["worst_offenders"] if row["sibling"]}
    assert got == expected


def test_chinese_families_inferred(tmp_path, capsys):
    assert _inferred_ari("chinese_recipe_families.jsonl", tmp_path, capsys) >= 0.9
    _leakage_siblings("chinese_recipe_families.jsonl", tmp_path, capsys)


@pytest.mark.xfail(strict=True, reason="measured 2026-11-30: memgap families --infer on japanese_families.jsonl "
                   "gives ARI 0.795 against `planted` (6 clusters for 5 planted families), under 0.9")
def test_japanese_families_inferred(tmp_path, capsys):
    assert _inferred_ari("japanese_families.jsonl", tmp_path, capsys) >= 0.9


def test_japanese_siblings_seen_by_leakage(tmp_path, capsys):
    _leakage_siblings("japanese_families.jsonl", tmp_path, capsys)


def test_arabic_families_inferred(tmp_path, capsys):
    assert _inferred_ari("arabic_families.jsonl", tmp_path, capsys) >= 0.9
    _leakage_siblings("arabic_families.jsonl", tmp_path, capsys)


def test_web_punct_families_inferred(tmp_path, capsys):
    assert _inferred_ari("web_punct_families.jsonl", tmp_path, capsys) >= 0.9
    _leakage_siblings("web_punct_families.jsonl", tmp_path, capsys)


def test_inference_files_declare_no_family(capsys):
    code, stdout, stderr = cli(["families", DATA / "japanese_families.jsonl"], capsys)
    assert code == 2
    line = error_lines(stderr)[0]
    assert "japanese_families.jsonl" in line and "--infer" in line, line


# -- few_originals_saas.jsonl -------------------------------------------------------------------


@pytest.fixture(scope="module")
def few_originals_run(tmp_path_factory, chatml_model):
    """`memgap run` on few_originals_saas.jsonl (tiny model, 3 optimizer steps): 4 families, so the
    unseen-family hold-out holds 1 family and the seen-family hold-out 3."""
    folder = tmp_path_factory.mktemp("few")
    out = folder / "run"
    config = tiny_config_file(folder, **{"model.max_length": 400, "split.max_train_rows": 12,
                                         "split.max_holdout_items": 4})
    code = main([str(a) for a in ["run", "--data", DATA / "few_originals_saas.jsonl", "--model", chatml_model,
                                  "--config", config, "--out", out, "--no-progress"]])
    return code, out


def test_few_originals_audit_finishes_and_shows_undefined_figures(few_originals_run, tmp_path, capsys):
    code, out = few_originals_run
    assert code in (0, None)
    audit = json.loads((out / "audit.json").read_text())
    assert audit["data"]["families"] == 4 and audit["split"]["unseen_holdout"]["families"] == 1
    unseen = audit["lifts"]["score"]["unseen"]
    assert unseen["n_families"] == 1
    assert unseen["ci_low"] is None and unseen["ci_high"] is None
    assert "with 5 or fewer families no 95 % sign-flip interval exists" in unseen["note"]
    assert audit["gap"]["score"]["ci_low"] is None and audit["gap"]["score"]["p_value"] is None
    # the console: re-render the summary by re-running (every stage is resumed, nothing recomputed)
    code, stdout, stderr = cli(["run", "--data", DATA / "few_originals_saas.jsonl", "--model",
                                audit["config"]["model"]["name"], "--config", out.parent / "audit.yaml",
                                "--out", out, "--no-progress"], capsys)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    unseen_line = next(line for line in stdout.splitlines() if "score unseen" in line)
    assert "CI undefined" in unseen_line and "with 5 or fewer families" in unseen_line, unseen_line
    gap_line = next(line for line in stdout.splitlines() if "score gap" in line)
    assert "CI undefined" in gap_line and "no interval or p-value" in gap_line, gap_line
    assert "nan" not in stdout.lower()
    verdict = audit["verdict"]
    assert verdict["label"] in stdout
    assert "with 5 or fewer families no 95 % sign-flip interval exists" in verdict["claim"]
    assert "could not have been declared significant" in verdict["claim"]
    assert any("unseen-family lift's interval or p-value is undefined" in reason for reason in verdict["reasons"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "undefined" in report and "with 5 or fewer families" in report


def test_few_originals_one_family_hold_out_has_no_p_value(few_originals_run):
    code, out = few_originals_run
    audit = json.loads((out / "audit.json").read_text())
    for metric in ("score", "nll"):
        unseen = audit["lifts"][metric]["unseen"]
        assert unseen["n_families"] == 1
        assert unseen["p_value"] is None, (metric, unseen["p_value"], unseen["note"])


def test_few_originals_verdict_is_inconclusive(few_originals_run):
    code, out = few_originals_run
    verdict = json.loads((out / "audit.json").read_text())["verdict"]
    assert verdict["label"] == "inconclusive", (verdict["label"], verdict["claim"][:200])
