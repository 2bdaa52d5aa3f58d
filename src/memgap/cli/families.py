"""`memgap families`, `memgap leakage` and `memgap split`: look at a data set's families, audit a
train/eval pair for leakage, and write family-aware splits."""
from __future__ import annotations

import argparse
import json

from memgap.data.io import read_records, records_to_rows, write_jsonl
from memgap.errors import MemgapError
from memgap.families import assign_families, concentration_report
from memgap.families.concentration import family_agreement
from memgap.leakage import leakage_audit
from memgap.atomic import sha256_file
from memgap.splits import grouped_split, nested_split, random_split, write_split


def add_parser(subparsers) -> None:
    families = subparsers.add_parser("families", help="report how concentrated a data set is in its families")
    families.add_argument("data", help="JSONL, JSON, CSV or Parquet file")
    _add_family_flags(families)
    families.add_argument("--out", help="write the rows with their family to this JSONL file")
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
    split.add_argument("data", help="JSONL, JSON, CSV or Parquet file")
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
    texts = [record.full_text for record in records]
    declared = [record.family for record in records]
    declared_rows = sum(family is not None for family in declared)
    if args.out and args.infer and declared_rows and not args.overwrite_field and any(
            args.write_field in record.row for record in records):
        raise MemgapError(f"the rows already hold a '{args.write_field}' field ({declared_rows} declared families "
                          f"in '{args.family_field}'); --write-field NAME writes the inferred families to another "
                          "field, or --overwrite-field replaces it", where=args.data)
    if args.infer:
        labelled, source = assign_families(records, infer=True)
        inferred = [record.family for record in labelled]
        # The top-level figures are always those of `family_source`; declared ones sit under "declared".
        report = concentration_report(inferred, texts)
        if declared_rows == len(records):
            report["declared"] = concentration_report(declared)
            report["agreement"] = family_agreement(declared, inferred)
        elif declared_rows:
            report["declared_rows"] = declared_rows  # partly declared: no agreement on a part
    else:
        labelled, source = assign_families(records, infer=False, family_field=args.family_field)
        report = concentration_report(declared, texts)
    report["family_source"] = source
    if args.out:
        write_jsonl(args.out, records_to_rows(labelled, family_field=args.write_field))
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(_families_text(report, args.out, args.family_field))
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
    records = read_records(args.data, family_field=args.family_field)
    if args.strategy != "random" or args.infer:
        records, _ = assign_families(records, infer=args.infer, family_field=args.family_field, seed=args.seed)
    if args.strategy == "random":
        split = random_split(records, holdout=args.holdout, seed=args.seed)
    elif args.strategy == "grouped":
        split = grouped_split(records, holdout=args.holdout, seed=args.seed, stratify=args.stratify)
    else:
        if args.stratify:
            raise MemgapError("--stratify applies to --strategy grouped only")
        split = nested_split(records, unseen_fraction=args.holdout, seen_per_family=args.seen_per_family, seed=args.seed)
    manifest = write_split(split, args.out, input_sha256=sha256_file(args.data), family_field=args.family_field)
    for name, entry in manifest["files"].items():
        print(f"{name}: {entry['rows']} rows, {entry['families']} families")
    print(f"wrote {args.out}")
    return 0


__all__ = ["add_parser"]
