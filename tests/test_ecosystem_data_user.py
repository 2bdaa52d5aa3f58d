"""Data files as the fine-tuning ecosystem writes them, read by `memgap families` (and, for TRL's
text-only rows, `memgap split` + `memgap audit`).

The same 40 rows in 12 families (tests/ecosystem_adapters.py) in each file layout and row shape:
JSON Lines named .json, a JSON array named .jsonl, gzip-compressed JSON Lines, ShareGPT rows
(`conversations` of from/value with human/gpt/system, as axolotl's `type: sharegpt` and Unsloth's
`standardize_sharegpt` read them), ShareGPT turns inside `messages`, Alpaca rows
(instruction/input/output/system/history, LLaMA-Factory's alpaca format), assistant tool-call turns
without a `content` key (as OpenAI-style exports write them) and TRL's text-only rows (`text`).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import ecosystem_adapters as eco

SYSTEM = "You keep the stock list of the warehouse."


def _question(row):
    return row["prompt"][0]["content"]


def _answer(row):
    return row["completion"][0]["content"]


def _lines(records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _sharegpt(row):
    return {"id": row["id"], "family": row["family"], "conversations": [
        {"from": "system", "value": SYSTEM}, {"from": "human", "value": _question(row)},
        {"from": "gpt", "value": _answer(row)}]}


def _sharegpt_in_messages(row):
    return {"id": row["id"], "family": row["family"], "messages": [
        {"from": "human", "value": _question(row)}, {"from": "gpt", "value": _answer(row)}]}


def _alpaca(row):
    return {"id": row["id"], "family": row["family"], "instruction": _question(row), "input": "",
            "output": _answer(row), "system": SYSTEM, "history": [["Hello.", "Hello, how can I help?"]]}


def _tool_call(row):
    return {"id": row["id"], "family": row["family"],
            "tools": [{"type": "function", "function": {"name": "find_item", "parameters": {
                "type": "object", "properties": {"item": {"type": "string"}}}}}],
            "messages": [
                {"role": "user", "content": _question(row)},
                {"role": "assistant", "tool_calls": [{"type": "function", "function": {
                    "name": "find_item", "arguments": {"item": _question(row)}}}]},
                {"role": "tool", "name": "find_item", "content": _answer(row)},
                {"role": "assistant", "content": _answer(row)}]}


def _text(row):
    return {"id": row["id"], "family": row["family"], "text": f"{_question(row)}\n{_answer(row)}"}


def write_shape(folder: Path, shape: str) -> Path:
    rows = eco.rows()
    folder.mkdir(parents=True, exist_ok=True)
    if shape == "jsonl_named_json":
        path = folder / "rows.json"
        path.write_text(_lines(rows))
    elif shape == "json_array_named_jsonl":
        path = folder / "rows.jsonl"
        path.write_text(json.dumps(rows, indent=1))
    elif shape == "jsonl_gz":
        path = folder / "rows.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(_lines(rows))
    else:
        convert = {"sharegpt": _sharegpt, "sharegpt_in_messages": _sharegpt_in_messages, "alpaca": _alpaca,
                   "tool_call_without_content": _tool_call, "text": _text}[shape]
        path = folder / f"{shape}.jsonl"
        path.write_text(_lines(convert(row) for row in rows))
    return path


SHAPES = ["jsonl_named_json", "json_array_named_jsonl", "jsonl_gz", "sharegpt", "sharegpt_in_messages", "alpaca",
          "tool_call_without_content"]


def _shown(result) -> str:
    return f"rc={result.returncode}\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}"


def _families_report(result) -> dict:
    assert result.returncode == 0, _shown(result)
    assert "Traceback" not in result.stderr, _shown(result)
    return json.loads(result.stdout)


@pytest.mark.parametrize("shape", SHAPES)
def test_declared_families_are_read_from_each_shape(tmp_path, shape):
    path = write_shape(tmp_path, shape)
    report = _families_report(eco.memgap("families", path, "--family-field", "family", "--json"))
    assert report["rows"] == 40 and report["families"] == 12, report
    # The text was read: siblings are far more alike than strangers.
    similarity = report["similarity"]
    assert similarity["within_family"]["mean"] > similarity["between_family"]["mean"] + 0.3, similarity


@pytest.mark.parametrize("shape", ["sharegpt", "sharegpt_in_messages", "alpaca", "tool_call_without_content"])
def test_inferred_families_come_from_the_conversation_text(tmp_path, shape):
    path = write_shape(tmp_path, shape)
    report = _families_report(eco.memgap("families", path, "--infer", "--json"))
    assert report["rows"] == 40 and 10 <= report["families"] <= 14, report


def _refusal_names_text_and_a_shape_to_convert_to(result) -> str:
    line = eco.assert_one_line_error(result)
    assert "'text'" in line or '"text"' in line or "text-only" in line.lower() or "`text`" in line, line
    assert "messages" in line or "prompt" in line, line
    return line


def test_text_rows_families_are_counted_or_refused_naming_the_shape(tmp_path):
    path = write_shape(tmp_path, "text")
    result = eco.memgap("families", path, "--family-field", "family", "--json")
    if result.returncode == 0:
        report = _families_report(result)
        assert report["rows"] == 40 and report["families"] == 12, report
    else:
        _refusal_names_text_and_a_shape_to_convert_to(result)


def test_text_rows_audit_is_nll_only_and_says_so_or_one_line_naming_the_shape(tmp_path):
    """TRL's language-modeling rows have no prompt to generate from: a user expects either an audit of
    the NLL alone that says so, or one line naming the `text` shape and what to convert it to."""
    path = write_shape(tmp_path / "data", "text")
    split = tmp_path / "split"
    result = eco.memgap("split", path, "--strategy", "nested", "--out", split)
    if result.returncode != 0:
        _refusal_names_text_and_a_shape_to_convert_to(result)
        assert not split.exists()
        return
    base = eco.build_base(tmp_path / "base")
    adapter = eco.build_adapter("plain", base, tmp_path / "adapter")
    config = tmp_path / "audit.yaml"
    config.write_text(eco.AUDIT_CONFIG)
    out = tmp_path / "audit"
    result = eco.memgap("audit", "--model", base, "--adapter", adapter, "--split", split, "--config", config,
                        "--no-progress", "--out", out)
    if result.returncode != 0:
        _refusal_names_text_and_a_shape_to_convert_to(result)
        return
    audit = json.loads((out / "audit.json").read_text())
    said = (result.stdout + result.stderr + json.dumps(audit.get("warnings") or [])).lower()
    assert "nll" in said and ("only" in said or "no generation" in said), _shown(result)
