"""`memgap score`: score each row of a data file, or a run's generations, with a scorer and print the means."""
from __future__ import annotations

import json
from pathlib import Path

from memgap.data.io import read_records, write_jsonl
from memgap.errors import MemgapError
from memgap.evaluation.score_file import run_records, score_file, score_predictions, summarize_scores


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score the completions of a data file, or a run's generations, with a scorer",
        description="Score each row of --data; or score generated texts (--predictions FILE, or a run folder's "
                    "predictions.jsonl with --run DIR) against the records with the same id.",
    )
    parser.add_argument("--scorer", help="a registered scorer name or module:function "
                                         "(default: the run's scorer with --run, else tenacious)")
    parser.add_argument("--data", help="data file (JSONL, JSON, CSV or Parquet); with --predictions or --run, the "
                                       "records the generations answer")
    parser.add_argument("--run", metavar="DIR", help="a memgap run folder: score its predictions.jsonl against its split")
    parser.add_argument("--predictions", metavar="FILE", help="JSONL of generated texts with an 'id' per row "
                                                              "(default with --run: DIR/predictions.jsonl)")
    parser.add_argument("--out", help="write one JSON line per row (id, family, score, checks) here")
    parser.add_argument("--field", help="the text field to score (default: 'generation' for predictions; for --data "
                                        "alone: output, completion, or the last assistant message)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    scorer = args.scorer or _run_scorer(args.run) or "tenacious"
    predictions = args.predictions or (str(Path(args.run) / "predictions.jsonl") if args.run else None)
    if predictions:
        records = run_records(args.run) if args.data is None and args.run else None
        if records is None:
            if args.data is None:
                raise MemgapError("--predictions needs the records it answers: --data FILE or --run DIR")
            records = read_records(args.data)
        results = score_predictions(predictions, records, scorer, field=args.field or "generation")
    elif args.data:
        results = score_file(args.data, scorer, completion_field=args.field)
    else:
        raise MemgapError("give --data FILE to score, or --run DIR (or --predictions FILE) to score generations")
    if args.out:
        write_jsonl(args.out, results)
    summary = {"scorer": scorer, **summarize_scores(results)}
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    print(f"scored {summary['rows']} rows with '{scorer}': mean score {summary['mean_score']:.3f}")
    for label, mean in (summary.get("by_model") or {}).items():
        print(f"  {label:<16}  {mean:.3f}")
    if summary["checks"]:
        width = max(len(name) for name in summary["checks"])
        for name, value in summary["checks"].items():
            print(f"  {name:<{width}}  {value:.3f}")
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _run_scorer(run_dir: str | None) -> str | None:
    """The scorer a run's audit used (so re-scoring its predictions measures the same thing)."""
    audit = Path(run_dir) / "audit.json" if run_dir else None
    if audit is None or not audit.exists():
        return None
    return (json.loads(audit.read_text(encoding="utf-8")).get("data") or {}).get("scorer")
