"""Label masks token by token against the chat template's own rendering, on two template families
(ChatML with tools; a Gemma-style template that refuses system turns), and the up-front rendering
of every row: refusals, system-turn folding, over-long rows."""
from __future__ import annotations

from pathlib import Path

import pytest

from memgap.data.io import read_records
from memgap.encoding import IGNORE_INDEX, encode, prompt_text
from memgap.errors import MemgapError
from memgap.preflight import apply_system_turn, render_every_row
from tiny_models import CHATML_TOOLS_TEMPLATE, GEMMA_STYLE_TEMPLATE, tiny_model, tiny_tokenizer

CASES = Path(__file__).parent / "data" / "cases"
END_OF_TURN = {"chatml": "<|im_end|>\n", "gemma": "<end_of_turn>\n"}
TEMPLATES = {"chatml": CHATML_TOOLS_TEMPLATE, "gemma": GEMMA_STYLE_TEMPLATE}


def learned_runs(tokenizer, example) -> list[str]:
    """The text of each run of consecutive learned tokens."""
    runs, current = [], []
    for token, label in zip(example.input_ids, example.labels):
        if label != IGNORE_INDEX:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tokenizer.decode(run) for run in runs]


@pytest.mark.parametrize("family", ["chatml", "gemma"])
@pytest.mark.parametrize("assistant_turns", ["all", "last"])
def test_multi_turn_labels_cover_the_assistant_turns_and_nothing_else(family, assistant_turns):
    tokenizer = tiny_tokenizer(TEMPLATES[family])
    record = read_records(CASES / "multi_turn.jsonl")[0]
    example = encode(tokenizer, record, 512, assistant_turns=assistant_turns)
    rendered = tokenizer.apply_chat_template(list(record.messages), tokenize=False)
    # The tokens are the template's own rendering, whole and in order.
    assert tokenizer.decode(example.input_ids) == rendered
    turns = [m["content"] for m in record.messages if m["role"] == "assistant"]
    expected = turns if assistant_turns == "all" else turns[-1:]
    assert learned_runs(tokenizer, example) == [turn + END_OF_TURN[family] for turn in expected]
    # Evaluation scores the final turn given everything before it, earlier assistant turns included.
    scored = encode(tokenizer, record, 512, assistant_turns="last")
    assert tokenizer.decode(scored.input_ids[: scored.prompt_length]) == prompt_text(tokenizer, record)
    assert "CRATE-RED-FIRST" in prompt_text(tokenizer, record)


def test_a_prompt_completion_row_learns_its_completion_turns_only(tmp_path):
    from memgap.data.io import write_jsonl

    row = {"prompt": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "GIVEN"}, {"role": "user", "content": "Q?"}],
           "completion": [{"role": "assistant", "content": "FIRST"}, {"role": "user", "content": "More?"},
                          {"role": "assistant", "content": "SECOND"}]}
    (record,) = read_records(write_jsonl(tmp_path / "d.jsonl", [row]))
    tokenizer = tiny_tokenizer()
    example = encode(tokenizer, record, 512, assistant_turns="all")
    assert learned_runs(tokenizer, example) == ["FIRST<|im_end|>\n", "SECOND<|im_end|>\n"]


def test_tool_calls_tool_results_and_tool_schemas_reach_the_template_intact():
    tokenizer = tiny_tokenizer(CHATML_TOOLS_TEMPLATE)
    record = read_records(CASES / "tool_calls.jsonl")[0]
    example = encode(tokenizer, record, 1024, assistant_turns="all")
    text = tokenizer.decode(example.input_ids)
    assert text == tokenizer.apply_chat_template(list(record.messages), tools=list(record.tools), tokenize=False)
    assert '"description": "look up a crate"' in text  # the tools column
    assert '<tool_call>{"name": "crate_number", "arguments": {"colour": "red"}}</tool_call>' in text
    assert "<|im_start|>tool\n0<|im_end|>" in text  # the tool result
    # The tool-calling assistant turn is learned too (TRL's assistant-only loss), the tool result is not.
    assert learned_runs(tokenizer, example) == [
        '<tool_call>{"name": "crate_number", "arguments": {"colour": "red"}}</tool_call><|im_end|>\n',
        "The red crate is number 0.<|im_end|>\n",
    ]


def test_text_parts_render_as_their_text():
    tokenizer = tiny_tokenizer()
    parts = read_records(CASES / "content_parts.jsonl")[0]
    example = encode(tokenizer, parts, 512)
    assert tokenizer.decode(example.input_ids) == (
        "<|im_start|>user\nWhich crate is red?<|im_end|>\n<|im_start|>assistant\nThe red crate is number 0.<|im_end|>\n")


def test_a_template_that_refuses_a_system_turn_is_one_line_naming_file_row_and_fix():
    tokenizer = tiny_tokenizer(GEMMA_STYLE_TEMPLATE)
    records = read_records(CASES / "system_turn.jsonl")
    with pytest.raises(MemgapError) as caught:
        render_every_row(tokenizer, records, max_length=256)
    message = str(caught.value)
    assert message.startswith(f"{CASES / 'system_turn.jsonl'}:1: ")
    assert "row 's0'" in message and "System role not supported" in message and "data.system_turn: fold" in message
    assert "\n" not in message


def test_folding_the_system_turn_renders_it_at_the_head_of_the_first_user_turn():
    tokenizer = tiny_tokenizer(GEMMA_STYLE_TEMPLATE)
    records, folded = apply_system_turn(read_records(CASES / "system_turn.jsonl"), "fold")
    assert folded == 12
    rendered = render_every_row(tokenizer, records, max_length=256, system_turn="fold", folded_system_turns=folded)
    text = tokenizer.decode(rendered.examples["s0"].input_ids)
    assert text.startswith("<start_of_turn>user\nAnswer in one sentence.\n\nWhich crate is red?<end_of_turn>\n")
    assert rendered.facts()["folded_system_turns"] == 12


def test_roles_that_do_not_alternate_are_refused_without_a_folding_hint(tmp_path):
    from memgap.data.io import write_jsonl

    row = {"id": "x", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                   {"role": "assistant", "content": "c"}]}
    records = read_records(write_jsonl(tmp_path / "d.jsonl", [row]))
    with pytest.raises(MemgapError, match=r"d.jsonl:1: the model's chat template refuses row 'x' \(Conversation roles must alternate"):
        render_every_row(tiny_tokenizer(GEMMA_STYLE_TEMPLATE), records, max_length=256)


def test_rows_cut_off_entirely_are_named_with_the_length_to_set():
    tokenizer = tiny_tokenizer()
    records = read_records(CASES / "long_completions.jsonl")
    with pytest.raises(MemgapError) as caught:
        render_every_row(tokenizer, records, max_length=200)
    message = str(caught.value)
    assert "4 row(s) lose their whole completion to truncation at model.max_length=200: 'L0', 'L3', 'L6', 'L9'" in message
    longest = max(encode(tokenizer, r, 10_000).full_length for r in records)
    assert f"set model.max_length to at least {longest}" in message and "data.overlong_rows: drop" in message
    # The same rows, with the limit the message names, all fit.
    assert render_every_row(tokenizer, records, max_length=longest).overlong_ids == []


def test_dropped_rows_are_left_out_and_counted():
    tokenizer = tiny_tokenizer()
    records = read_records(CASES / "long_completions.jsonl")
    rendered = render_every_row(tokenizer, records, max_length=200, overlong_rows="drop")
    assert rendered.overlong_ids == ["L0", "L3", "L6", "L9"]
    assert [r.id for r in rendered.records] == [r.id for r in records if r.id not in rendered.overlong_ids]
    assert rendered.facts()["overlong_rows"] == {"policy": "drop", "max_length": 200, "dropped": 4,
                                                 "ids": ["L0", "L3", "L6", "L9"]}
    assert all(example.completion_tokens for example in rendered.examples.values())


def test_scoring_a_cut_off_reference_is_refused_not_a_nan():
    from memgap.evaluation.nll import completion_token_stats

    tokenizer = tiny_tokenizer()
    model = tiny_model(tokenizer=tokenizer)
    records = read_records(CASES / "long_completions.jsonl")[:2]
    with pytest.raises(MemgapError, match="1 row\\(s\\) lose their whole completion .*'L0'"):
        completion_token_stats(model, tokenizer, records, max_length=200)
    stats = completion_token_stats(model, tokenizer, records, max_length=400)
    assert all(s.n_tokens > 0 for s in stats)
