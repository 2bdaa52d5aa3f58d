"""The report's building blocks as plain data: sections made of paragraphs, notes, tables, figures.

Both templates (HTML and Markdown) print the same blocks, so the two documents cannot drift apart.
A section holds its body (`blocks`, designed for a reader) and its `appendix` (the full figures,
printed collapsed at the end of the report).
"""
from __future__ import annotations

from typing import Any

from memgap.report.formatting import number

HOLDOUT_NAMES = {"seen": "seen families", "unseen": "unseen families"}
METRIC_TITLES = {"score": "score", "nll": "NLL reduction"}
LABEL_STYLES = {  # verdict label -> (title, tone)
    "generalizes": ("Generalizes", "good"),
    "memorizes-families": ("Memorizes families", "bad"),
    "no-lift": ("No lift", "neutral"),
    "inconclusive": ("Inconclusive", "warn"),
}


OBSERVATIONAL_PART_NAMES = {"seen": "with a training sibling", "unseen": "without a training sibling"}


def holdout_names(audit: dict[str, Any]) -> dict[str, str]:
    """The two parts' names: seen/unseen families for a randomized split, with/without a training sibling for an
    observational partition (whose parts are not families held out by design)."""
    return OBSERVATIONAL_PART_NAMES if audit.get("protocol") == "observational" else HOLDOUT_NAMES


def metric_title(metric: str, audit: dict[str, Any]) -> str:
    """A metric's name as the report prints it ('score (tenacious)', 'NLL reduction')."""
    if metric == "score":
        scorer = (audit.get("data") or {}).get("scorer")
        return f"score ({scorer})" if scorer else "score"
    return METRIC_TITLES.get(metric, metric)


def paragraph(text: str) -> dict:
    """A paragraph of prose."""
    return {"kind": "paragraph", "text": text}


def note(text: str) -> dict:
    """A one-line note, printed in italics: what is missing, and why."""
    return {"kind": "note", "text": text}


def table(header: list[str], rows: list[list[Any]], caption: str | None = None, *, compact: bool = False) -> dict:
    """A table; `compact` ones (two-column lists of named figures) sit side by side in HTML."""
    return {"kind": "table", "header": header, "rows": [[str(cell) for cell in row] for row in rows], "caption": caption,
            "compact": compact}


def named_figures(title: str, rows: list[tuple[str, Any]], caption: str | None = None) -> dict | None:
    """A two-column table of figures named in words with their units; rows whose value is None are left out."""
    kept = [[name, value] for name, value in rows if value is not None]
    return table([title, ""], kept, caption, compact=True) if kept else None


def figure(name: str, png: bytes | None, alt: str, caption: str | None = None) -> dict | None:
    """A PNG figure (`name` becomes report_files/<name>.png); None when there was nothing to draw."""
    return None if png is None else {"kind": "figure", "name": name, "png": png, "alt": alt, "caption": caption}


def actions_block(actions: list, section_titles: dict[str, str], nothing: str = "") -> dict:
    """The 'what to do next' list: each action's title, the sentence with its number, the section to look at;
    `nothing`: the sentence shown when the list is empty (what was checked)."""
    return {"kind": "actions", "nothing": nothing, "items": [
        {"title": a.title, "because": a.because, "section": a.section,
         "section_title": section_titles.get(a.section, a.section)} for a in actions]}


def section(identifier: str, title: str, blocks: list[dict | None], appendix: list[dict | None] = ()) -> dict:
    """A section of the report; None blocks (a figure with nothing to draw) are dropped."""
    return {"id": identifier, "title": title, "blocks": [b for b in blocks if b is not None],
            "appendix": [b for b in appendix if b is not None]}


def key_values(data: Any, *, skip: tuple[str, ...] = (), depth: int = 3) -> list[list[str]]:
    """Scalar entries of a (nested) dict as [dotted key, value] rows; long lists and lists of objects are left out.

    For the appendix only, where the audit's own keys let a reader find a figure in audit.json.
    """
    rows: list[list[str]] = []

    def walk(value: Any, prefix: str, level: int) -> None:
        if isinstance(value, dict):
            if level >= depth:
                return
            for key in value:
                if key not in skip:
                    walk(value[key], f"{prefix}.{key}" if prefix else str(key), level + 1)
        elif isinstance(value, list):
            if len(value) <= 12 and all(not isinstance(v, (dict, list)) for v in value):
                rows.append([prefix, ", ".join(number(v) for v in value) or "(none)"])
        elif not (isinstance(value, str) and len(value) > 200):
            rows.append([prefix, number(value) if not isinstance(value, str) else value])

    walk(data, "", 0)
    return rows


def raw_table(data: Any, title: str, *, skip: tuple[str, ...] = ()) -> dict | None:
    """An audit.json section's figures under their own keys, for the appendix; None when `data` is no dict."""
    if not isinstance(data, dict):
        return None
    rows = key_values(data, skip=skip)
    return table([f"{title} (audit.json keys)", "value"], rows, compact=True) if rows else None


def sentences(data: Any) -> list[dict]:
    """Any 'sentence' or 'summary' strings a section carries, as paragraphs."""
    if not isinstance(data, dict):
        return []
    return [paragraph(data[key]) for key in ("sentence", "summary") if isinstance(data.get(key), str) and data[key]]


def safe_name(text: str) -> str:
    """A file-name-safe version of `text` (letters, digits, underscores)."""
    return "".join(ch if ch.isalnum() else "_" for ch in text)[:40] or "metric"
