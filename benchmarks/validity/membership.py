"""Validity of the membership scores on planted truth: training rows against their held-out siblings.

Reads the runs `benchmarks/validity/run.py` left in runs/validity (one per data set and seed), loads
each run's adapter on the embedded model, and scores with base and adapter every training row (the
members) and every row of a training family that was not trained on (the held-out siblings: the
seen-family hold-out and the rows the training cap left out). Per score: AUC per seed and, pooled
over the seeds (families kept apart per seed), TPR at 1 % FPR with a family-bootstrap interval;
0.1 % is reported as undefined unless there are 1000 siblings. Expected: on `memorizable` the
reference-calibrated EZ-MIA score finds more members at 1 % FPR than the best of today's scores
(loss, Min-K%, Min-K%++, raw or minus the base's); on `learnable` every score stays near chance.
Writes benchmarks/results/validity_membership.md (fp32 runs; `--precision bf16` for the bf16 ones).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/validity/membership.py   # about 1 minute a run, 6 runs
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

from memgap.atomic import write_text_atomic  # noqa: E402
from memgap.data.io import read_records  # noqa: E402
from memgap.probes.membership import REFERENCE_SCORE, SCORE_NAMES, low_fpr_summary, membership_rows, membership_score  # noqa: E402

TODAY = [*SCORE_NAMES, *(f"{name}_calibrated" for name in SCORE_NAMES)]  # the scores memgap reported before EZ-MIA


def members_and_siblings(run_dir: Path, data_path: Path):
    """(training rows, rows of training families never trained on) of one run, from its split/ and the data file."""
    train = read_records(run_dir / "split" / "train.jsonl", family_field="family")
    trained_ids = {record.id for record in train}
    families = {record.family for record in train}
    siblings = [record for record in read_records(data_path, family_field="family")
                if record.family in families and record.id not in trained_ids]
    return train, siblings


def score_rows(model, tokenizer, members, siblings, *, max_length: int) -> list[dict]:
    """membership.jsonl-style rows (holdout `train` for members, `seen` for siblings) under base and adapter."""
    from memgap.evaluation.evaluate import merged_lora
    from memgap.evaluation.nll import completion_token_stats

    records = [*members, *siblings]
    stats = {}
    for label in ("base", "adapter"):
        with (model.disable_adapter() if label == "base" else merged_lora(model)):
            stats[label] = dict(zip((r.id for r in records),
                                    completion_token_stats(model, tokenizer, records, max_length=max_length, batch_size=8)))
    return membership_rows(members, {"seen": siblings}, stats)


def series(rows: list[dict], tag: str) -> dict[str, tuple[tuple[list, list], tuple[list, list]]]:
    """Score label -> ((member scores, families), (sibling scores, families)); families tagged with `tag` (the seed)."""
    by_item: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        by_item.setdefault((row["holdout"], row["id"]), {})[row["model"]] = row
    out = {}
    for label in [*TODAY, REFERENCE_SCORE]:
        name, calibrated = label.removesuffix("_calibrated"), label.endswith("_calibrated")
        parts = {"train": ([], []), "seen": ([], [])}
        for (holdout, _), models in sorted(by_item.items()):
            if "adapter" not in models or "base" not in models:
                continue
            value = membership_score(models["adapter"], name)
            if calibrated:
                value -= membership_score(models["base"], name)
            if math.isfinite(value):
                parts[holdout][0].append(value)
                parts[holdout][1].append(f"{tag}:{models['adapter']['family']}")
        out[label] = (parts["train"], parts["seen"])
    return out


def pool(per_seed: list[dict]) -> dict:
    pooled = {}
    for label in per_seed[0]:
        (m, mf), (n, nf) = ([], []), ([], [])
        for entry in per_seed:
            (ms, mfs), (ns, nfs) = entry[label]
            m += ms; mf += mfs; n += ns; nf += nfs  # noqa: E702
        pooled[label] = ((m, mf), (n, nf))
    return pooled


def kind_lines(kind: str, per_seed: list[dict], seeds: list[int]) -> tuple[list[str], dict]:
    """Table rows for one data set: per score, AUC per seed and pooled TPR at 1 % / 0.1 % FPR."""
    summaries = [low_fpr_summary(entry, n_resamples=1000, seed=0) for entry in per_seed]
    pooled = low_fpr_summary(pool(per_seed), n_resamples=1000, seed=0)
    lines = []
    for label in [*TODAY, REFERENCE_SCORE]:
        entry = pooled["by_score"].get(label)
        if entry is None:
            continue
        aucs = ", ".join(f"{s['by_score'][label]['auc']:.2f}" if label in s["by_score"] else "—" for s in summaries)
        one, tenth = entry["tpr_at_1pct_fpr"], entry["tpr_at_0_1pct_fpr"]
        one_text = "undefined" if one["value"] is None else (
            f"{100 * one['value']:.1f} %" + (f" [{100 * one['ci_low']:.1f}, {100 * one['ci_high']:.1f}]" if one["ci_low"] is not None else ""))
        tenth_text = "undefined" if tenth["value"] is None else f"{100 * tenth['value']:.1f} %"
        lines.append(f"| {kind} | {label} | {aucs} | {entry['auc']:.2f} | {one_text} | {tenth_text} | "
                     f"{100 * entry['tpr_at_zero_fpr']:.1f} % |")
    today = {label: pooled["by_score"][label]["tpr_at_1pct_fpr"]["value"] for label in TODAY if label in pooled["by_score"]}
    facts = {"n_members": sum(len(e[REFERENCE_SCORE][0][0]) for e in per_seed),
             "n_siblings": pooled["n_nonmembers"], "ez_auc": pooled["by_score"].get(REFERENCE_SCORE, {}).get("auc"),
             "ez_tpr_1pct": pooled["by_score"].get(REFERENCE_SCORE, {}).get("tpr_at_1pct_fpr", {}).get("value"),
             "best_today": max(today, key=lambda k: today[k] or 0.0) if today else None}
    facts["best_today_tpr_1pct"] = today.get(facts["best_today"]) if facts["best_today"] else None
    return lines, facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/validity", help="the folder run.py wrote its runs and data to")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--results", default=str(HERE.parent / "results" / "validity_membership.md"))
    args = parser.parse_args()
    from memgap.adapters import load_adapter, read_adapter_folder
    from memgap.config import load_config
    from memgap.models import load_configured_model

    runs, seeds = Path(args.runs), [int(s) for s in args.seeds.split(",")]
    config = load_config(overrides={"model.max_length": 128})
    lines = ["| data set | score | AUC per seed | AUC pooled | TPR at 1 % FPR pooled [95 % CI] | TPR at 0.1 % FPR | TPR at 0 FPR |",
             "|---|---|---|---:|---|---|---:|"]
    verdicts = {}
    for kind in ("learnable", "memorizable"):
        per_seed = []
        for seed in seeds:
            run_dir = runs / f"{kind}-{args.precision}-seed{seed}"
            if not (run_dir / "training" / "adapter").exists():
                print(f"missing {run_dir}: run benchmarks/validity/run.py first", file=sys.stderr)
                return 2
            loaded = load_configured_model(config.model)  # a fresh base per run: the adapter wraps it
            model = load_adapter(loaded.model, read_adapter_folder(run_dir / "training" / "adapter"))
            members, siblings = members_and_siblings(run_dir, runs / f"{kind}.jsonl")
            per_seed.append(series(score_rows(model, loaded.tokenizer, members, siblings, max_length=128), f"seed{seed}"))
            print(f"scored {kind} seed {seed}: {len(members)} training rows, {len(siblings)} siblings", flush=True)
        kind_rows, facts = kind_lines(kind, per_seed, seeds)
        lines += kind_rows
        verdicts[kind] = facts
    memorizable, learnable = verdicts["memorizable"], verdicts["learnable"]
    beats = (memorizable["ez_tpr_1pct"] is not None and memorizable["best_today_tpr_1pct"] is not None
             and memorizable["ez_tpr_1pct"] > memorizable["best_today_tpr_1pct"])
    near_chance = learnable["ez_auc"] is not None and abs(learnable["ez_auc"] - 0.5) <= 0.1
    text = (f"Membership on planted truth (`benchmarks/validity/membership.py`, {args.precision} runs of "
            f"`make validity`, seeds {args.seeds}): training rows against held-out siblings of the same families. "
            f"memorizable: {memorizable['n_members']} training rows, {memorizable['n_siblings']} siblings pooled; "
            f"EZ-MIA TPR at 1 % FPR {_pct(memorizable['ez_tpr_1pct'])} against today's best "
            f"({memorizable['best_today']}) {_pct(memorizable['best_today_tpr_1pct'])}: "
            f"{'better' if beats else 'NOT better'}. learnable: EZ-MIA AUC {_num(learnable['ez_auc'])} "
            f"({'near chance' if near_chance else 'NOT near chance'}).\n\n" + "\n".join(lines) + "\n")
    write_text_atomic(Path(args.results), text)
    print(text)
    print(json.dumps({"ez_beats_today_on_memorizable": beats, "ez_near_chance_on_learnable": near_chance}))
    return 0


def _pct(value) -> str:
    return "undefined" if value is None else f"{100 * value:.1f} %"


def _num(value) -> str:
    return "—" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
