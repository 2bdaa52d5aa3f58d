"""`memgap families`, `memgap leakage` and `memgap split`: look at a data set's families, audit a
train/eval pair for leakage, and write family-aware splits."""
from __future__ import annotations

import argparse
import json

from memgap.data.io import read_records, records_to_rows, write_rows
from memgap.families.report import check_write_field, families_report
from memgap.leakage import leakage_audit
from memgap.splits import split_data_file

DATA_HELP = ("JSON Lines, JSON, CSV or Parquet file, optionally .gz, .bz2, .xz or .zst; rows in TRL's format, "
             "ShareGPT or Alpaca")


def add_parser(subparsers) -> None:
    families = subparsers.add_parser("families", help="report how concentrated a data set is in its families")
    families.add_argument("data", help=DATA_HELP)
    _add_family_flags(families)
    families.add_argument("--out", help="write the rows with their family, in TRL's format, to this file "
                          "(.jsonl, .json, .csv or .parquet, optionally .gz, .bz2 or .xz)")
    families.add_argument("--write-field", default="family", help="field --out stores the family in (default: family)")
    families.add_argument("--overwrite-field", action="store_true",
                          help="with --infer and --out: replace a field the rows already hold (refused otherwise)")
    families.add_argument("--json", action="store_true", help="print the report as JSON")
    families.set_defaults(func=run_families)

    leakage = subparsers.add_parser("leakage", help="audit a train/eval pair for leaked families and near-duplicates")
    leakage.add_argument("--train", required=True, help="training data file")
    leakage.add_argument("--eval", required=True, dest="evaluation", help="evaluation data file")
    _add_family_flags(leakage)
    leakage.add_argument("--json", action="store_true", help="print the report as JSON")
    leakage.add_argument(
        "--fail-above", type=float, metavar="X",
        help="exit 1 when the share of eval rows with a train sibling (similarity share with --infer) exceeds X",
    )
    leakage.set_defaults(func=run_leakage)

    split = subparsers.add_parser("split", help="write a random, grouped or nested train/hold-out split")
    split.add_argument("data", help=DATA_HELP)
    split.add_argument("--strategy", choices=("random", "grouped", "nested"), default="nested")
    split.add_argument("--holdout", type=float, default=0.3, help="hold-out share (nested: share of families held out whole)")
    split.add_argument("--seen-per-family", type=int, default=1, help="nested: members held out of each training family")
    split.add_argument("--stratify", metavar="FIELD", help="grouped: keep the class balance of this row field")
    _add_family_flags(split)
    split.add_argument("--seed", type=int, default=0)
    split.add_argument("--out", required=True, help="folder for the split files and manifest.json")
    split.set_defaults(func=run_split)


def _add_family_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--family-field", default="family", help="field holding declared families (default: family)")
    group.add_argument("--infer", action="store_true", help="infer near-duplicate families instead")


def run_families(args: argparse.Namespace) -> int:
    records = read_records(args.data, family_field=args.family_field)
    if args.out and args.infer:
        check_write_field(records, write_field=args.write_field, family_field=args.family_field,
                          overwrite=args.overwrite_field, where=args.data)
    result = families_report(records, infer=args.infer, family_field=args.family_field)
    if args.out:
        write_rows(args.out, records_to_rows(result.records, family_field=args.write_field))
    if args.json:
        print(json.dumps(result.report, indent=2, sort_keys=True))
    else:
        print(_families_text(result.report, args.out, args.family_field))
    return 0


def _concentration_lines(report: dict, label: str) -> list[str]:
    size, effective = report["size"], report["effective_families"]
    prefix = f"{label}: " if label else ""
    return [
        f"{prefix}family size: min {size['min']}, median {size['median']:g}, max {size['max']}; singletons {report['singletons']}",
        f"{prefix}largest 10% of families hold {report['largest_10pct_share']:.0%} of rows",
        f"{prefix}effective number of families: {effective['entropy']:.1f} (entropy), "
        f"{effective['inverse_simpson']:.1f} (inverse Simpson)",
    ]


def _families_text(report: dict, out: str | None, family_field: str = "family") -> str:
    source = report["family_source"]
    declared = report.get("declared")
    if declared:
        lines = [f"{report['rows']} rows in {report['families']} inferred families; "
                 f"the declared field '{family_field}' holds {declared['families']}"]
        lines += _concentration_lines(report, "inferred") + _concentration_lines(declared, "declared")
    else:
        lines = [f"{report['rows']} rows in {report['families']} families ({source})"]
        if report.get("declared_rows"):
            lines[0] += f"; {report['declared_rows']} rows also declare one in '{family_field}'"
        lines += _concentration_lines(report, "")
    similarity = report.get("similarity") or {}
    if similarity.get("within_family") and similarity.get("between_family"):
        lines.append(
            f"similarity ({source} families): siblings {similarity['within_family']['mean']:.2f}, "
            f"strangers {similarity['between_family']['mean']:.2f} (mean shingle cosine)"
        )
    if "agreement" in report:
        agreement = report["agreement"]
        lines.append(
            f"declared vs inferred: ARI {agreement['adjusted_rand_index']:.3f}; inference splits "
            f"{agreement['declared_split']} and merges {agreement['declared_merged']} declared families"
        )
    if out:
        lines.append(f"wrote {out}")
    return "\n".join(lines)


def run_leakage(args: argparse.Namespace) -> int:
    train = read_records(args.train, family_field=args.family_field)
    evaluation = read_records(args.evaluation, family_field=args.family_field)
    report = leakage_audit(train, evaluation, infer=args.infer)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(_leakage_text(report))
    gate = report["gate"]
    if args.fail_above is not None and gate["value"] > args.fail_above:
        print(f"leakage: {gate['metric']} {gate['value']:.3f} is above {args.fail_above:g}")
        return 1
    return 0


def _leakage_text(report: dict) -> str:
    def both(key: str) -> str:
        return f"completion {report['completion_view'][key]:.1%}, whole row {report['whole_row_view'][key]:.1%}"

    missing = [
        f"{side} rows without a family (no declared sibling): {figures['count']} "
        f"({', '.join(figures['ids'][:10])}{', ...' if figures['count'] > 10 else ''})"
        for side, figures in report["missing_family"].items() if figures["count"]
    ]
    return "\n".join([
        f"{report['eval_rows']} eval rows against {report['train_rows']} train rows ({report['family_source']} families)",
        f"with a train sibling: {report['eval_rows_with_train_sibling']:.1%}",
        *missing,
        f"nearest train row above similarity {report['similarity_threshold']:g}: {both('eval_rows_above_similarity')}",
        f"sharing a 13-gram with train: {both('eval_rows_with_13gram_overlap')}",
        f"(completion: eval reference completion vs train completions; whole row: prompt and completion; "
        f"text in more than {report['boilerplate_share']:.0%} of train rows is boilerplate and left out of both)",
    ])


def run_split(args: argparse.Namespace) -> int:
    manifest = split_data_file(args.data, args.out, strategy=args.strategy, holdout=args.holdout,
                               seen_per_family=args.seen_per_family, stratify=args.stratify, infer=args.infer,
                               family_field=args.family_field, seed=args.seed)
    for name, entry in manifest["files"].items():
        print(f"{name}: {entry['rows']} rows, {entry['families']} families")
    print(f"wrote {args.out}")
    return 0


__all__ = ["add_parser"]
