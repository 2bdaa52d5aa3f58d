"""`memgap score`: score each row of a data file, or a run's generations, with a scorer and print the means."""
from __future__ import annotations

import json
from memgap.data.io import write_jsonl
from memgap.evaluation.score_file import score_texts


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score the completions of a data file, or a run's generations, with a scorer",
        description="Score each row of --data; or score generated texts (--predictions FILE, or a run folder's "
                    "predictions.jsonl with --run DIR) against the records with the same id.",
    )
    parser.add_argument("--scorer", help="a registered scorer name or module:function (default: the --config's "
                                         "evaluation.scorer, else the run's scorer with --run, else tenacious)")
    parser.add_argument("--config", help="audit.yaml whose evaluation.scorer to use (unless --scorer is given)")
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
    scorer, results, summary = score_texts(scorer=args.scorer or configured_scorer(args.config), data=args.data, run=args.run,
                                           predictions=args.predictions, field=args.field)
    if args.out:
        write_jsonl(args.out, results)
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


def configured_scorer(config_path: str | None) -> str | None:
    """The config's `evaluation.scorer`; None without a config or for `auto` (which `memgap run` resolves
    from the data it trains on), so the run's own scorer or tenacious applies as without a config."""
    if config_path is None:
        return None
    from memgap.config import load_config

    scorer = load_config(config_path).evaluation.scorer
    return None if scorer == "auto" else scorer
