"""The data shapes the fine-tuning ecosystem writes, mapped onto TRL's conversational format.

memgap's records follow TRL (`messages`, or `prompt`/`completion`); rows written for other tools are
mapped onto it as those tools read them (one example row each in docs/data.md):

- ShareGPT (FastChat, axolotl, LLaMA-Factory, Unsloth): `conversations` of `{"from", "value"}` turns,
  or such turns inside `messages`. TRL's `maybe_convert_to_chatml` renames `from`/`value` to
  `role`/`content`; the roles' usual spellings are mapped as axolotl and LLaMA-Factory map them
  (`ROLE_ALIASES`). LLaMA-Factory's `function_call` turn (a JSON call) becomes an assistant turn with
  `tool_calls`, its `observation` turn a `tool` turn, and its `system` column a leading system turn
  unless the conversation already opens with one.
- Alpaca, exactly as LLaMA-Factory's `AlpacaDatasetConverter` reads it: `history` pairs become
  earlier user/assistant turns, the user turn is `instruction` and `input` joined by "\n" (each only
  when non-empty), `output` the assistant's answer, and a non-empty `system` a leading system turn.
- TRL's language-modelling rows (`text` only) hold no prompt to generate from, so no completion to
  score given it: they are refused in one line that says what to convert them to.

What a row holds beside its shape's keys is kept as it is (`id`, `family`, any column a user
stratifies on).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from memgap.errors import MemgapError

ROLES = ("system", "user", "assistant", "tool")
# Role spellings of ShareGPT exports (FastChat's human/gpt and the chat services it scraped), axolotl's
# default role map, LLaMA-Factory's observation and function tags, Gemma's "model", OpenAI's legacy
# "function" result turn and Llama 3.1's "ipython" tool-result turn. Matched case-insensitively.
ROLE_ALIASES = {
    "system": "system",
    "user": "user", "human": "user",
    "assistant": "assistant", "gpt": "assistant", "model": "assistant", "bot": "assistant", "chatgpt": "assistant",
    "bard": "assistant", "bing": "assistant",
    "tool": "tool", "observation": "tool", "function": "tool", "ipython": "tool",
}
FUNCTION_CALL_ROLE = "function_call"  # LLaMA-Factory: an assistant turn whose value is a JSON tool call
ALPACA_KEYS = ("instruction", "input", "output", "system", "history")
# Every shape's columns: in a row of another shape a null one is Parquet's fill, not data.
SHAPE_COLUMNS = frozenset({"messages", "prompt", "completion", "conversations", *ALPACA_KEYS, "text", "tools",
                           "chat_template_kwargs"})
# Keys that make a JSON object a row rather than an object holding rows.
ROW_KEYS = ("messages", "prompt", "completion", "conversations", "instruction", "output", "text")
# Arguments memgap itself gives `apply_chat_template`; a row's `chat_template_kwargs` may not set them
# (TRL would fail on the duplicate keyword).
RESERVED_TEMPLATE_KWARGS = frozenset({
    "conversation", "messages", "tools", "documents", "chat_template", "add_generation_prompt",
    "continue_final_message", "tokenize", "padding", "truncation", "max_length", "return_tensors", "return_dict",
    "return_assistant_tokens_mask", "tokenizer_kwargs",
})
Where = Callable[[str | None], str]


def row_shape(row: dict[str, Any]) -> str | None:
    """Which shape a row is in: "messages", "prompt-completion", "sharegpt", "alpaca", "text", or None.

    TRL's own keys win when a row holds several shapes' keys (a `text` column beside Alpaca's keys is
    the Alpaca prompt rendered, as tatsu-lab/alpaca ships it). A null value is an absent key: Parquet
    gives every row every column, null where a row had none.
    """
    keys = {key for key, value in row.items() if value is not None}
    if "messages" in keys:
        return "messages"
    if "prompt" in keys and "completion" in keys:
        return "prompt-completion"
    if "conversations" in keys:
        return "sharegpt"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if "text" in keys and "prompt" not in keys:
        return "text"
    return None


def trl_message_keys(message: dict[str, Any], position: int, where: Where, field: str) -> dict[str, Any]:
    """One message with TRL's keys: ShareGPT's `from`/`value` renamed, the role's spelling mapped to
    one of ROLES, a `function_call` turn turned into an assistant turn with `tool_calls`.

    Every other key (`tool_calls`, `name`, `thinking`, `reasoning_content`, ...) is kept. An unknown
    role is left as it is for the caller to refuse. Raises MemgapError for a `function_call` turn
    whose value is not a JSON call.
    """
    message = dict(message)
    if "role" not in message and "from" in message:
        message["role"] = message.pop("from")
    if "content" not in message and "value" in message:
        message["content"] = message.pop("value")
    role = message.get("role")
    if not isinstance(role, str) or role in ROLES:
        return message
    if role.lower() == FUNCTION_CALL_ROLE:
        return {**message, "role": "assistant", "content": None,
                "tool_calls": _function_calls(message.get("content"), position, where, field)}
    message["role"] = ROLE_ALIASES.get(role.lower(), role)
    return message


def _function_calls(value: Any, position: int, where: Where, field: str) -> list[dict[str, Any]]:
    """LLaMA-Factory's function_call value (a JSON call or list of calls) as TRL's `tool_calls`."""
    calls = value
    if isinstance(value, str):
        try:
            calls = json.loads(value)
        except json.JSONDecodeError:
            calls = None
    calls = [calls] if isinstance(calls, dict) else calls
    if not isinstance(calls, list) or not calls or not all(isinstance(c, dict) and "name" in c for c in calls):
        raise MemgapError(f"message {position} is a function_call turn whose value is not a JSON call "
                          "{\"name\": ..., \"arguments\": ...} (or a list of them)", where=where(field))
    return [{"type": "function", "function": call} for call in calls]


def system_column(row: dict[str, Any], where: Where) -> str | None:
    """The row's `system` column as LLaMA-Factory reads it: a non-empty string, or None."""
    system = row.get("system")
    if system is None or system == "":
        return None
    if not isinstance(system, str):
        raise MemgapError(f"expected a string, got {type(system).__name__}", where=where("system"))
    return system


def alpaca_messages(row: dict[str, Any], where: Where) -> list[dict[str, Any]]:
    """An Alpaca row as TRL messages, as LLaMA-Factory's AlpacaDatasetConverter builds them.

    Raises MemgapError naming the field for a value of the wrong type or a `history` entry that is
    not an [instruction, response] pair of strings.
    """
    messages: list[dict[str, Any]] = []
    system = system_column(row, where)
    if system:
        messages.append({"role": "system", "content": system})
    history = row.get("history")
    if history not in (None, ""):
        if not isinstance(history, list):
            raise MemgapError("expected a list of [instruction, response] pairs", where=where("history"))
        for position, pair in enumerate(history):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(text, str) for text in pair)):
                raise MemgapError(f"entry {position} is not an [instruction, response] pair of strings",
                                  where=where("history"))
            messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    query = [text for text in (_optional_text(row, "instruction", where), _optional_text(row, "input", where)) if text]
    output = row.get("output")
    if not isinstance(output, str):
        raise MemgapError(f"expected a string, got {type(output).__name__}", where=where("output"))
    return [*messages, {"role": "user", "content": "\n".join(query)}, {"role": "assistant", "content": output}]


def _optional_text(row: dict[str, Any], key: str, where: Where) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MemgapError(f"expected a string, got {type(value).__name__}", where=where(key))
    return value


def text_row_error(where: Where) -> MemgapError:
    """The refusal of TRL's language-modelling shape: there is no prompt to generate a completion from."""
    return MemgapError(
        "a 'text'-only row (TRL's language-modelling shape) has no prompt to generate from, and memgap audits a "
        "completion given its prompt; convert each row to 'messages' (a user turn, then the assistant's answer) "
        "or to 'prompt' and 'completion'", where=where("text"))


def decoded_json_text(value: Any, where: Where, field: str) -> Any:
    """A column TRL decodes from JSON text when it is a string (`tools`; LLaMA-Factory writes tools as
    JSON text); an empty string is an absent value."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise MemgapError(f"malformed JSON text ({error.msg})", where=where(field)) from None


def chat_template_kwargs(value: Any, where: Where) -> dict[str, Any] | None:
    """A row's `chat_template_kwargs`, as TRL passes them to `apply_chat_template` (null entries, which
    Parquet adds for other rows' keys, dropped); None when absent or empty.

    Raises MemgapError for a value that is not an object or that sets an argument memgap gives itself.
    """
    value = decoded_json_text(value, where, "chat_template_kwargs")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MemgapError(f"expected an object of template arguments, got {type(value).__name__}",
                          where=where("chat_template_kwargs"))
    reserved = sorted(set(value) & RESERVED_TEMPLATE_KWARGS)
    if reserved:
        raise MemgapError(f"'{reserved[0]}' is an argument memgap sets itself (tools go in the 'tools' column); "
                          "keep template variables such as enable_thinking here", where=where("chat_template_kwargs"))
    kept = {key: item for key, item in value.items() if item is not None}
    return kept or None
