"""The `memgap` command line: each verb parses its flags, calls one public function, prints.

Verbs live one module each in this package; this file only assembles them and turns user errors
into one line and exit status 2 (`--debug` shows the traceback instead).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
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
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress details and the libraries' warnings")
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
    # --debug and -v work anywhere on the line (`memgap run ... --debug`), not only before the verb.
    debug = "--debug" in argv
    verbose = debug or any(arg in VERBOSE_FLAGS for arg in argv)
    argv = [arg for arg in argv if arg != "--debug" and arg not in VERBOSE_FLAGS]
    _configure_logging(debug, verbose=verbose)
    parser = build_parser()
    try:
        with user_errors(debug=debug):
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 2
            status = args.func(args)
        sys.stdout.flush()  # a closed pipe surfaces here, inside the handler, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return 1
    return int(status or 0)


VERBOSE_FLAGS = ("-v", "--verbose")


def _silence_stdout() -> None:
    """`memgap ... | head`: the reader has gone; stop quietly, as `cat` does, with no traceback at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in a test)
        pass


class _CliFormatter(logging.Formatter):
    """`memgap: message` for progress, `memgap: warning: message` for warnings (tracebacks only with --debug)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "memgap: " if record.levelno <= logging.INFO else f"memgap: {record.levelname.lower()}: "
        return prefix + record.getMessage()


class _CliHandler(logging.StreamHandler):
    """The CLI's own stderr handler, told apart so that repeated `main()` calls do not stack them."""


def _configure_logging(debug: bool, *, verbose: bool = False) -> None:
    """memgap's own messages on stderr; the libraries' warnings and log lines only with -v or --debug.

    transformers and datasets read their verbosity from the environment when first imported, so
    setting it here keeps the light verbs from importing them; a value the user set is kept.
    Python warnings go through logging (`py.warnings`), shown only with -v or --debug.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(handler)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s") if debug else _CliFormatter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.captureWarnings(True)
    library_level = logging.WARNING if verbose else logging.ERROR
    logging.getLogger("py.warnings").setLevel(library_level)
    logging.getLogger("memgap").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    for variable in ("TRANSFORMERS_VERBOSITY", "DATASETS_VERBOSITY"):
        os.environ.setdefault(variable, "warning" if verbose else "error")
    for name in ("transformers", "datasets", "peft", "accelerate", "huggingface_hub"):
        logging.getLogger(name).setLevel(library_level)
