"""One row of a data file to one `Record`, in TRL's dataset conventions, with one-line errors.

Accepted shapes: `messages` (a conversation ending in an assistant turn), a conversational
`prompt`/`completion` (lists of messages; the completion may hold several messages, kept whole),
or plain `prompt`/`completion` strings. Messages follow TRL's conversational format: `content` is a
string, a list of `{"type": "text", "text": ...}` parts (joined into one string), or null on an
assistant turn that carries `tool_calls`; `tool` turns carry results; a `tools` column holds the
tool schemas. Every other key of a message is kept for the chat template.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from memgap.data.records import Record
from memgap.data.values import canonical_value
from memgap.errors import MemgapError, where_in_file

ROLES = ("system", "user", "assistant", "tool")
Where = Callable[[str | None], str]


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
    tools = _tools(row.get("tools"), where)
    common = dict(family=family, context=context, row=row, tools=tools, source=where_in_file(path, line))

    if "messages" in row:
        messages = validate_messages(row["messages"], where, "messages")
        final = _final_turn(messages, where, "messages")
        if len(messages) < 2:
            raise MemgapError("needs at least one message before the assistant's", where=where("messages"))
        return Record(record_id, final["content"], prompt_messages=tuple(messages[:-1]), completion_message=final, **common)
    if "prompt" in row and "completion" in row:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list):
            prompt_messages = validate_messages(prompt, where, "prompt")
            if isinstance(completion, str):
                completion_messages = [{"role": "assistant", "content": completion}]
            elif isinstance(completion, list):
                completion_messages = validate_messages(completion, where, "completion")
            else:
                raise MemgapError("expected a string or a list of messages", where=where("completion"))
            final = _final_turn(completion_messages, where, "completion")
            before = (*prompt_messages, *completion_messages[:-1])
            return Record(record_id, final["content"], prompt_messages=before, completion_message=final,
                          train_from_turn=len(prompt_messages), **common)
        if not isinstance(prompt, str):
            raise MemgapError("expected a string or a list of messages", where=where("prompt"))
        if not isinstance(completion, str):
            raise MemgapError("expected a string", where=where("completion"))
        _require_text(completion, where("completion"))
        return Record(record_id, completion, prompt_text=prompt, **common)
    missing = "completion" if "prompt" in row else "messages"
    raise MemgapError(
        "missing field (records need 'messages', or 'prompt' and 'completion')", where=where(missing)
    )


def validate_messages(messages: Any, where: Where, field: str) -> list[dict[str, Any]]:
    """Check a list of TRL messages and return copies with text-part content joined into a string.

    Raises MemgapError naming the message for: a missing role or content, an unknown role, content
    that is neither text, text parts nor (on a tool-calling assistant turn) null, a non-text part.
    """
    if not isinstance(messages, list):
        raise MemgapError(f"expected a list of messages, got {type(messages).__name__}", where=where(field))
    if not messages:
        raise MemgapError("empty list of messages", where=where(field))
    checked = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise MemgapError(f"message {position} needs 'role' and 'content'", where=where(field))
        if message["role"] not in ROLES:
            raise MemgapError(f"message {position} has unknown role '{message['role']}'", where=where(field))
        # A key whose value is null is an absent key (Parquet fills every key of every message).
        kept = {key: value for key, value in message.items() if value is not None or key == "content"}
        kept["content"] = _content_text(message, position, where, field)
        checked.append(kept)
    return checked


def _content_text(message: dict[str, Any], position: int, where: Where, field: str) -> str | None:
    content = message["content"]
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
