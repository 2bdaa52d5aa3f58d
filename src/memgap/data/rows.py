"""One row of a data file to one `Record`, in TRL's dataset conventions, with one-line errors.

Accepted shapes: `messages` (a conversation ending in an assistant turn), a conversational
`prompt`/`completion` (lists of messages; the completion may hold several messages, kept whole),
plain `prompt`/`completion` strings, and the ecosystem's ShareGPT and Alpaca rows, mapped onto
`messages` first (`memgap.data.shapes`). Messages follow TRL's conversational format: `content` is a
string, a list of `{"type": "text", "text": ...}` parts (joined into one string), or null or absent
on an assistant turn that carries `tool_calls`; `tool` turns carry results; a `tools` column holds
the tool schemas (JSON text decoded, as TRL does). Every other key of a message is kept for the chat
template (reasoning in `thinking` or `reasoning_content` included).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from memgap.data import shapes
from memgap.data.records import Record
from memgap.data.shapes import ROLES, Where
from memgap.data.values import canonical_value
from memgap.errors import MemgapError, where_in_file


def record_from_row(
    row: dict[str, Any],
    path: Path,
    line: int,
    index: int,
    family_field: str | None,
    require_family: bool,
    *,
    from_text: bool = False,
) -> Record:
    """Validate one row and build its Record; `from_text` marks untyped (CSV) cells for id and family."""

    def where(field: str | None = None) -> str:
        return where_in_file(path, line, field)

    record_id = canonical_value(row.get("id"), from_text=from_text)
    record_id = f"row-{index + 1}" if record_id is None else record_id
    family = None
    if family_field:
        family = canonical_value(row.get(family_field), from_text=from_text)
        if family is None and require_family:
            raise MemgapError("missing family (pass --infer to infer families)", where=where(family_field))
    context = row.get("context")
    if context is not None and not isinstance(context, dict):
        raise MemgapError("expected an object", where=where("context"))
    shape = shapes.row_shape(row)
    converted = trl_row(row, where)
    common = dict(family=family, context=context, row=row, tools=_tools(converted.get("tools"), where),
                  chat_template_kwargs=converted.get("chat_template_kwargs"), source=where_in_file(path, line))

    if "messages" in converted:
        # Errors about the final turn name the field the user wrote it in.
        field = {"sharegpt": "conversations", "alpaca": "output"}.get(shape or "", "messages")
        messages = converted["messages"]
        final = _final_turn(messages, where, field)
        if len(messages) < 2:
            raise MemgapError("needs at least one message before the assistant's", where=where(field))
        return Record(record_id, final["content"], prompt_messages=tuple(messages[:-1]), completion_message=final, **common)
    prompt, completion = converted["prompt"], converted["completion"]
    if isinstance(prompt, list):
        completion_messages = completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}]
        final = _final_turn(completion_messages, where, "completion")
        before = (*prompt, *completion_messages[:-1])
        return Record(record_id, final["content"], prompt_messages=before, completion_message=final,
                      train_from_turn=len(prompt), **common)
    _require_text(completion, where("completion"))
    return Record(record_id, completion, prompt_text=prompt, **common)


def trl_row(row: dict[str, Any], where: Where) -> dict[str, Any]:
    """The row in TRL's format: ShareGPT and Alpaca keys replaced by `messages`, every message checked
    and given TRL's keys, `tools` and `chat_template_kwargs` decoded; every other key kept.

    What memgap writes (split files, `--out` files) is this row, so a tool that reads TRL's format
    reads it, and memgap reads it back as the same record. Raises MemgapError naming the field for a
    row no shape accepts or a malformed value.
    """
    shape = shapes.row_shape(row)
    # Other shapes' columns that are null in this row (Parquet's fill) are left out.
    converted = {key: value for key, value in row.items() if value is not None or key not in shapes.SHAPE_COLUMNS}
    if shape == "messages":
        converted["messages"] = validate_messages(row["messages"], where, "messages")
    elif shape == "prompt-completion":
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list):
            converted["prompt"] = validate_messages(prompt, where, "prompt")
            if isinstance(completion, list):
                converted["completion"] = validate_messages(completion, where, "completion")
            elif not isinstance(completion, str):
                raise MemgapError("expected a string or a list of messages", where=where("completion"))
        elif not isinstance(prompt, str):
            raise MemgapError("expected a string or a list of messages", where=where("prompt"))
        elif not isinstance(completion, str):
            raise MemgapError("expected a string", where=where("completion"))
    elif shape == "sharegpt":
        messages = validate_messages(converted.pop("conversations"), where, "conversations")
        system = shapes.system_column(row, where)
        if system and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": system})
            converted.pop("system")
        converted["messages"] = messages
    elif shape == "alpaca":
        messages = validate_messages(shapes.alpaca_messages(row, where), where, "output")
        converted = {key: value for key, value in converted.items() if key not in shapes.ALPACA_KEYS}
        converted["messages"] = messages
    elif shape == "text":
        raise shapes.text_row_error(where)
    else:
        raise _missing_field(row, where)
    for key in ("tools", "chat_template_kwargs"):
        if key in converted:
            decoded = (shapes.decoded_json_text(converted[key], where, key) if key == "tools"
                       else shapes.chat_template_kwargs(converted[key], where))
            if decoded is None:
                converted.pop(key)
            else:
                converted[key] = decoded
    return converted


def _missing_field(row: dict[str, Any], where: Where) -> MemgapError:
    if row.get("prompt") is not None:
        return MemgapError("missing field (records need 'messages', or 'prompt' and 'completion')", where=where("completion"))
    if row.get("instruction") is not None:
        return MemgapError("missing field (an Alpaca row needs 'instruction' and 'output')", where=where("output"))
    return MemgapError(
        "missing field (records need 'messages', or 'prompt' and 'completion'; ShareGPT 'conversations' and "
        "Alpaca 'instruction'/'output' are read too)", where=where("messages"))


def validate_messages(messages: Any, where: Where, field: str) -> list[dict[str, Any]]:
    """Check a list of messages and return copies in TRL's form, text-part content joined into a string.

    ShareGPT turns (`from`/`value`) and the usual role spellings are mapped first
    (`shapes.trl_message_keys`). Raises MemgapError naming the message for: a missing role or content,
    an unknown role, content that is neither text, text parts nor (on a tool-calling assistant turn)
    null or absent, a non-text part.
    """
    if not isinstance(messages, list):
        raise MemgapError(f"expected a list of messages, got {type(messages).__name__}", where=where(field))
    if not messages:
        raise MemgapError("empty list of messages", where=where(field))
    checked = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise MemgapError(f"message {position} needs 'role' and 'content'", where=where(field))
        message = shapes.trl_message_keys(message, position, where, field)
        # A tool-calling assistant turn may leave `content` out (TRL's examples do); it is null then,
        # as `datasets` makes it once another message of the column has content.
        calls_only = message.get("role") == "assistant" and bool(message.get("tool_calls"))
        if "role" not in message or ("content" not in message and not calls_only):
            raise MemgapError(f"message {position} needs 'role' and 'content'", where=where(field))
        if message["role"] not in ROLES:
            raise MemgapError(f"message {position} has unknown role '{message['role']}'", where=where(field))
        # A key whose value is null is an absent key (Parquet fills every key of every message).
        kept = {key: value for key, value in message.items() if value is not None or key == "content"}
        kept["content"] = _content_text(message, position, where, field)
        checked.append(kept)
    return checked


def _content_text(message: dict[str, Any], position: int, where: Where, field: str) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if content is None:
        if message["role"] == "assistant" and message.get("tool_calls"):
            return None
        raise MemgapError(f"message {position} has null content (allowed only on an assistant turn with tool_calls)",
                          where=where(field))
    if isinstance(content, list):
        texts = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            if kind != "text" or not isinstance(part.get("text"), str):
                raise MemgapError(
                    f"message {position} has a content part of type '{kind}'; memgap audits text: keep only "
                    "{\"type\": \"text\", \"text\": ...} parts", where=where(field))
            texts.append(part["text"])
        return "".join(texts)
    raise MemgapError(f"message {position} content must be text or a list of text parts", where=where(field))


def _final_turn(messages: list[dict[str, Any]], where: Where, field: str) -> dict[str, Any]:
    final = messages[-1]
    if final["role"] != "assistant":
        raise MemgapError("the last message must be the assistant's (no assistant turn to learn)", where=where(field))
    if final["content"] is None:
        raise MemgapError("the last assistant turn holds only tool calls; end the conversation with the assistant's "
                          "text answer", where=where(field))
    _require_text(final["content"], where(field))
    return final


def _tools(tools: Any, where: Where) -> tuple[dict[str, Any], ...] | None:
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
        raise MemgapError("expected a list of tool schemas (objects)", where=where("tools"))
    return tuple(tools) or None


def _require_text(text: str, where: str) -> None:
    if not text.strip():
        raise MemgapError("empty completion", where=where)
