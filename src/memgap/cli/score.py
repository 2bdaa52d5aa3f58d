"""`memgap score`: score each row of a data file with a scorer and print the means."""
from __future__ import annotations

import json

from memgap.data.io import write_jsonl
from memgap.evaluation.score_file import score_file, summarize_scores


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("score", help="score the completions of a data file with a scorer")
    parser.add_argument("--scorer", default="tenacious", help="a registered scorer name or module:function (default: tenacious)")
    parser.add_argument("--data", required=True, help="data file (JSONL, JSON, CSV or Parquet)")
    parser.add_argument("--out", help="write one JSON line per row (id, family, score, checks) here")
    parser.add_argument("--field", help="score this text field instead of output/completion/the last assistant message")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    results = score_file(args.data, args.scorer, completion_field=args.field)
    if args.out:
        write_jsonl(args.out, results)
    summary = {"scorer": args.scorer, **summarize_scores(results)}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    print(f"scored {summary['rows']} rows with '{args.scorer}': mean score {summary['mean_score']:.3f}")
    if summary["checks"]:
        width = max(len(name) for name in summary["checks"])
        for name, value in summary["checks"].items():
            print(f"  {name:<{width}}  {value:.3f}")
    if args.out:
        print(f"wrote {args.out}")
    return 0
