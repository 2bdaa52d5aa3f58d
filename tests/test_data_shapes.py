"""The ecosystem's data shapes mapped onto TRL's conversational format: ShareGPT (also inside
`messages`, and LLaMA-Factory's function_call/observation turns), Alpaca as LLaMA-Factory reads it,
tool-calling turns without `content`, reasoning keys and `chat_template_kwargs` handed to the
template as TRL hands them, and TRL's text-only rows refused in one line. Each shape survives every
reader and writer: rows read -> records -> written by memgap -> read again, equal."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from memgap.cli import main
from memgap.data.io import read_records, records_to_rows, write_jsonl, write_rows
from memgap.data.rows import validate_messages
from memgap.encoding import completion_text, encode, prompt_text
from memgap.errors import MemgapError
from tiny_models import tiny_tokenizer

SYSTEM = "You keep the stock list."
TOOLS = [{"type": "function", "function": {"name": "find_item", "description": "Where an item is.", "parameters": {
    "type": "object", "properties": {"item": {"type": "string"}}}}}]
LLAMA_FACTORY_TOOLS = [{"name": "find_item", "description": "Where an item is.", "parameters": {
    "type": "object", "properties": {"item": {"type": "string"}}}}]


def _question(index: int) -> str:
    return f"Where is crate {index}?"


def _answer(index: int) -> str:
    return f"Crate {index} is on shelf {index % 3}."


def _call(index: int) -> dict:
    return {"name": "find_item", "arguments": {"item": f"crate {index}"}}


# Each shape: (one row as the tool that writes it writes it, the TRL messages memgap must read from it).
def sharegpt(index):
    row = {"conversations": [{"from": "human", "value": _question(index)}, {"from": "gpt", "value": _answer(index)}],
           "system": SYSTEM}
    return row, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _question(index)},
                 {"role": "assistant", "content": _answer(index)}]


def sharegpt_system_turn(index):
    # The conversation opens with its own system turn: LLaMA-Factory then ignores the system column.
    row = {"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": _question(index)},
                             {"from": "gpt", "value": _answer(index)}], "system": SYSTEM}
    return row, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": _question(index)},
                 {"role": "assistant", "content": _answer(index)}]


def sharegpt_in_messages(index):
    row = {"messages": [{"from": "user", "value": _question(index)}, {"from": "model", "value": "Which crate?"},
                        {"from": "Human", "value": f"Crate {index}."}, {"from": "GPT", "value": _answer(index)}]}
    return row, [{"role": "user", "content": _question(index)}, {"role": "assistant", "content": "Which crate?"},
                 {"role": "user", "content": f"Crate {index}."}, {"role": "assistant", "content": _answer(index)}]


def sharegpt_function_call(index):
    # LLaMA-Factory's ShareGPT with tools: the call is JSON text, the tools column too.
    row = {"conversations": [{"from": "human", "value": _question(index)},
                             {"from": "function_call", "value": json.dumps(_call(index))},
                             {"from": "observation", "value": f"shelf {index % 3}"},
                             {"from": "gpt", "value": _answer(index)}],
           "tools": json.dumps(LLAMA_FACTORY_TOOLS)}
    return row, [{"role": "user", "content": _question(index)},
                 {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": _call(index)}]},
                 {"role": "tool", "content": f"shelf {index % 3}"}, {"role": "assistant", "content": _answer(index)}]


def alpaca(index):
    row = {"instruction": _question(index), "input": "Answer with the shelf.", "output": _answer(index),
           "system": SYSTEM, "history": [["Hello.", "Hello, how can I help?"]]}
    return row, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hello."},
                 {"role": "assistant", "content": "Hello, how can I help?"},
                 {"role": "user", "content": f"{_question(index)}\nAnswer with the shelf."},
                 {"role": "assistant", "content": _answer(index)}]


def alpaca_without_input(index):
    row = {"instruction": _question(index), "input": "", "output": _answer(index)}
    return row, [{"role": "user", "content": _question(index)}, {"role": "assistant", "content": _answer(index)}]


def tool_call_without_content(index):
    call = {"type": "function", "function": _call(index)}
    row = {"tools": TOOLS, "messages": [
        {"role": "user", "content": _question(index)}, {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "name": "find_item", "content": f"shelf {index % 3}"},
        {"role": "assistant", "content": _answer(index)}]}
    return row, [{"role": "user", "content": _question(index)}, {"role": "assistant", "content": None, "tool_calls": [call]},
                 {"role": "tool", "name": "find_item", "content": f"shelf {index % 3}"},
                 {"role": "assistant", "content": _answer(index)}]


def reasoning(index):
    key = "thinking" if index % 2 else "reasoning_content"
    row = {"chat_template_kwargs": {"enable_thinking": bool(index % 2)}, "messages": [
        {"role": "user", "content": _question(index)},
        {"role": "assistant", key: f"Crate {index} sits on shelf {index % 3}.", "content": _answer(index)}]}
    return row, [{"role": "user", "content": _question(index)},
                 {"role": "assistant", key: f"Crate {index} sits on shelf {index % 3}.", "content": _answer(index)}]


SHAPES = {shape.__name__: shape for shape in (sharegpt, sharegpt_system_turn, sharegpt_in_messages, sharegpt_function_call,
                                              alpaca, alpaca_without_input, tool_call_without_content, reasoning)}
FILES = ("rows.jsonl", "rows.json", "rows.csv", "rows.parquet", "rows.jsonl.gz", "rows.json.bz2", "rows.csv.xz",
         "rows.parquet.gz")


def shape_rows(shape: str, n: int = 6) -> tuple[list[dict], list[list[dict]]]:
    rows, expected = [], []
    for index in range(n):
        row, messages = SHAPES[shape](index)
        rows.append({"id": f"r{index}", "family": f"f{index % 3}", **row})
        expected.append(messages)
    return rows, expected


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_reads_as_the_trl_messages_its_tools_mean(tmp_path, shape):
    rows, expected = shape_rows(shape)
    records = read_records(write_jsonl(tmp_path / "rows.jsonl", rows))
    assert [list(record.messages) for record in records] == expected
    assert [record.completion for record in records] == [_answer(index) for index in range(len(rows))]
    assert all(record.train_from_turn == 0 for record in records)  # every assistant turn is learned, as TRL learns `messages`
    if shape == "sharegpt_function_call":
        assert records[0].tools == tuple(LLAMA_FACTORY_TOOLS)  # decoded from JSON text, as TRL decodes it
    if shape == "reasoning":
        assert [record.chat_template_kwargs for record in records[:2]] == [{"enable_thinking": False}, {"enable_thinking": True}]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_survives_every_reader_and_writer(tmp_path, shape):
    rows, _ = shape_rows(shape)
    reference = read_records(write_jsonl(tmp_path / "reference.jsonl", rows))
    for name in FILES:
        raw = write_rows(tmp_path / "raw" / name, rows)
        records = read_records(raw)
        assert records == reference, name
        written = write_rows(tmp_path / "written" / name, records_to_rows(records))
        assert read_records(written) == reference, name
    # What memgap writes is TRL's format: a tool reading `messages` reads it.
    for row in records_to_rows(reference):
        assert not {"conversations", "instruction", "input", "output", "history"} & set(row)
        assert all(message["role"] in ("system", "user", "assistant", "tool") and "content" in message
                   for message in row["messages"])


def test_a_file_may_mix_shapes_row_by_row(tmp_path):
    rows, expected = [], []
    for index, shape in enumerate(sorted(SHAPES)):
        row, messages = SHAPES[shape](index)
        rows.append({"id": shape, **row})
        expected.append(messages)
    # (Not Parquet: LLaMA-Factory's tools are JSON text, TRL's a list, and a Parquet column holds one type.)
    for name in ("mixed.jsonl", "mixed.json", "mixed.csv.gz"):
        records = read_records(write_rows(tmp_path / name, rows))
        assert [list(record.messages) for record in records] == expected, name


@pytest.mark.parametrize("spelling, role", [
    ("human", "user"), ("Human", "user"), ("user", "user"), ("gpt", "assistant"), ("GPT", "assistant"),
    ("model", "assistant"), ("bot", "assistant"), ("chatgpt", "assistant"), ("assistant", "assistant"),
    ("system", "system"), ("observation", "tool"), ("function", "tool"), ("tool", "tool"), ("ipython", "tool"),
])
def test_role_spellings_of_sharegpt_exports(spelling, role):
    (message,) = validate_messages([{"from": spelling, "value": "x"}], lambda field=None: "here", "conversations")
    assert message == {"role": role, "content": "x"}


@pytest.mark.parametrize("row, expected", [
    ({"text": "Q: where?\nA: there."}, "field 'text': a 'text'-only row (TRL's language-modelling shape) has no prompt"),
    ({"conversations": [{"from": "wizard", "value": "q"}, {"from": "gpt", "value": "a"}]},
     "field 'conversations': message 0 has unknown role 'wizard'"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}, {"from": "human", "value": "?"}]},
     "field 'conversations': the last message must be the assistant's"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "find it"},
                        {"from": "gpt", "value": "a"}]}, "field 'conversations': message 1 is a function_call turn"),
    ({"conversations": [{"from": "human"}, {"from": "gpt", "value": "a"}]}, "message 0 needs 'role' and 'content'"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": 3},
     "field 'system': expected a string"),
    ({"instruction": "q", "output": "a", "history": [["only half"]]}, "field 'history': entry 0 is not an [instruction, response] pair"),
    ({"instruction": "q", "output": 3}, "field 'output': expected a string"),
    ({"instruction": "q", "input": "x", "output": " "}, "field 'output': empty completion"),
    ({"instruction": "q"}, "field 'output': missing field"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "chat_template_kwargs": ["x"]},
     "field 'chat_template_kwargs': expected an object"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
      "chat_template_kwargs": {"tools": []}}, "field 'chat_template_kwargs': 'tools' is an argument memgap sets itself"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "tools": "[{"},
     "field 'tools': malformed JSON text"),
])
def test_a_row_no_shape_accepts_is_one_line_naming_the_field(tmp_path, row, expected):
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "ok", "messages": [{"role": "user", "content": "q"},
                                                                          {"role": "assistant", "content": "a"}]}, row])
    with pytest.raises(MemgapError) as caught:
        read_records(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: ") and expected in message, message
    assert "\n" not in message


def test_text_rows_are_refused_before_any_split_is_written(tmp_path, capsys):
    path = write_jsonl(tmp_path / "text.jsonl", [{"id": f"r{i}", "family": f"f{i % 3}", "text": f"Q{i}\nA{i}"} for i in range(9)])
    out = tmp_path / "split"
    with pytest.raises(SystemExit) as exited:
        main(["split", str(path), "--out", str(out)])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "'text'-only row" in error and "'messages'" in error and "'prompt'" in error
    assert not out.exists()


# A ChatML template that shows what TRL hands it: reasoning keys on assistant turns and a template variable.
THINKING_TEMPLATE = (
    "{% if enable_thinking is defined %}<|im_start|>system\nthinking={{ enable_thinking }}<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% set reasoning = message.get('reasoning_content') or message.get('thinking') %}"
    "{% if reasoning %}<think>{{ reasoning }}</think>{% endif %}{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_reasoning_and_template_arguments_reach_the_template(tmp_path):
    rows, _ = shape_rows("reasoning", 2)
    off, on = read_records(write_jsonl(tmp_path / "rows.jsonl", rows))
    tokenizer = tiny_tokenizer(THINKING_TEMPLATE)
    assert prompt_text(tokenizer, off).startswith("<|im_start|>system\nthinking=False<|im_end|>\n")
    assert prompt_text(tokenizer, on).startswith("<|im_start|>system\nthinking=True<|im_end|>\n")
    assert completion_text(tokenizer, off) == "<think>Crate 0 sits on shelf 0.</think>Crate 0 is on shelf 0.<|im_end|>\n"
    assert completion_text(tokenizer, on) == "<think>Crate 1 sits on shelf 1.</think>Crate 1 is on shelf 1.<|im_end|>\n"
    # Training learns the reasoning with the answer: both lie in the labelled tokens.
    example = encode(tokenizer, on, 256)
    learned = tokenizer.decode([token for token, label in zip(example.input_ids, example.labels) if label != -100])
    assert learned.startswith("<think>Crate 1 sits on shelf 1.</think>Crate 1 is on shelf 1.")


def test_memgap_renders_each_shape_as_trl_renders_it(tmp_path):
    """TRL's own conversion and template call, on the rows as written: the same text, token for token."""
    from trl.data_utils import apply_chat_template, maybe_convert_to_chatml

    tokenizer = tiny_tokenizer(THINKING_TEMPLATE)
    rows = [
        {"conversations": [{"from": "user", "value": "Where?"}, {"from": "assistant", "value": "There."}]},
        {"messages": [{"from": "user", "value": "Where?"}, {"from": "assistant", "value": "Here."}]},
        reasoning(3)[0],
        reasoning(4)[0],
    ]
    records = read_records(write_jsonl(tmp_path / "rows.jsonl", rows))
    for row, record in zip(rows, records):
        expected = apply_chat_template(maybe_convert_to_chatml(json.loads(json.dumps(row))), tokenizer)["text"]
        example = encode(tokenizer, record, 512)
        assert tokenizer.decode(example.input_ids) == expected


ROOT = Path(__file__).resolve().parents[1]


def _documented_rows() -> list[tuple[str, dict]]:
    """Every example row of README.md's "Data shapes" table and of docs/data.md, with where it is."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Data shapes"):readme.index("What memgap does with them")]
    rows = [("README.md", json.loads(cell)) for cell in re.findall(r"^\|[^|]+\| `(\{.*\})` \|$", table, flags=re.MULTILINE)]
    doc = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    rows += [("docs/data.md", json.loads(line)) for line in doc.splitlines() if line.startswith('{"id": ')]
    return rows


def test_every_documented_example_row_reads_as_documented(tmp_path):
    documented = _documented_rows()
    assert len({row["id"] for _, row in documented}) >= 12  # the scan finds the examples
    for source, row in documented:
        path = write_jsonl(tmp_path / f"{row['id']}.jsonl", [row])
        if set(row) == {"id", "family", "text"}:
            with pytest.raises(MemgapError, match="'text'-only row"):
                read_records(path)
            continue
        (record,) = read_records(path)
        assert record.completion == "Crate 0.", (source, row["id"])
        assert "crate is red" in record.prompt_plain, (source, row["id"])
