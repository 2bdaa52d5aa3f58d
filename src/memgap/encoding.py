"""Turn a record into token ids with the model's chat template, marking which tokens are learned.

Training, NLL scoring and generation all go through here, so the three see exactly the same text.
A conversation is rendered once by the template (with the row's `tools`); the text of each learned
assistant turn is located by rendering the conversation up to that turn, as TRL's assistant-only
loss does: training learns every assistant turn (or only the last, `assistant_turns="last"`);
evaluation scores the final assistant turn given everything before it. Each piece of text is
tokenized on its own, so the boundary between what is given and what is learned stays exact.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from memgap.data.records import Record
from memgap.errors import MemgapError

IGNORE_INDEX = -100  # the label value that torch's cross-entropy and the Trainer skip
AssistantTurns = Literal["all", "last"]
ASSISTANT_TURNS = ("all", "last")


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of a whole row, labels on the learned tokens, and truncation facts.

    `prompt_length`: tokens before the final assistant turn, within max_length. `completion_start`:
    the same before truncation. `full_length`: all tokens before truncation.
    """

    record_id: str
    input_ids: list[int]
    labels: list[int]
    prompt_length: int
    full_length: int  # before truncation
    completion_start: int = 0  # token index where the final assistant turn starts, before truncation

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.input_ids)

    @property
    def completion_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)

    @property
    def completion_cut_off(self) -> bool:
        """True when truncation leaves no token of the final assistant turn (nothing to score)."""
        return self.completion_start >= len(self.input_ids)


def uses_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_chat(tokenizer, record: Record, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool) -> str:
    """The chat template's text for `messages` (with the record's tools and `chat_template_kwargs`, as
    TRL passes them); a refusal is a MemgapError.

    Raises MemgapError naming the record's file and row, the template's reason and what to do, for
    any error the template raises (a Gemma-style template refuses a system turn; some insist on
    alternating roles).
    """
    extra = {"tools": list(record.tools)} if record.tools else {}
    extra.update(record.chat_template_kwargs or {})
    try:
        return tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=add_generation_prompt, **extra
        )
    except Exception as error:  # jinja2's TemplateError, or whatever a template's own code raises
        reason = " ".join(str(error).split()) or type(error).__name__
        if any(message.get("role") == "system" for message in messages):
            hint = ("set data.system_turn: fold to fold the system turn into the first user turn, "
                    "or use a model whose template accepts system turns")
        else:
            hint = "fix the row, or use a model whose chat template accepts it"
        raise MemgapError(f"the model's chat template refuses row '{record.id}' ({reason}); {hint}",
                          where=record.source or f"row '{record.id}'") from None


def prompt_text(tokenizer, record: Record) -> str:
    """The exact text the model sees before it writes the final assistant turn (generation's prompt)."""
    if record.is_chat and uses_chat_template(tokenizer):
        return render_chat(tokenizer, record, record.prompt_messages, add_generation_prompt=True)
    if record.is_chat:
        return "".join(text for text, _ in _transcript(tokenizer, record.prompt_messages, set())) + _turn_header(record.prompt_messages)
    return record.prompt_text or ""


def completion_text(tokenizer, record: Record) -> str:
    """The final assistant turn as the template renders it, end-of-turn marker included, so the model learns to stop."""
    return _pieces(tokenizer, record, "last")[-1][0]


def encode(tokenizer, record: Record, max_length: int, *, assistant_turns: AssistantTurns = "last") -> EncodedExample:
    """Tokenize a row piece by piece, label the learned turns, then cut to max_length.

    Parameters: `max_length` in tokens; `assistant_turns` "all" labels every assistant turn from
    the record's `train_from_turn` on (training), "last" only the final one (evaluation).
    Raises MemgapError when the chat template refuses the row, or when it renders an earlier
    assistant turn differently once later turns follow (its span cannot be located).
    """
    input_ids: list[int] = []
    labels: list[int] = []
    if tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False):
        input_ids.append(tokenizer.bos_token_id)
        labels.append(IGNORE_INDEX)
    pieces = _pieces(tokenizer, record, assistant_turns)
    completion_start = 0
    for position, (text, learned) in enumerate(pieces):
        if position == len(pieces) - 1:
            completion_start = len(input_ids)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        input_ids.extend(ids)
        labels.extend(ids if learned else [IGNORE_INDEX] * len(ids))
    return EncodedExample(
        record_id=record.id,
        input_ids=input_ids[:max_length],
        labels=labels[:max_length],
        prompt_length=min(completion_start, max_length),
        full_length=len(input_ids),
        completion_start=completion_start,
    )


def encode_all(tokenizer, records: Sequence[Record], max_length: int, *, assistant_turns: AssistantTurns = "last") -> list[EncodedExample]:
    return [encode(tokenizer, record, max_length, assistant_turns=assistant_turns) for record in records]


def require_some_completion(examples: Sequence[EncodedExample], max_length: int) -> None:
    """Refuse a training set whose every completion was cut away by truncation: nothing would be learned."""
    if not any(example.completion_tokens for example in examples):
        raise MemgapError(
            f"every training row loses its whole completion to truncation at model.max_length={max_length}; raise it"
        )


def overlong_error(record_ids: Sequence[str], max_length: int, needed_length: int, *, where: str | None = None) -> MemgapError:
    """The error for rows whose final assistant turn `max_length` cuts off entirely, naming them and the length to set."""
    shown = ", ".join(f"'{record_id}'" for record_id in record_ids[:10])
    if len(record_ids) > 10:
        shown += f" and {len(record_ids) - 10} more"
    return MemgapError(
        f"{len(record_ids)} row(s) lose their whole completion to truncation at model.max_length={max_length}: {shown}; "
        f"set model.max_length to at least {needed_length}, or data.overlong_rows: drop to leave them out "
        "(counted in audit.json)",
        where=where,
    )


def _pieces(tokenizer, record: Record, assistant_turns: AssistantTurns) -> list[tuple[str, bool]]:
    """The row's text as (piece, learned) pairs; the last pair is always the final assistant turn."""
    if assistant_turns not in ASSISTANT_TURNS:
        raise ValueError(f"assistant_turns must be one of {ASSISTANT_TURNS}, not {assistant_turns!r}")
    if not record.is_chat:
        return [(record.prompt_text or "", False), (record.completion + (tokenizer.eos_token or ""), True)]
    messages = list(record.messages)
    last = len(messages) - 1
    earlier = [] if assistant_turns == "last" else [
        index for index, message in enumerate(messages[:last])
        if message["role"] == "assistant" and index >= record.train_from_turn
    ]
    if not uses_chat_template(tokenizer):
        pieces = _transcript(tokenizer, messages[:last], set(earlier))
        final = messages[last]
        return [*pieces, (_turn_header(messages[:last]), False), (_message_text(final) + (tokenizer.eos_token or ""), True)]
    prompt = render_chat(tokenizer, record, messages[:last], add_generation_prompt=True)
    full = render_chat(tokenizer, record, messages, add_generation_prompt=False)
    # A template whose full rendering does not extend the generation prompt (it rewrites the last
    # turn) still gets the reference text the model should write, ended by end-of-sequence.
    final_text = full[len(prompt):] if full.startswith(prompt) else _message_text(messages[last]) + (tokenizer.eos_token or "")
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for index in earlier:
        before = render_chat(tokenizer, record, messages[:index], add_generation_prompt=True) if index else ""
        through = render_chat(tokenizer, record, messages[: index + 1], add_generation_prompt=False)
        if not (through.startswith(before) and prompt.startswith(through) and len(before) >= cursor):
            raise MemgapError(
                f"the model's chat template renders assistant turn {index} of row '{record.id}' differently once "
                "later turns follow, so its tokens cannot be located; set training.assistant_turns: last",
                where=record.source or f"row '{record.id}'",
            )
        pieces += [(prompt[cursor:len(before)], False), (prompt[len(before):len(through)], True)]
        cursor = len(through)
    pieces += [(prompt[cursor:], False), (final_text, True)]
    return pieces


def _message_text(message: dict[str, Any]) -> str:
    if isinstance(message.get("content"), str):
        return message["content"]
    return json.dumps(message.get("tool_calls"), ensure_ascii=False, sort_keys=True)


def _transcript(tokenizer, messages: Sequence[dict[str, Any]], learned: set[int]) -> list[tuple[str, bool]]:
    """Without a chat template: a plain `role: content` transcript, the same for training and generation."""
    pieces: list[tuple[str, bool]] = []
    for index, message in enumerate(messages):
        separator = "\n" if index else ""
        if message["role"] == "assistant":
            turn = _message_text(message) + (tokenizer.eos_token or "")
            pieces += [(f"{separator}assistant: ", False), (turn, index in learned)]
        else:
            pieces.append((f"{separator}{message['role']}: {_message_text(message)}", False))
    return pieces


def _turn_header(messages: Sequence[dict[str, Any]]) -> str:
    return ("\n" if messages else "") + "assistant: "
