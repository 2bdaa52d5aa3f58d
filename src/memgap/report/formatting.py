"""Numbers and text as the report and the verdict print them, and escaping for Markdown and HTML.

The one home of number formatting: the verdict's sentences and the report's tables call the same
functions, so a lift reads the same in audit.json's claim and in report.html.

HTML escaping is Jinja2's autoescape plus markupsafe for the pieces built here (highlighted
generations). Markdown has no autoescape, so every value printed into report.md passes through
`md_escape` unless it is a `MarkdownText` built from escaped pieces.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape


class MarkdownText(str):
    """Markdown that is already escaped (built from `md_escape`d pieces); printed as is."""


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
# What would start a heading, list item or rule at the beginning of a line (a marker followed by a space).
_MD_LINE_START = re.compile(r"^([ \t]*)(#{1,6}(?=\s|$)|[+\-](?=\s|$)|\d{1,9}[.)](?=\s|$)|[=\-]+[ \t]*$)", re.MULTILINE)


# C0/C1 control characters other than tab and newline: a model can generate them; files must not carry them raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """`text` with every control character but tab and newline written as a visible `\\xNN` escape."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def md_escape(value: Any) -> str:
    """Text that Markdown shows literally: HTML special characters as entities, Markdown syntax backslashed,
    control characters as `\\xNN`."""
    if isinstance(value, MarkdownText):
        return value
    text = escape_controls(str(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_marker, text)


def _escape_marker(match: re.Match) -> str:
    lead, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1. " -> "1\. ": only punctuation may be backslash-escaped
        return lead + marker[:-1] + "\\" + marker[-1]
    return lead + "\\" + marker


def md_cell(value: Any) -> MarkdownText:
    """A value for a Markdown table cell: escaped, on one line."""
    return MarkdownText(" ".join(md_escape(value).splitlines()) or " ")


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def number(x: Any, digits: int = 3) -> str:
    """A plain number: integers with separators, floats to `digits` significant digits; '—' for none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x == 0:
            return "0"
        if not math.isfinite(x):
            return str(x)
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}g}" if abs(x) < 1e-3 else f"{x:.{max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)}f}"
    return str(x)


def signed(x: Any) -> str:
    """A lift or difference with its sign."""
    if not is_number(x):
        return "—"
    x = float(x)
    if abs(x) < 0.0005:  # rounds to zero: no sign, so that -1e-9 never reads as a negative bound
        return "0.000"
    return f"{x:+.2f}" if abs(x) >= 0.095 else f"{x:+.3f}"


def has_interval(s: Any) -> bool:
    """An estimate dict with both confidence bounds recorded."""
    return isinstance(s, dict) and is_number(s.get("ci_low")) and is_number(s.get("ci_high"))


def interval(s: dict | None) -> str:
    """'-0.12 to +0.30'; 'undefined' for an estimate whose interval does not exist (see `undefined_reason`)."""
    if not has_interval(s):
        return "undefined" if isinstance(s, dict) and is_number(s.get("delta")) else "—"
    return f"{signed(s['ci_low'])} to {signed(s['ci_high'])}"


def undefined_reason(s: Any) -> str | None:
    """Why an estimate's interval or p-value is undefined, in words (None when both are defined).

    The statistics record the reason in the estimate's `note`; an older audit without one gets a
    generic sentence, so that no undefined figure is ever printed without a why.
    """
    if not isinstance(s, dict) or not is_number(s.get("delta")):
        return None
    if has_interval(s) and is_number(s.get("p_value")):
        return None
    if s.get("note"):
        return str(s["note"])
    families = s.get("n_families")
    return (f"too few families ({families}) for this interval" if isinstance(families, int)
            else "too few families for this interval")


def is_pooled(s: Any) -> bool:
    """Whether an estimate was pooled over several seeds (`memgap run --seeds`) rather than one run's."""
    return isinstance(s, dict) and str(s.get("method", "")).startswith("pooled over ")


def estimate_line(s: dict, *, alpha: float = 0.05) -> str:
    """One estimate on one line for a console or a caption: lift, interval, p-value, sizes, and why a figure is missing.

    '+0.120  95 % CI undefined, p-value undefined  n=12 items / 4 families  (with 5 or fewer families no ...)'
    """
    level = f"{(1 - alpha) * 100:g} %"
    shown_p = estimate_p_value(s)
    text = f"{signed(s.get('delta')):>7s}  {level} CI {interval(s)}, " + (
        "p-value undefined" if shown_p == "undefined" else f"p={shown_p}")
    if s.get("n") is not None:
        text += f"  n={s['n']} items"
        if s.get("n_families") is not None:
            text += f" / {s['n_families']} famil{'y' if s['n_families'] == 1 else 'ies'}"
    if is_pooled(s):
        text += "  [pooled over seeds]"
    reason = undefined_reason(s)
    return text + (f"  ({reason})" if reason else "")


def figure_notes(audit: dict) -> list[str]:
    """Sentences a table of lifts needs beneath it: pooled figures, and why any figure is undefined (each once)."""
    estimates = [s for lifts in (audit.get("lifts") or {}).values() if isinstance(lifts, dict)
                 for s in (lifts.get("seen"), lifts.get("unseen"))]
    estimates += list((audit.get("gap") or {}).values())
    notes: list[str] = []
    pooled = [s for s in estimates if is_pooled(s)]
    if pooled:
        seeds = audit.get("seeds") or []
        notes.append(f"Lifts and gap are pooled over {len(seeds) or 'several'} seeds (memgap run --seeds): "
                     "the mean of the seeds' figures with a conservative interval.")
    for s in estimates:
        reason = undefined_reason(s)
        if reason:
            sentence = f"Undefined interval or p-value: {reason}."
            if sentence not in notes:
                notes.append(sentence)
    return notes


def estimate_p_value(s: Any) -> str:
    """An estimate's p-value as shown: 'undefined' where the estimate exists but its p-value does not
    (too few families for the test to reject anything; `undefined_reason` says why), '—' where no
    estimate was recorded."""
    if isinstance(s, dict) and is_number(s.get("delta")) and not is_number(s.get("p_value")):
        return "undefined"
    return p_value(s.get("p_value") if isinstance(s, dict) else None)


def p_value(p: Any) -> str:
    """A p-value to two decimals (two significant digits below 0.01), never printed below its value when it is
    an exact small fraction: a sign-flip test's attainable minimum 2/2^4 = 0.125 prints as 0.125, not 0.12."""
    if not is_number(p):
        return "—"
    if p < 0.0001:
        return "< 0.0001"
    text = f"{p:.2g}" if p < 0.01 else f"{p:.2f}"
    # An exact sign-flip p is k / 2^F (0.125, 0.0625, 0.03125), and 2 / 2^F is the smallest attainable: never print
    # it rounded below itself. Three significant digits, rounded up where they are not exact (0.03125 -> 0.0313).
    if float(text) < p and (p * 2 ** 20).is_integer():
        scale = 10 ** (2 - math.floor(math.log10(p)))
        return f"{math.ceil(round(p * scale, 6)) / scale:.3g}"
    return text


def points_interval(s: Any) -> str:
    """A rate difference's interval in percentage points, with its p-value; 'undefined (why)' where the
    difference exists but its interval does not, '—' where none was recorded."""
    if not has_interval(s):
        reason = undefined_reason(s)
        return f"undefined ({reason})" if reason else "—"
    low, high = (round(100 * s[key], 1) + 0.0 for key in ("ci_low", "ci_high"))  # + 0.0: no "-0.0"
    return f"{low:+.1f} to {high:+.1f} pts (p {estimate_p_value(s)})"


def p_text(p: float) -> str:
    """A p-value in a sentence: 'p = 0.03', 'p < 0.0001'."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def plain(x: float) -> str:
    """A setting as written ('0.05', '0.5'): the shortest form that round-trips."""
    return f"{x:g}"


def percent_number(x: float) -> str:
    """A number already in percent, whole when it is nearly whole ('95'), else to a tenth ('97.5')."""
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def points(rate: float) -> str:
    """A difference of two rates (fractions) in percentage points, in words: '27 percentage points'."""
    return f"{rate * 100:.0f} percentage points" if abs(rate) >= 0.01 else f"{rate * 100:.1f} percentage points"


def signed_points(rate: float) -> str:
    """`points` with its sign: '+27 percentage points'."""
    return ("+" if rate >= 0 else "-") + points(abs(rate))


def percent(rate: Any) -> str:
    return f"{100 * rate:.1f} %" if is_number(rate) else "—"


def copied_pieces(text: str, spans: Sequence[Any]) -> list[tuple[str, bool]]:
    """Split `text` into (piece, copied) runs from [start, end) character spans; bad spans are dropped, overlaps merged.

    A span is `[start, end]` or the probe's `{"start": ..., "end": ...}` record.
    """
    cleaned = []
    for span in spans or ():
        if isinstance(span, dict):
            span = [span.get("start"), span.get("end")]
        if isinstance(span, (list, tuple)) and len(span) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in span):
            start, end = max(0, span[0]), min(len(text), span[1])
            if start < end:
                cleaned.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(cleaned):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, position = [], 0
    for start, end in merged:
        if position < start:
            pieces.append((text[position:start], False))
        pieces.append((text[start:end], True))
        position = end
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def highlight_html(text: str, spans: Sequence[Any]) -> Markup:
    """The generation as HTML with copied spans in <mark>, every piece escaped."""
    return Markup("").join(
        Markup("<mark>{}</mark>").format(escape_controls(piece)) if copied else escape(escape_controls(piece))
        for piece, copied in copied_pieces(text, spans)
    )


def highlight_md(text: str, spans: Sequence[Any]) -> MarkdownText:
    """The generation as a Markdown block quote with copied spans in bold, every piece escaped."""
    out = []
    for piece, copied in copied_pieces(text, spans):
        if not copied:
            out.append(md_escape(piece))
            continue
        # Bold must not cross a line break or start/end with a space, or Markdown ignores it.
        lines = []
        for line in escape_controls(piece).split("\n"):
            core = line.strip()
            lead, trail = line[: len(line) - len(line.lstrip())], line[len(line.rstrip()):]
            lines.append(f"{lead}**{md_escape(core)}**{trail}" if core else line)
        out.append("\n".join(lines))
    body = "".join(out) or " "
    return MarkdownText("\n".join("> " + line for line in body.split("\n")))


def seconds(x: Any) -> str | None:
    """A duration in seconds, to a tenth below a minute and whole seconds above; None where not recorded."""
    if not is_number(x):
        return None
    return f"{x:,.1f}" if x < 60 else f"{x:,.0f}"
