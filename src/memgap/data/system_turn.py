"""Fold a conversation's system turn into its first user turn, for chat templates that refuse system turns.

Gemma's template raises on a `system` message; its own documentation puts such instructions at the
head of the first user turn, which is what `data.system_turn: fold` does.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from memgap.data.records import Record

SYSTEM_TURN_CHOICES = ("keep", "fold")


def fold_system_turn(record: Record) -> Record:
    """The record with its leading system message(s) joined to the first user message by a blank line.

    Records without a leading system message (and plain-text records) come back unchanged. When no
    user message follows, the system text becomes a user message of its own.
    """
    messages = list(record.prompt_messages or ())
    system = []
    while messages and messages[0].get("role") == "system":
        system.append(messages.pop(0))
    if not system:
        return record
    instructions = "\n\n".join(m["content"] for m in system if isinstance(m.get("content"), str))
    removed = len(system)
    if messages and messages[0].get("role") == "user" and isinstance(messages[0].get("content"), str):
        first: dict[str, Any] = {**messages[0], "content": f"{instructions}\n\n{messages[0]['content']}"}
        messages[0] = first
    else:
        messages.insert(0, {"role": "user", "content": instructions})
        removed -= 1
    return dataclasses.replace(
        record, prompt_messages=tuple(messages), train_from_turn=max(record.train_from_turn - removed, 0)
    )


def has_system_turn(record: Record) -> bool:
    return any(message.get("role") == "system" for message in record.prompt_messages or ())
