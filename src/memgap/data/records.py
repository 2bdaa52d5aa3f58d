"""The one in-memory shape of an SFT example that every stage of an audit reads.

A record is either chat (`messages`, or conversational `prompt`/`completion`) or plain text
(`prompt`/`completion` strings), following TRL's dataset conventions. The completion is the final
assistant turn: what evaluation scores, given everything before it (`prompt_messages`). Training
learns every assistant turn from `train_from_turn` on (TRL's assistant-only loss), so a multi-turn
conversation keeps all its turns. Messages are kept whole (`tool_calls`, `name`, `tool_call_id`, any
key a chat template may read, reasoning in `thinking` or `reasoning_content` too); only `content`
given as text parts is joined into one string. A row's `chat_template_kwargs` travel with it to the
chat template, as TRL passes them.
"""
from __future__ import annotations

from collections.abc import Iterator
import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One SFT example: the prompt, the reference completion, its family and its source row.

    `prompt_messages`: every message before the final assistant turn (system, user, earlier
    assistant turns, tool calls and results), each a full message dict. `completion_message`: the
    final assistant turn as a dict (None: `{"role": "assistant", "content": completion}`).
    `train_from_turn`: index of the first message whose assistant turns training may learn (0 for
    a `messages` row; the prompt's length for a conversational prompt/completion row, whose prompt
    is never learned). `tools`: the row's tool schemas, handed to the chat template.
    `chat_template_kwargs`: extra keyword arguments for the chat template (e.g. `enable_thinking`), as
    TRL's `chat_template_kwargs` column. `source`: the file and row it was read from, for error messages.
    """

    id: str
    completion: str
    prompt_messages: tuple[dict[str, Any], ...] | None = None
    prompt_text: str | None = None
    family: str | None = None
    context: dict[str, Any] | None = None
    row: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    completion_message: dict[str, Any] | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    train_from_turn: int = 0
    chat_template_kwargs: dict[str, Any] | None = None
    source: str | None = field(default=None, compare=False, repr=False)

    @property
    def is_chat(self) -> bool:
        return self.prompt_messages is not None

    @property
    def messages(self) -> tuple[dict[str, Any], ...]:
        """The whole conversation: the prompt messages and the final assistant turn (chat records only)."""
        final = self.completion_message or {"role": "assistant", "content": self.completion}
        return (*(self.prompt_messages or ()), final)

    @property
    def prompt_plain(self) -> str:
        """The prompt as plain text (message contents only), for similarity and probes."""
        if self.prompt_messages is not None:
            return "\n".join(message["content"] for message in self.prompt_messages if isinstance(message.get("content"), str))
        return self.prompt_text or ""

    @property
    def full_text(self) -> str:
        """Prompt and completion as one text, for family inference and leakage checks."""
        return f"{self.prompt_plain}\n{self.completion}"

    def with_family(self, family: str) -> "Record":
        return dataclasses.replace(self, family=family)


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
