"""The `memgap` command line: each verb parses its flags, calls one public function, prints.

Verbs live one module each in this package; this file only assembles them and turns user errors
into one line and exit status 2 (`--debug` shows the traceback instead).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from memgap.errors import user_errors

# Each module defines `add_parser(subparsers)`, which registers its verb(s) with `func` set.
VERB_MODULES = ("run", "audit", "train", "dataset", "score", "families", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memgap",
        description="Audit whether a LoRA adapter learned a behaviour or memorized its augmentation families.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    parser.add_argument("--version", action="version", version=f"memgap {_version()}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f"memgap.cli.{name}").add_parser(subparsers)
    return parser


def _version() -> str:
    from memgap import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # --debug works anywhere on the line (`memgap run ... --debug`), not only before the verb.
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    _configure_logging(debug)
    parser = build_parser()
    with user_errors(debug=debug):
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        status = args.func(args)
    return int(status or 0)


class _CliFormatter(logging.Formatter):
    """`memgap: message` for progress, `memgap: warning: message` for warnings (tracebacks only with --debug)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "memgap: " if record.levelno <= logging.INFO else f"memgap: {record.levelname.lower()}: "
        return prefix + record.getMessage()


class _CliHandler(logging.StreamHandler):
    """The CLI's own stderr handler, told apart so that repeated `main()` calls do not stack them."""


def _configure_logging(debug: bool) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(handler)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s") if debug else _CliFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
