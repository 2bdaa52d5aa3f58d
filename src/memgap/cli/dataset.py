"""`memgap dataset NAME`: write a generated data set (for now the Tenacious outreach domain)."""
from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("dataset", help="generate a data set with augmentation families")
    parser.add_argument("name", help="which data set: tenacious")
    parser.add_argument("--out", required=True, help="JSONL file to write")
    parser.add_argument("--originals", type=int, help="number of originals, one family each (default: the generator's, as in the shipped data set)")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--variants", type=int, help="rows per family, the same for every family (1: one row per original)")
    sizes.add_argument("--concentration", type=float, help="Zipf exponent of family sizes: 0 equal, larger more concentrated (default: the generator's)")
    parser.add_argument("--rows", type=int, help="total rows with --concentration (default: 7.5 per original)")
    parser.add_argument("--min-family-size", type=int, help="smallest family with --concentration (default: 2)")
    parser.add_argument("--seed", type=int, help="random seed (default: the shipped default data set's)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from memgap.datasets import write_dataset

    summary = write_dataset(args.name, args.out, originals=args.originals, variants=args.variants,
                            concentration=args.concentration, rows=args.rows, min_family_size=args.min_family_size,
                            seed=args.seed)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(
            f"wrote {summary['rows']} rows in {summary['families']} families to {args.out} "
            f"(largest family {summary['largest_family']} rows; largest 10% of families hold {summary['top_decile_share']:.0%} of rows)"
        )
    return 0
