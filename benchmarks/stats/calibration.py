"""Calibration of memgap's clustered statistics against the item-level analysis, by simulation.

Families of 1 to 8 items, a family effect with intra-family correlation ICC, normal noise. For each
family count and ICC: the rejection rate of a true null at alpha = 0.05 (type-I error; nominal 5 %)
and the coverage of the 95 % CI around a true effect of 0.3 (nominal 95 %), for
  - the paired lift: item-level sign-flip, plain percentile cluster bootstrap, cluster-robust (CR1)
    t with F-1 df, and memgap's family sign-flip (the method `paired_delta` uses);
  - the memorization gap (two hold-outs of F families each): item-level Welch t and memgap's
    family-clustered CR2 Welch t.
Writes benchmarks/results/stats_calibration.md.

    .venv/bin/python benchmarks/stats/calibration.py [--datasets 2000]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

from memgap.stats import memorization_gap, paired_delta
from memgap.stats.simulation import simulate_clustered_differences

RESULTS = Path(__file__).resolve().parents[1] / "results" / "stats_calibration.md"
FAMILY_COUNTS = (10, 20, 40, 80)
ICCS = (0.0, 0.5)
EFFECT = 0.3
ALPHA = 0.05
RESAMPLES = 499


def percentile_cluster_bootstrap(differences, families, rng) -> tuple[float, float]:
    """The plain percentile bootstrap over families, vectorized; shown for reference only."""
    sums = np.bincount(families, weights=differences)
    sizes = np.bincount(families).astype(float)
    picks = rng.integers(0, sums.size, size=(RESAMPLES, sums.size))
    means = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    return tuple(np.quantile(means, [ALPHA / 2, 1 - ALPHA / 2]))


def cr1_t_interval(differences, families) -> tuple[float, float]:
    sums = np.bincount(families, weights=differences)
    sizes = np.bincount(families).astype(float)
    n_families, mean = sums.size, differences.mean()
    se = np.sqrt(np.sum((sums - sizes * mean) ** 2) * n_families / (n_families - 1)) / differences.size
    half = stats.t.ppf(1 - ALPHA / 2, n_families - 1) * se
    return mean - half, mean + half


def paired_rates(n_families: int, icc: float, n_datasets: int, rng) -> dict[str, tuple[float, float]]:
    """{method: (type-I error, coverage)} for the paired lift."""
    misses = {name: np.zeros(2) for name in ("item-level sign-flip", "percentile cluster bootstrap",
                                             "cluster-robust t (CR1, F-1 df)", "memgap family sign-flip")}
    for column, effect in enumerate((0.0, EFFECT)):
        for index in range(n_datasets):
            sample = simulate_clustered_differences(rng, n_families=n_families, icc=icc, effect=effect)
            result = paired_delta(sample.differences, np.zeros_like(sample.differences), sample.families,
                                  n_resamples=RESAMPLES, seed=index)
            intervals = {
                "item-level sign-flip": (result.item_level.ci_low, result.item_level.ci_high),
                "percentile cluster bootstrap": percentile_cluster_bootstrap(sample.differences, sample.families, rng),
                "cluster-robust t (CR1, F-1 df)": cr1_t_interval(sample.differences, sample.families),
                "memgap family sign-flip": (result.ci_low, result.ci_high),
            }
            for name, (low, high) in intervals.items():
                misses[name][column] += not (low <= effect <= high)
    return {name: (count[0] / n_datasets, 1 - count[1] / n_datasets) for name, count in misses.items()}


def gap_rates(n_families: int, icc: float, n_datasets: int, rng) -> dict[str, tuple[float, float]]:
    misses = {"item-level Welch t": np.zeros(2), "memgap family CR2 Welch t": np.zeros(2)}
    for column, effect in enumerate((0.0, EFFECT)):
        for _ in range(n_datasets):
            seen = simulate_clustered_differences(rng, n_families=n_families, icc=icc, effect=0.2 + effect)
            unseen = simulate_clustered_differences(rng, n_families=n_families, icc=icc, effect=0.2,
                                                    family_offset=n_families)
            result = memorization_gap(seen.differences, np.zeros_like(seen.differences), seen.families,
                                      unseen.differences, np.zeros_like(unseen.differences), unseen.families)
            misses["item-level Welch t"][column] += not (result.item_level.ci_low <= effect <= result.item_level.ci_high)
            misses["memgap family CR2 Welch t"][column] += not (result.ci_low <= effect <= result.ci_high)
    return {name: (count[0] / n_datasets, 1 - count[1] / n_datasets) for name, count in misses.items()}


def table(title: str, rates: dict[tuple[int, float], dict[str, tuple[float, float]]]) -> list[str]:
    methods = list(next(iter(rates.values())))
    lines = [f"### {title}", "", "| families | ICC | " + " | ".join(methods) + " |",
             "|---:|---:|" + "---:|" * len(methods)]
    for (n_families, icc), by_method in rates.items():
        cells = [f"{100 * error:.1f} % / {100 * coverage:.1f} %" for error, coverage in by_method.values()]
        lines.append(f"| {n_families} | {icc:g} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=2000, help="simulated data sets per cell and truth")
    n_datasets = parser.parse_args().datasets
    rng = np.random.default_rng(20240601)
    paired = {(f, icc): paired_rates(f, icc, n_datasets, rng) for f in FAMILY_COUNTS for icc in ICCS}
    gap = {(f, icc): gap_rates(f, icc, n_datasets, rng) for f in FAMILY_COUNTS for icc in ICCS}
    standard_error = 100 * np.sqrt(ALPHA * (1 - ALPHA) / n_datasets)
    lines = [
        "# Calibration of memgap's statistics",
        "",
        f"Each cell: type-I error at alpha = 5 % / coverage of the 95 % CI (true effect {EFFECT}); nominal 5 % / 95 %.",
        f"{n_datasets} simulated data sets per cell and truth (Monte Carlo standard error about "
        f"{standard_error:.1f} points); families of 1 to 8 items; {RESAMPLES} resamples per test.",
        "",
    ]
    lines += table("Paired lift (one hold-out of F families)", paired)
    lines += table("Memorization gap (two hold-outs of F families each)", gap)
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
