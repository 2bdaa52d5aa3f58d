"""Turn a record into token ids with the model's chat template, marking where the completion starts.

Training (loss on completion tokens only), NLL scoring and generation all go through here, so the
three see exactly the same prompt text and the same prompt/completion boundary.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memgap.data.records import Record
from memgap.errors import MemgapError

IGNORE_INDEX = -100  # the label value that torch's cross-entropy and the Trainer skip


@dataclass(frozen=True)
class EncodedExample:
    """Token ids of prompt + completion, labels masked to the completion, and truncation facts."""

    record_id: str
    input_ids: list[int]
    labels: list[int]
    prompt_length: int
    full_length: int  # before truncation

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.input_ids)

    @property
    def completion_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def uses_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer, record: Record) -> str:
    """The exact text the model sees before it writes the completion."""
    if record.is_chat and uses_chat_template(tokenizer):
        return tokenizer.apply_chat_template(list(record.prompt_messages), tokenize=False, add_generation_prompt=True)
    if record.is_chat:
        # No template: a plain transcript, the same rendering for training and generation.
        lines = [f"{message['role']}: {message['content']}" for message in record.prompt_messages]
        return "\n".join(lines) + "\nassistant: "
    return record.prompt_text or ""


def completion_text(tokenizer, record: Record) -> str:
    """The completion as the template renders it, end-of-turn marker included, so the model learns to stop."""
    if record.is_chat and uses_chat_template(tokenizer):
        prompt = prompt_text(tokenizer, record)
        messages = [*record.prompt_messages, {"role": "assistant", "content": record.completion}]
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if full.startswith(prompt):
            return full[len(prompt):]
    eos = tokenizer.eos_token or ""
    return record.completion + eos


def encode(tokenizer, record: Record, max_length: int) -> EncodedExample:
    """Tokenize prompt and completion separately (the boundary stays exact), then cut to max_length."""
    prompt_ids = tokenizer(prompt_text(tokenizer, record), add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion_text(tokenizer, record), add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None and getattr(tokenizer, "add_bos_token", False):
        prompt_ids = [tokenizer.bos_token_id, *prompt_ids]
    input_ids = [*prompt_ids, *completion_ids]
    labels = [IGNORE_INDEX] * len(prompt_ids) + list(completion_ids)
    return EncodedExample(
        record_id=record.id,
        input_ids=input_ids[:max_length],
        labels=labels[:max_length],
        prompt_length=min(len(prompt_ids), max_length),
        full_length=len(input_ids),
    )


def encode_all(tokenizer, records: Sequence[Record], max_length: int) -> list[EncodedExample]:
    return [encode(tokenizer, record, max_length) for record in records]


def require_some_completion(examples: Sequence[EncodedExample], max_length: int) -> None:
    """Refuse a training set whose every completion was cut away by truncation: nothing would be learned."""
    if not any(example.completion_tokens for example in examples):
        raise MemgapError(
            f"every training row loses its whole completion to truncation at model.max_length={max_length}; raise it"
        )
