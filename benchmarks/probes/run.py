"""Probes: time of the whole stage at audit scale, and the two hand-vectorised parts against their baselines.

Run: .venv/bin/python benchmarks/probes/run.py  -> benchmarks/results/probes.md
1. Bootstrap AUC CI: one weighted-AUC matrix product per batch of resamples (auc_with_ci) vs calling
   sklearn.metrics.roc_auc_score(sample_weight=...) once per resample, same resamples.
2. Nearest training completion: one sparse product over the trigram matrix (TrainingCorpus.closest)
   vs a Python loop of set intersections over all training completions.
3. run_probes end to end on synthetic entity-swapped families.
"""
from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from memgap.data.records import Record
from memgap.evaluation.token_stats import TokenStats
from memgap.probes import run_probes
from memgap.probes.copying import OVERLAP_NGRAM, TrainingCorpus
from memgap.probes.membership import _cluster_weights, auc_with_ci
from memgap.probes.text import ngrams, words

RESULTS = Path(__file__).resolve().parents[1] / "results" / "probes.md"
VOCABULARY = ("team roadmap hiring engineers platform data growth customers launch product market signal "
              "round funding series backend mobile firmware security analytics pipeline weeks call notes").split()


def email(rng: np.random.Generator, company: str, words_count: int = 120) -> str:
    body = " ".join(rng.choice(VOCABULARY, size=words_count))
    return f"Hi {company} team, congratulations on the ${rng.integers(2, 90)}M round. {body}."


def synthetic(n_families: int, per_family: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    records = []
    for family in range(n_families):
        template = email(rng, f"Company{family}")
        for row in range(per_family):
            tokens = template.split()
            for position in rng.choice(len(tokens), size=10, replace=False):  # light augmentation
                tokens[position] = str(rng.choice(VOCABULARY))
            records.append(Record(id=f"f{family}-{row}", completion=" ".join(tokens), prompt_text=f"Write to Company{family}.",
                                  family=f"f{family}"))
    return records


def timed(function, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def bench_bootstrap(n_resamples: int = 2000) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    members, nonmembers = rng.normal(0.5, 1, 48), rng.normal(0, 1, 100)
    fam_m, fam_n = np.repeat(np.arange(16), 3), np.repeat(np.arange(50), 2)

    def per_resample_sklearn() -> None:
        draw = np.random.default_rng(0)
        labels = np.r_[np.ones(48), np.zeros(100)]
        values = np.r_[members, nonmembers]
        for _ in range(n_resamples):
            w_m = _cluster_weights(draw.integers(0, 16, 16), fam_m, 16)[0]
            w_n = _cluster_weights(draw.integers(0, 50, 50), fam_n, 50)[0]
            roc_auc_score(labels, values, sample_weight=np.r_[w_m, w_n])

    vectorised = timed(lambda: auc_with_ci(members, nonmembers, fam_m.astype(str), fam_n.astype(str), n_resamples=n_resamples))
    baseline = timed(per_resample_sklearn, repeats=1)
    return vectorised, baseline


def bench_nearest(train: list[Record], queries: list[str]) -> tuple[float, float]:
    corpus = TrainingCorpus(train)
    query_tokens = [words(text) for text in queries]
    train_sets = [set(ngrams(tokens, OVERLAP_NGRAM)) for tokens in corpus.tokens]

    def python_loop() -> None:
        for tokens in query_tokens:
            grams = set(ngrams(tokens, OVERLAP_NGRAM))
            max(range(len(train_sets)), key=lambda index: len(grams & train_sets[index]))

    sparse = timed(lambda: [corpus.closest(tokens, None) for tokens in query_tokens])
    baseline = timed(python_loop, repeats=1)
    return sparse, baseline


def bench_run_probes(train: list[Record], seen: list[Record], unseen: list[Record]) -> float:
    rng = np.random.default_rng(2)
    generations = {
        "base": {record.id: email(rng, "Someone", 80) for record in seen + unseen},
        "adapter": {record.id: train[int(rng.integers(len(train)))].completion for record in seen + unseen},
    }
    stats = {model: {} for model in ("base", "adapter")}
    for record in train[::40] + seen + unseen:
        for model in stats:
            logprobs = rng.normal(-2, 1, 150)
            stats[model][record.id] = TokenStats(logprobs, logprobs - 0.5, np.ones(150))
    return timed(lambda: run_probes(train, {"seen": seen, "unseen": unseen}, generations, stats), repeats=1)


def main() -> None:
    families = synthetic(n_families=300, per_family=8)
    by_family: dict[str, list[Record]] = {}
    for record in families:
        by_family.setdefault(record.family, []).append(record)
    groups = list(by_family.values())
    train = [record for group in groups[:250] for record in group[:7]]
    seen = [group[7] for group in groups[:200]]
    unseen = [group[0] for group in groups[250:]]
    vectorised, sklearn_loop = bench_bootstrap()
    sparse, python_loop = bench_nearest(train, [record.completion for record in seen + unseen])
    total = bench_run_probes(train, seen, unseen)
    lines = [
        "# Probes benchmark",
        "",
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"{len(train)} training rows (~130 words), {len(seen)} seen + {len(unseen)} unseen hold-out items, 2 models.",
        "",
        "| step | memgap | baseline | baseline / memgap |",
        "|---|---|---|---|",
        f"| AUC CI, 2000 family resamples (48 vs 100 items) | {vectorised:.3f} s | {sklearn_loop:.3f} s (roc_auc_score per resample) | {sklearn_loop / vectorised:.0f}x |",
        f"| nearest training completion, {len(seen) + len(unseen)} queries | {sparse:.3f} s | {python_loop:.3f} s (Python set loop) | {python_loop / sparse:.1f}x |",
        f"| run_probes, whole stage | {total:.2f} s | | |",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
