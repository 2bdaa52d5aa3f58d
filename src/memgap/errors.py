"""The user-facing error type: one line that says what is wrong and where, exit status 2.

Bugs still raise ordinary exceptions; only mistakes a user can fix become `MemgapError`.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class MemgapError(Exception):
    """A mistake in the user's input or settings, reported as one line without a traceback."""

    exit_status = 2

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when the message is empty)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def where_in_file(path: object, line: int | None = None, field: str | None = None) -> str:
    """Format a location as `file:line: field 'x'` for error messages."""
    text = str(path)
    if line is not None:
        text += f":{line}"
    if field is not None:
        text += f": field '{field}'"
    return text


@contextlib.contextmanager
def user_errors(debug: bool = False) -> Iterator[None]:
    """Turn `MemgapError` into `memgap: error: ...` on stderr and exit 2; `debug` keeps the traceback."""
    try:
        yield
    except MemgapError as error:
        if debug:
            raise
        print(f"memgap: error: {error}", file=sys.stderr)
        raise SystemExit(error.exit_status) from None
