"""The rules that shaped the data, in words: which assistant turns training learned, system turns
folded, rows dropped as over-long (audit.json's `data.rendering`), for the report's data section.

A reader should not have to find `"assistant_turns": "all"` in the settings dump to learn that a
three-turn conversation was trained on all three answers, or that rows were left out.
"""
from __future__ import annotations

from typing import Any

SHOWN_IDS = 10


def rendering_sentences(rendering: Any) -> list[str]:
    """One sentence per rule in `data.rendering` (assistant turns, system turns, over-long rows).

    Parameters: `rendering`, the dict `memgap.preflight.RenderedData.facts()` writes; anything else
    (an audit from before the rendering was recorded) gives no sentence.
    """
    if not isinstance(rendering, dict):
        return []
    texts = [_assistant_turns(rendering.get("assistant_turns"))]
    texts.append(_system_turn(rendering.get("system_turn"), rendering.get("folded_system_turns")))
    texts.append(_overlong(rendering.get("overlong_rows")))
    return [text for text in texts if text]


def _assistant_turns(rule: Any) -> str | None:
    scored = "Evaluation scores the final assistant turn given every message before it."
    if rule == "all":
        return ("Training learned every assistant turn of each conversation, as TRL's assistant-only loss does "
                "(training.assistant_turns: all); user, system and tool turns were context only. " + scored)
    if rule == "last":
        return ("Training learned only the final assistant turn of each conversation (training.assistant_turns: "
                "last); earlier assistant turns were context, like the user, system and tool turns. " + scored)
    return None


def _system_turn(rule: Any, folded: Any) -> str | None:
    if rule == "fold":
        count = folded if isinstance(folded, int) else 0
        return (f"System turns folded into the first user turn (data.system_turn: fold): {count} "
                f"row{'' if count == 1 else 's'}.")
    if rule == "keep":
        return "System turns were kept as written (data.system_turn: keep); no system turn was folded."
    return None


def _overlong(overlong: Any) -> str | None:
    if not isinstance(overlong, dict):
        return None
    limit, dropped, ids = overlong.get("max_length"), overlong.get("dropped"), overlong.get("ids") or []
    if isinstance(dropped, int) and dropped > 0:
        shown = ", ".join(str(i) for i in ids[:SHOWN_IDS]) + (f" and {len(ids) - SHOWN_IDS} more"
                                                             if len(ids) > SHOWN_IDS else "")
        return (f"Rows dropped as over-long: {dropped} (model.max_length {limit} tokens cut off their final assistant "
                f"turn entirely; data.overlong_rows: drop): {shown}. They are in no split, neither trained nor scored.")
    return (f"Rows dropped as over-long: none (model.max_length {limit} tokens; a longer row is truncated, its first "
            "tokens trained and scored).")
