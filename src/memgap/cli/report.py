"""`memgap report DIR` and `memgap compare DIR1 DIR2`: render saved audits, recomputing nothing."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    report = subparsers.add_parser(
        "report", help="re-render report.md and report.html of a run folder from its saved artefacts",
        description="Re-render DIR/report.md (images in DIR/report_files/) and the self-contained DIR/report.html "
                    "from DIR/audit.json and the other saved artefacts, without recomputing anything.",
    )
    report.add_argument("run_dir", metavar="DIR", help="a memgap run folder (holds audit.json)")
    report.set_defaults(func=run_report)

    compare = subparsers.add_parser(
        "compare", help="set two audits side by side (e.g. before and after de-augmenting the data)",
        description="Write compare.html and compare.md showing the lifts, gap, verdict, family concentration, "
                    "training pressure and probes of two run folders side by side.",
    )
    compare.add_argument("first", metavar="DIR1", help="the first run folder (e.g. before)")
    compare.add_argument("second", metavar="DIR2", help="the second run folder (e.g. after)")
    compare.add_argument("--out", metavar="OUT", default="memgap-compare", help="output folder (default: %(default)s)")
    compare.set_defaults(func=run_compare)


def run_report(args: argparse.Namespace) -> int:
    from memgap.report import render_report

    paths = render_report(args.run_dir)
    print(f"wrote {paths['html']}")
    print(f"wrote {paths['md']}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from memgap.report import compare_runs

    paths = compare_runs(args.first, args.second, args.out)
    print(f"wrote {paths['html']}")
    print(f"wrote {paths['md']}")
    return 0
