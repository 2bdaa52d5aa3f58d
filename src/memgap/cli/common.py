"""Flags `memgap run` and `memgap audit` share: families, scorer, remote code, resuming, progress."""
from __future__ import annotations

import argparse


def add_shared_flags(parser: argparse.ArgumentParser, *, folder: str) -> None:
    """Add the shared flags; `folder` names the output folder in --fresh's help (run or audit)."""
    family = parser.add_mutually_exclusive_group()
    family.add_argument("--family-field", help="field holding each row's family (default: family)")
    family.add_argument("--infer", action="store_true", default=None, help="infer near-duplicate families instead of reading a field")
    parser.add_argument("--scorer", help="scorer name or module:function (default: auto)")
    parser.add_argument("--trust-remote-code", action="store_true", default=None, help="allow a hub model's own code to run")
    parser.add_argument("--fresh", action="store_true", help=f"delete the {folder} folder first instead of resuming it")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
