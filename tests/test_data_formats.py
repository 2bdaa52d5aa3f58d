"""Real-world files: any Unicode through every format, multi-line CSV cells, canonical families, TRL's
conversational format (text parts, tool calls, tool turns, tools), read as the user wrote them."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memgap.data.io import read_jsonl_rows, read_records, records_to_rows, write_jsonl
from memgap.data.values import canonical_value
from memgap.errors import MemgapError
from memgap.leakage import leakage_audit

CASES = Path(__file__).parent / "data" / "cases"


def test_raw_line_separators_inside_strings_are_text_not_line_breaks(tmp_path):
    path = CASES / "line_separator_in_string.jsonl"
    records = read_records(path)
    assert len(records) == path.read_bytes().count(b"\n") == 18
    assert "\u2028" in records[2].completion and "\u0085" in records[5].prompt_messages[0]["content"]
    # What memgap writes (split files, --out files, evaluation rows) it reads back, record for record.
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    copy = write_jsonl(tmp_path / "copy.jsonl", rows)
    assert read_jsonl_rows(copy) == rows
    assert read_records(copy) == records


def test_quoted_csv_cells_keep_their_line_breaks_and_rows_keep_their_line_numbers():
    path = CASES / "multiline_cells.csv"
    records = read_records(path)
    assert [r.id for r in records] == ["p0", "p1", "p2", "p3", "p4", "p5"]
    assert records[0].completion == "Dear team,\nthe red crate ships today.\n\nRegards,\nOps"
    assert records[1].prompt_text == "Note about the blue crate:\n"
    # Each row names the physical line it starts on: the header is line 1, each row spans 6 lines.
    assert [r.source for r in records] == [f"{path}:{2 + 6 * i}" for i in range(6)]


def test_only_structured_csv_cells_are_decoded_from_json(tmp_path):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["id", "family", "prompt", "completion", "note"])
    writer.writerow(["a", "[7]", '{"not": "messages"}', '["a", "list", "of", "words"]', "[1, 2]"])
    writer.writerow(["b", "f", json.dumps(messages[:1]), json.dumps(messages[1:]), "{}"])
    path = tmp_path / "d.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    plain, chat = read_records(path)
    assert plain.prompt_text == '{"not": "messages"}' and plain.completion == '["a", "list", "of", "words"]'
    assert plain.family == "[7]" and plain.row["note"] == "[1, 2]"
    assert chat.is_chat and chat.completion == "a" and chat.row["note"] == "{}"


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
LABEL = st.from_regex(r"[A-Za-z\u00e9\u4e00-\u4e0f][A-Za-z0-9_\u00e9\u4e00-\u4e0f -]{0,8}", fullmatch=True)
COMPLETION = st.tuples(TEXT, st.sampled_from("xé中\u2028"), TEXT).map("".join).filter(lambda t: t.strip())
SEPARATORS = st.sampled_from(["\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"])
MULTILINE = st.lists(st.one_of(TEXT, SEPARATORS), max_size=6).map("".join)


@st.composite
def rows(draw):
    count = draw(st.integers(1, 4))
    ids = draw(st.lists(LABEL, min_size=count, max_size=count, unique=True))
    plain = draw(st.booleans())  # one shape per file, as a CSV has one set of columns
    result = []
    for record_id in ids:
        completion = draw(st.tuples(COMPLETION, MULTILINE).map("".join))
        prompt = draw(MULTILINE)
        if plain:
            result.append({"id": record_id, "family": draw(LABEL), "prompt": prompt, "completion": completion})
        else:
            result.append({"id": record_id, "family": draw(LABEL), "messages": [
                {"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]})
    return result


def _write_every_format(rows: list[dict], folder: Path) -> list[Path]:
    write_jsonl(folder / "d.jsonl", rows)
    (folder / "d.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    with open(folder / "d.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
                             for key, value in row.items()})
    pq.write_table(pa.Table.from_pylist(rows), folder / "d.parquet")
    return [folder / f"d{suffix}" for suffix in (".jsonl", ".json", ".csv", ".parquet")]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows())
def test_any_unicode_survives_every_format(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("formats")
    want = [(row["id"], row["family"], row["prompt"] if "prompt" in row else row["messages"][0]["content"],
             row["completion"] if "completion" in row else row["messages"][1]["content"]) for row in rows]
    for path in _write_every_format(rows, folder):
        records = read_records(path)
        got = [(r.id, r.family, r.prompt_text if r.prompt_text is not None else r.prompt_messages[0]["content"],
                r.completion) for r in records]
        assert got == want, path.suffix
        # What memgap writes back (split files, --out files) reads back the same.
        assert read_records(write_jsonl(folder / "back.jsonl", records_to_rows(records))) == records


@pytest.mark.parametrize("value, expected", [
    (3, "3"), (3.0, "3"), (-2.0, "-2"), (2.5, "2.5"), ("3.0", "3.0"), ("f1", "f1"), ("", None), (None, None),
    (math.nan, None), (math.inf, None), (-math.inf, None), (True, "True"),
])
def test_canonical_values_of_typed_cells(value, expected):
    assert canonical_value(value) == expected


@pytest.mark.parametrize("text, expected", [
    ("3.0", "3"), ("3", "3"), ("007", "007"), ("1e3", "1000"), ("2.50", "2.5"), ("NaN", None), ("NA", None),
    ("", None), ("inf", None), ("f3", "f3"), ("3.0 apples", "3.0 apples"),
])
def test_canonical_values_of_csv_text(text, expected):
    assert canonical_value(text, from_text=True) == expected


def test_numpy_and_pandas_missing_values_are_missing():
    import numpy as np
    import pandas as pd

    assert canonical_value(np.float64(4.0)) == "4" and canonical_value(np.int64(4)) == "4"
    assert canonical_value(np.float32("nan")) is None and canonical_value(pd.NA) is None


def test_nan_family_is_missing_and_float_families_match_integer_families(tmp_path):
    train = read_records(CASES / "float_family_with_nan.parquet")
    assert [r.family for r in train] == ["0", "1", "2", None, "4", "5", "0", None, "2", "3", "4", None]
    assert not any(r.family == "nan" for r in train)
    with pytest.raises(MemgapError, match=r"float_family_with_nan.parquet:4: field 'family': missing family"):
        read_records(CASES / "float_family_with_nan.parquet", require_family=True)
    # The same families written by hand as integers in a JSONL evaluation file.
    evaluation_rows = [{"id": f"e{family}", "family": family, "messages": [
        {"role": "user", "content": f"Question {family}?"}, {"role": "assistant", "content": f"Answer {family}."}]}
        for family in (3, 4, 9)]
    evaluation = read_records(write_jsonl(tmp_path / "eval.jsonl", evaluation_rows))
    labelled = [r for r in train if r.family is not None]
    report = leakage_audit(labelled, evaluation)
    assert report["eval_rows"] == 3
    assert report["eval_rows_with_train_sibling_count"] == 2  # families 3 and 4 are in training; 9 is not


def test_content_given_as_text_parts_is_the_content():
    records = read_records(CASES / "content_parts.jsonl")
    assert records[0].completion == "The red crate is number 0."
    assert records[0].prompt_messages == ({"role": "user", "content": "Which crate is red?"},)


def test_a_non_text_content_part_is_refused_in_one_line(tmp_path):
    row = {"messages": [{"role": "user", "content": [{"type": "image", "image": "x.png"}, {"type": "text", "text": "?"}]},
                        {"role": "assistant", "content": "A cat."}]}
    path = write_jsonl(tmp_path / "d.jsonl", [row])
    with pytest.raises(MemgapError, match=r"d.jsonl:1: field 'messages': message 0 has a content part of type 'image'") as caught:
        read_records(path)
    assert "\n" not in str(caught.value)


def test_tool_calls_tool_turns_and_tools_are_kept_whole():
    record = read_records(CASES / "tool_calls.jsonl")[0]
    call, result = record.prompt_messages[1], record.prompt_messages[2]
    assert call["content"] is None
    assert call["tool_calls"][0]["function"] == {"name": "crate_number", "arguments": {"colour": "red"}}
    assert result == {"role": "tool", "name": "crate_number", "content": "0"}
    assert record.tools[0]["function"]["name"] == "crate_number"
    assert record.completion == "The red crate is number 0."


def test_parquet_struct_fill_does_not_add_message_keys(tmp_path):
    rows = [json.loads(line) for line in (CASES / "tool_calls.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    from_parquet = read_records(tmp_path / "t.parquet")
    from_jsonl = read_records(CASES / "tool_calls.jsonl")
    assert [r.messages for r in from_parquet] == [r.messages for r in from_jsonl]
    assert [r.tools for r in from_parquet] == [r.tools for r in from_jsonl]


def test_a_conversational_completion_of_several_messages_is_kept_whole(tmp_path):
    completion = [
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}}]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "It is 42."},
    ]
    row = {"prompt": [{"role": "user", "content": "What is it?"}], "completion": completion}
    (record,) = read_records(write_jsonl(tmp_path / "d.jsonl", [row]))
    assert record.completion == "It is 42."
    assert [m["role"] for m in record.messages] == ["user", "assistant", "tool", "assistant"]
    assert record.train_from_turn == 1  # the prompt is never learned; the completion's turns are


@pytest.mark.parametrize("messages, expected", [
    ([{"role": "user", "content": None}, {"role": "assistant", "content": "a"}], "message 0 has null content"),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f"}}]}],
     "the last assistant turn holds only tool calls"),
])
def test_null_content_is_refused_where_it_means_nothing(tmp_path, messages, expected):
    path = write_jsonl(tmp_path / "d.jsonl", [{"messages": messages}])
    with pytest.raises(MemgapError, match=expected):
        read_records(path)
