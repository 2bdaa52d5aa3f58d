"""Reading records: every format, TRL's conventions, and one-line errors that name file, line and field."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from memgap.data.io import read_records, records_to_rows, write_jsonl
from memgap.errors import MemgapError

CHAT = {"id": "a", "family": "f1", "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hi."},
    {"role": "assistant", "content": "Hi."},
]}
PLAIN = {"prompt": "2+2=", "completion": "4", "family": "math"}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_chat_and_plain_records(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps(CHAT), json.dumps(PLAIN)])
    chat, plain = read_records(path)
    assert chat.is_chat and chat.completion == "Hi." and chat.family == "f1"
    assert [m["role"] for m in chat.prompt_messages] == ["system", "user"]
    assert not plain.is_chat and plain.prompt_text == "2+2=" and plain.completion == "4"
    assert plain.id == "row-2"  # made up from the row number when absent


def test_conversational_prompt_completion(tmp_path):
    row = {"prompt": [{"role": "user", "content": "Q"}], "completion": [{"role": "assistant", "content": "A"}]}
    (record,) = read_records(write_lines(tmp_path / "d.jsonl", [json.dumps(row)]))
    assert record.is_chat and record.completion == "A"


def test_json_csv_parquet_agree_with_jsonl(tmp_path):
    rows = [CHAT, {**CHAT, "id": "b", "family": "f2"}]
    expected = read_records(write_lines(tmp_path / "d.jsonl", [json.dumps(r) for r in rows]))
    (tmp_path / "d.json").write_text(json.dumps(rows))
    csv_lines = ["id,family,messages"] + [
        f'{r["id"]},{r["family"]},"{json.dumps(r["messages"]).replace(chr(34), chr(34) * 2)}"' for r in rows
    ]
    write_lines(tmp_path / "d.csv", csv_lines)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    for name in ("d.json", "d.csv", "d.parquet"):
        got = read_records(tmp_path / name)
        assert [(r.id, r.family, r.completion, r.prompt_messages) for r in got] == [
            (r.id, r.family, r.completion, r.prompt_messages) for r in expected
        ], name


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "file is empty"),
        ('{"messages": [}\n', "d.jsonl:1: malformed JSON"),
        (json.dumps(CHAT) + "\n" + '{"messages": [{"role": "user"\n', "d.jsonl:2: malformed JSON"),
        ('{"prompt": "x"}\n', "d.jsonl:1: field 'completion'"),
        ('{"text": "x"}\n', "d.jsonl:1: field 'text'"),
        ('{"messages": "hello"}\n', "d.jsonl:1: field 'messages': expected a list"),
        ('{"messages": [{"role": "user", "content": "hi"}]}\n', "no assistant turn"),
        ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}]}\n', "empty completion"),
        ('{"messages": [{"role": "wizard", "content": "q"}, {"role": "assistant", "content": "a"}]}\n', "unknown role 'wizard'"),
        ("[1, 2]\n", "expected a JSON object"),
        (json.dumps(CHAT) + "\n" + json.dumps(CHAT) + "\n", "d.jsonl:2: field 'id': duplicate id 'a'"),
    ],
)
def test_bad_jsonl_gives_one_line_naming_where(tmp_path, content, expected):
    path = tmp_path / "d.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MemgapError) as caught:
        read_records(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_binary_garbage_and_missing_file(tmp_path):
    garbage = tmp_path / "g.jsonl"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MemgapError, match="not UTF-8"):
        read_records(garbage)
    with pytest.raises(MemgapError, match="no such file"):
        read_records(tmp_path / "absent.jsonl")
    with pytest.raises(MemgapError, match="unsupported file type"):
        read_records(write_lines(tmp_path / "d.txt", ["x"]))


def test_csv_without_needed_columns_and_bad_parquet(tmp_path):
    with pytest.raises(MemgapError, match=r"d.csv:2: field 'messages'"):
        read_records(write_lines(tmp_path / "d.csv", ["question,answer", "a,b"]))
    bad = tmp_path / "d.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(MemgapError, match="not a readable Parquet file"):
        read_records(bad)


def test_required_family(tmp_path):
    path = write_lines(tmp_path / "d.jsonl", [json.dumps({k: v for k, v in CHAT.items() if k != "family"})])
    assert read_records(path)[0].family is None
    with pytest.raises(MemgapError, match=r"field 'family'.*--infer"):
        read_records(path, require_family=True)


def test_round_trip_is_atomic_and_lossless(tmp_path):
    records = read_records(write_lines(tmp_path / "d.jsonl", [json.dumps(CHAT), json.dumps(PLAIN)]))
    out = write_jsonl(tmp_path / "out" / "copy.jsonl", records_to_rows(records))
    assert [r.completion for r in read_records(out)] == ["Hi.", "4"]
    assert not list((tmp_path / "out").glob(".*.tmp"))
