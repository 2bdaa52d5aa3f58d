"""The one in-memory shape of an SFT example that every stage of an audit reads.

A record is either chat (`messages`, or conversational `prompt`/`completion`) or plain text
(`prompt`/`completion` strings), following TRL's dataset conventions. The completion is what the
model is trained to produce and what the audit scores; the prompt is everything before it.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One SFT example: the prompt, the reference completion, its family and its source row."""

    id: str
    completion: str
    prompt_messages: tuple[dict[str, str], ...] | None = None
    prompt_text: str | None = None
    family: str | None = None
    context: dict[str, Any] | None = None
    row: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_chat(self) -> bool:
        return self.prompt_messages is not None

    @property
    def prompt_plain(self) -> str:
        """The prompt as plain text (user-visible content only), for similarity and probes."""
        if self.prompt_messages is not None:
            return "\n".join(message["content"] for message in self.prompt_messages)
        return self.prompt_text or ""

    @property
    def full_text(self) -> str:
        """Prompt and completion as one text, for family inference and leakage checks."""
        return f"{self.prompt_plain}\n{self.completion}"

    def with_family(self, family: str) -> "Record":
        return Record(
            id=self.id,
            completion=self.completion,
            prompt_messages=self.prompt_messages,
            prompt_text=self.prompt_text,
            family=family,
            context=self.context,
            row=self.row,
        )


def context_strings(context: Any) -> Iterator[str]:
    """Every string and number inside a record's structured context, depth first."""
    if context is None:
        return
    if isinstance(context, str):
        yield context
    elif isinstance(context, bool):
        return
    elif isinstance(context, (int, float)):
        yield str(context)
    elif isinstance(context, dict):
        for value in context.values():
            yield from context_strings(value)
    elif isinstance(context, (list, tuple)):
        for value in context:
            yield from context_strings(value)
