"""Family inference benchmark: memgap's inference vs datasketch MinHash-LSH + union-find.

Same planted-family data (tests/augmenter.py: synonyms, reordering, fillers, typos, shared
greetings and sign-offs) for both, in the same run. Then memgap's ARI on the planted sets of
tests/planted/, an augmenter written apart from memgap and from tests/augmenter.py, in four
scripts and domains (IT tickets, Chinese, Arabic, English with web punctuation), each with one
footer shared by all rows and same-topic families. Then the shared-slot sets, whose families own
no word or only a detail or two: every family assembled from products, faults, steps and closers
all families draw from (`shared_slots.py` here, for development; `tests/data/planted_shared_slots/`,
written apart from memgap and held out), against a plain Jaccard over word 1-2-gram sets without
the shingles of half the rows or more, with union-find. Each (method, size) runs in a fresh process so
its peak RSS is its own. Throughput is wall-clock rows per second of the whole inference; ARI is
against the planted families; the baseline is scored at its best LSH threshold.

    .venv/bin/python benchmarks/families/run.py                 # 10k and 100k rows
    .venv/bin/python benchmarks/families/run.py --million       # adds 1M rows (memgap only)
    .venv/bin/python benchmarks/families/run.py --million --million-baseline
    .venv/bin/python benchmarks/families/run.py --independent   # the planted sets only (JSON lines)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "families.md"
BASELINE_THRESHOLDS = (0.4, 0.6, 0.8, 0.9)
# (generator, its options): the defaults of tests/planted/ (360 families, seed 0), and the harder
# IT set whose identifiers are shared by all families.
INDEPENDENT_SETS = (
    ("it_support", {}), ("it_support", {"unique_ids": False}), ("chinese", {}), ("arabic", {}), ("web_english", {}),
)
# shared_slots.generate options (360 families, seed 0): every slot pool whole, or its first 60 %
# (distinct families share more); the footer on every row, or on the rows of 60 % of families.
SHARED_SLOT_SETS = (
    ("garage", {}), ("garage", {"pool_share": 0.6}), ("garage", {"pool_share": 0.6, "footer_share": 0.6}),
    ("hotel", {}), ("hotel", {"pool_share": 0.6}), ("hotel", {"pool_share": 0.6, "footer_share": 0.6}),
)
HELD_OUT_SHARED_SLOTS = ROOT / "tests" / "data" / "planted_shared_slots"
JACCARD_THRESHOLDS = (0.5, 0.6, 0.7)


def planted(rows: int, seed: int = 0):
    sys.path.insert(0, str(ROOT / "tests"))
    from augmenter import planted_texts

    texts, truth = planted_texts(int(rows / 4.5) + 10, seed=seed)
    return texts[:rows], truth[:rows]


def worker(method: str, rows: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    texts, truth = planted(rows)
    if method == "memgap":
        from memgap.families import inference, infer_families

        start, cpu_start = time.perf_counter(), time.process_time()
        labels = infer_families(texts)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        # The code before FAMILY_THRESHOLD cut at DEFAULT_THRESHOLD (the benchmark compares both).
        threshold = getattr(inference, "FAMILY_THRESHOLD", inference.DEFAULT_THRESHOLD)
        ari = adjusted_rand_score(truth, labels)
    else:
        sys.path.insert(0, str(HERE))
        from baseline import lsh_union_find, minhashes

        start, cpu_start = time.perf_counter(), time.process_time()
        signatures = minhashes(texts)
        signing_seconds, signing_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        best = None
        for candidate in BASELINE_THRESHOLDS:
            start, cpu_start = time.perf_counter(), time.process_time()
            labels = lsh_union_find(signatures, candidate)
            lsh_seconds, lsh_cpu = time.perf_counter() - start, time.process_time() - cpu_start
            score = adjusted_rand_score(truth, labels)
            if best is None or score > best[0]:
                best = (score, candidate, signing_seconds + lsh_seconds, signing_cpu + lsh_cpu)
        ari, threshold, seconds, cpu_seconds = best
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
            "cpu_seconds": cpu_seconds, "rows_per_cpu_s": rows / cpu_seconds,
            "ari": ari, "threshold": threshold, "peak_rss_mib": peak_mib}


def independent_sets() -> list[dict]:
    """memgap's ARI, clusters merging or splitting planted families, and CPU time on each
    independent planted set (prompt and completion joined as `Record.full_text` joins them)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from planted import GENERATORS

    from memgap.families import infer_families
    from memgap.families.concentration import family_agreement

    results = []
    for kind, options in INDEPENDENT_SETS:
        planted_set = GENERATORS[kind](n_families=360, seed=0, declare_family=False, **options)
        texts = [f"{row['prompt']}\n{row['completion']}" for row in planted_set.rows]
        cpu_start = time.process_time()
        labels = infer_families(texts)
        cpu_seconds = time.process_time() - cpu_start
        agreement = family_agreement(planted_set.planted, labels)
        name = kind + "".join(f" {key}={value}" for key, value in options.items())
        results.append({
            "set": name, "rows": len(texts), "families": agreement["declared_families"],
            "inferred": agreement["inferred_families"], "ari": agreement["adjusted_rand_index"],
            "merged": agreement["declared_merged"], "split": agreement["declared_split"], "cpu_seconds": cpu_seconds,
        })
    return results


def shared_slot_sets() -> list[dict]:
    """memgap's ARI, merged and split families and CPU time on the shared-slot sets, beside the plain
    Jaccard + union-find baseline at its best threshold of `JACCARD_THRESHOLDS`."""
    sys.path.insert(0, str(HERE))
    from shared_slots import generate, jaccard_union_find
    from sklearn.metrics import adjusted_rand_score

    from memgap.data.io import read_records
    from memgap.families import infer_families
    from memgap.families.concentration import family_agreement

    sets = []
    for kind, options in SHARED_SLOT_SETS:
        texts, truth = generate(kind, n_families=360, seed=0, **options)
        sets.append((kind + "".join(f" {key}={value}" for key, value in options.items()), texts, truth))
    for path in sorted(HELD_OUT_SHARED_SLOTS.glob("*.jsonl")):
        records = read_records(path)
        truth = [record.row["planted"] for record in records]
        sets.append((f"held out: {path.stem}", [record.full_text for record in records], truth))
    results = []
    for name, texts, truth in sets:
        cpu_start = time.process_time()
        labels = infer_families(texts)
        cpu_seconds = time.process_time() - cpu_start
        agreement = family_agreement(truth, labels)
        jaccard = {threshold: adjusted_rand_score(truth, jaccard_union_find(texts, threshold))
                   for threshold in JACCARD_THRESHOLDS}
        best = max(jaccard, key=jaccard.get)
        results.append({
            "set": name, "rows": len(texts), "families": agreement["declared_families"],
            "inferred": agreement["inferred_families"], "ari": agreement["adjusted_rand_index"],
            "merged": agreement["declared_merged"], "split": agreement["declared_split"], "cpu_seconds": cpu_seconds,
            "jaccard_ari": jaccard[best], "jaccard_threshold": best,
        })
    return results


def run_worker(method: str, rows: int) -> dict:
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    output = subprocess.run(
        [sys.executable, __file__, "--worker", method, str(rows)],
        check=True, capture_output=True, text=True, env=environment,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "ROWS"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 rows with memgap")
    parser.add_argument("--million-baseline", action="store_true", help="also run datasketch at 1,000,000 rows (slow)")
    parser.add_argument("--independent", action="store_true", help="only the independent planted sets (prints JSON lines)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    independent = independent_sets()
    for result in independent:
        print(json.dumps(result), flush=True)
    shared_slots = shared_slot_sets()
    for result in shared_slots:
        print(json.dumps(result), flush=True)
    if args.independent:
        return
    results = []
    for rows in [int(size) for size in args.sizes.split(",")]:
        for method in ("memgap", "datasketch"):
            results.append(run_worker(method, rows))
            print(json.dumps(results[-1]), flush=True)
    if args.million:
        results.append(run_worker("memgap", 1_000_000))
        print(json.dumps(results[-1]), flush=True)
        if args.million_baseline:
            results.append(run_worker("datasketch", 1_000_000))
            print(json.dumps(results[-1]), flush=True)
    write_table(results, independent, shared_slots)


def write_table(results: list[dict], independent: list[dict], shared_slots: list[dict]) -> None:
    by_size = {}
    for result in results:
        by_size.setdefault(result["rows"], {})[result["method"]] = result
    lines = [
        "# Family inference: memgap vs datasketch MinHash-LSH + union-find",
        "",
        "Planted families from `tests/augmenter.py` (synonyms, reordered sentences, filler lines, typos,",
        "greetings and sign-offs shared by all rows; ~90 words per row). Wall clock on this machine",
        f"({os.cpu_count()} cores, shared), one process per cell, `OMP_NUM_THREADS=1`. datasketch: word 3-gram MinHash",
        f"(128 permutations, `MinHash.bulk`), MinHashLSH at its best threshold of {BASELINE_THRESHOLDS}, union-find.",
        "Peak RSS includes the generated data. Produced by `benchmarks/families/run.py`.",
        "",
        "Speed-up is on CPU seconds (robust on a shared machine); wall-clock rows/s are shown too.",
        "",
        "| rows | memgap rows/s (wall) | datasketch rows/s (wall) | speed-up (CPU s) | memgap ARI | datasketch ARI (threshold) | memgap peak RSS MiB | datasketch peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, cell in sorted(by_size.items()):
        ours, theirs = cell.get("memgap"), cell.get("datasketch")
        speed_up = f"{theirs['cpu_seconds'] / ours['cpu_seconds']:.1f}x" if ours and theirs else "-"
        lines.append(
            f"| {rows:,} | {ours['rows_per_s']:,.0f} | {theirs['rows_per_s']:,.0f} | {speed_up} | {ours['ari']:.3f} | "
            f"{theirs['ari']:.3f} ({theirs['threshold']}) | {ours['peak_rss_mib']:,.0f} | {theirs['peak_rss_mib']:,.0f} |"
            if ours and theirs else
            f"| {rows:,} | {ours['rows_per_s']:,.0f} | - | - | {ours['ari']:.3f} | - | {ours['peak_rss_mib']:,.0f} | - |"
        )
    lines += [
        "",
        "## Independent planted sets (`tests/planted/`, 360 families, seed 0, no declared family)",
        "",
        "Written apart from memgap and from `tests/augmenter.py`: other domains and operations, one footer",
        "in every row, same-topic families sharing sentences (see `tests/planted/README.md`). memgap's",
        "default settings; merged / split: planted families that share an inferred cluster with another /",
        "are spread over several clusters.",
        "",
        "| set | rows | planted families | inferred | ARI | merged | split | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in independent:
        lines.append(
            f"| {row['set']} | {row['rows']:,} | {row['families']} | {row['inferred']} | {row['ari']:.3f} | "
            f"{row['merged']} | {row['split']} | {row['cpu_seconds']:.2f} |"
        )
    lines += [
        "",
        "## Shared-slot sets (families that share a topic vocabulary)",
        "",
        "Every family assembled from slots all families draw from (product, fault, when it began,",
        "question, steps, closer), varied by synonyms, reordered steps, fillers and typos. Development:",
        "`benchmarks/families/shared_slots.py` (a car workshop and a hotel front desk; 360 families,",
        "seed 0; `pool_share` 0.6 keeps 60 % of every slot pool, `footer_share` 0.6 puts the footer on",
        "60 % of families, under the boilerplate share). Held out: `tests/data/planted_shared_slots/`,",
        "written apart from memgap (families tell apart by a detail or two). Jaccard: word 1-2-gram",
        f"sets without those of half the rows or more, union-find, at its best threshold of {JACCARD_THRESHOLDS}.",
        "",
        "| set | rows | planted families | inferred | ARI | merged | split | CPU s | Jaccard ARI (threshold) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in shared_slots:
        lines.append(
            f"| {row['set']} | {row['rows']:,} | {row['families']} | {row['inferred']} | {row['ari']:.3f} | "
            f"{row['merged']} | {row['split']} | {row['cpu_seconds']:.2f} | {row['jaccard_ari']:.3f} ({row['jaccard_threshold']}) |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
