"""Every row rendered once, up front, before any stage of an audit is written.

An audit renders every row of the data with the model's chat template and tokenizer before the
split is saved or the base model evaluated, so a row the template refuses, or one whose final
assistant turn `model.max_length` cuts off entirely, stops the run in seconds with one line that
names it, instead of a traceback or a NaN after an hour of work. Rows are rendered as training
renders them; evaluation renders the same text up to the final turn, so one rule serves both.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memgap.data.records import Record
from memgap.data.system_turn import fold_system_turn, has_system_turn
from memgap.encoding import AssistantTurns, EncodedExample, encode, overlong_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedData:
    """The rows an audit goes on with, their training encodings by id, and what was changed or left out."""

    records: list[Record]
    examples: dict[str, EncodedExample] = field(repr=False)
    max_length: int
    assistant_turns: str
    overlong_policy: str
    overlong_ids: list[str] = field(default_factory=list)
    system_turn: str = "keep"
    folded_system_turns: int = 0

    def facts(self) -> dict[str, Any]:
        """What audit.json records under `data.rendering`."""
        return {
            "assistant_turns": self.assistant_turns,
            "system_turn": self.system_turn,
            "folded_system_turns": self.folded_system_turns,
            "overlong_rows": {
                "policy": self.overlong_policy,
                "max_length": self.max_length,
                "dropped": len(self.overlong_ids),
                "ids": list(self.overlong_ids),
            },
        }


def apply_system_turn(records: Sequence[Record], system_turn: str) -> tuple[list[Record], int]:
    """The records under `data.system_turn` ("keep" or "fold"), and how many had a system turn folded."""
    if system_turn == "keep":
        return list(records), 0
    folded = sum(1 for record in records if has_system_turn(record))
    return [fold_system_turn(record) for record in records], folded


def render_every_row(
    tokenizer,
    records: Sequence[Record],
    *,
    max_length: int,
    assistant_turns: AssistantTurns = "all",
    overlong_rows: str = "error",
    system_turn: str = "keep",
    folded_system_turns: int = 0,
) -> RenderedData:
    """Encode every record once; refuse (or, with `overlong_rows="drop"`, leave out) cut-off rows.

    Parameters: `max_length` in tokens; `assistant_turns` as training learns them; `overlong_rows`
    "error" or "drop"; `system_turn` and `folded_system_turns` are recorded as given.
    Raises MemgapError naming file, row and reason when the chat template refuses a row, and, under
    "error", naming every row whose final assistant turn starts at or beyond `max_length` and the
    length that would keep them all.
    """
    examples = {record.id: encode(tokenizer, record, max_length, assistant_turns=assistant_turns) for record in records}
    overlong = [record for record in records if examples[record.id].completion_cut_off]
    if overlong and overlong_rows != "drop":
        needed = max(examples[record.id].full_length for record in overlong)
        raise overlong_error([record.id for record in overlong], max_length, needed, where=overlong[0].source)
    dropped = {record.id for record in overlong}
    if dropped:
        log.warning(
            "left out %d row(s) whose completion model.max_length=%d cuts off entirely (data.overlong_rows: drop): %s",
            len(dropped), max_length, ", ".join(record.id for record in overlong[:10]),
        )
    return RenderedData(
        records=[record for record in records if record.id not in dropped],
        examples={key: value for key, value in examples.items() if key not in dropped},
        max_length=max_length,
        assistant_turns=assistant_turns,
        overlong_policy=overlong_rows,
        overlong_ids=[record.id for record in overlong],
        system_turn=system_turn,
        folded_system_turns=folded_system_turns,
    )
