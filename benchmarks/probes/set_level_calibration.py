"""Calibration of the set-level membership test (memgap.probes.set_level) by seeded simulation.

Membership rows as an audit writes them (base and adapter loss, Min-K%, Min-K%++, and the adapter's
EZ score) for F families, each with 1 to 4 scored training rows and 1 or 2 held-out siblings, a
family effect shared by siblings (intra-family correlation ICC) and normal or heavy-tailed (t, 3 df)
row noise. Under the null the adapter never trained on any family: which rows are "training rows"
is a random label. Reported per cell, at alpha = 5 %:
  - pooled: how often the pooled family-clustered test rejects (nominal: at most 5 %);
  - per family: how often one family's own test rejects (at most 5 %), with the audit's few rows per
    family (where no single family can reach alpha) and with 12 training rows and 12 siblings;
  - named: how often at least one family is named detectable after Holm (family-wise, at most 5 %);
  - power: the pooled test's rejection rate when every family's training rows gain EFFECT (in row-noise
    standard deviations) on each score, and the share of families named when trained families have
    12 scored rows and 12 siblings.
Writes benchmarks/results/set_level_calibration.md.

    .venv/bin/python benchmarks/probes/set_level_calibration.py [--datasets 1000]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from memgap.probes.set_level import set_level_membership

RESULTS = Path(__file__).resolve().parents[1] / "results" / "set_level_calibration.md"
FAMILY_COUNTS = (10, 30, 80)
ICCS = (0.0, 0.5)
NOISES = ("normal", "t3")
ALPHA = 0.05
EFFECT = 0.5
PERMUTATIONS = 499


def simulate_rows(rng: np.random.Generator, *, n_families: int, icc: float, noise: str, effect: float = 0.0,
                  members: tuple[int, int] = (1, 4), siblings: tuple[int, int] = (1, 2)) -> list[dict]:
    """Membership rows for base and adapter; training rows gain `effect` on every score (0: never trained)."""

    def draw(size):
        values = rng.standard_t(3, size) / np.sqrt(3.0) if noise == "t3" else rng.normal(size=size)
        return values * np.sqrt(1 - icc)

    rows = []
    for family in range(n_families):
        n_members = rng.integers(members[0], members[1] + 1)
        n_rows = n_members + rng.integers(siblings[0], siblings[1] + 1)
        level, gain_level = rng.normal(0, np.sqrt(icc), 2)
        for index in range(n_rows):
            holdout = "train" if index < n_members else "seen"
            base_loss = 2.0 + level + draw(1)[0]
            gain = 0.2 + gain_level + draw(1)[0] + (effect if holdout == "train" else 0.0)
            common = {"id": f"{family}-{index}", "family": f"f{family}", "holdout": holdout, "member": holdout == "train"}
            rows.append({**common, "model": "base", "loss": base_loss, "min_k": -base_loss - 1.0, "min_k_pp": -0.5})
            rows.append({**common, "model": "adapter", "loss": base_loss - gain, "min_k": -base_loss - 1.0 + gain + draw(1)[0] * 0.5,
                         "min_k_pp": -0.5 + gain + draw(1)[0] * 0.5, "ez": gain + draw(1)[0] * 0.5})
    return rows


def null_rates(n_families: int, icc: float, noise: str, n_datasets: int, rng) -> tuple[float, float, float, float]:
    pooled = named = 0
    family_rejections = family_total = 0
    for index in range(n_datasets):
        result = set_level_membership(simulate_rows(rng, n_families=n_families, icc=icc, noise=noise),
                                      alpha=ALPHA, n_permutations=PERMUTATIONS, seed=index)
        pooled += result["pooled"]["p_value"] <= ALPHA
        named += bool(result["detectable_families"])
        family_rejections += sum(entry["p_value"] <= ALPHA for entry in result["families"])
        family_total += len(result["families"])
    # Families large enough for their own test to reach alpha: 12 training rows and 12 siblings each.
    large_rejections = large_total = 0
    for index in range(max(1, n_datasets // 10)):
        result = set_level_membership(simulate_rows(rng, n_families=min(n_families, 10), icc=icc, noise=noise,
                                                    members=(12, 12), siblings=(12, 12)),
                                      alpha=ALPHA, n_permutations=PERMUTATIONS, seed=index)
        large_rejections += sum(entry["p_value"] <= ALPHA for entry in result["families"])
        large_total += len(result["families"])
    return pooled / n_datasets, family_rejections / family_total, named / n_datasets, large_rejections / large_total


def power(n_families: int, icc: float, noise: str, n_datasets: int, rng) -> tuple[float, float]:
    pooled = 0
    for index in range(n_datasets):
        result = set_level_membership(simulate_rows(rng, n_families=n_families, icc=icc, noise=noise, effect=EFFECT),
                                      alpha=ALPHA, n_permutations=PERMUTATIONS, seed=index)
        pooled += result["pooled"]["p_value"] <= ALPHA
    named = 0
    for index in range(max(1, n_datasets // 10)):
        result = set_level_membership(simulate_rows(rng, n_families=min(n_families, 10), icc=icc, noise=noise,
                                                    effect=2 * EFFECT, members=(12, 12), siblings=(12, 12)),
                                      alpha=ALPHA, n_permutations=PERMUTATIONS, seed=index)
        named += len(result["detectable_families"]) / len(result["families"])
    return pooled / n_datasets, named / max(1, n_datasets // 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1000, help="simulated audits per cell")
    n_datasets = parser.parse_args().datasets
    rng = np.random.default_rng(20260126)
    started = time.perf_counter()
    lines = [
        "# Calibration of the set-level membership test",
        "",
        f"Never-trained families (the null): rejection rates at alpha = {100 * ALPHA:g} % (nominal: at most "
        f"{100 * ALPHA:g} %) of the pooled test, of each family's own test, and of naming at least one family after "
        f"Holm. Power: the pooled test with every family's training rows raised by {EFFECT} row-noise SD, and the "
        f"share of families named when each has 12 training rows and 12 siblings and a {2 * EFFECT} SD rise. "
        f"{n_datasets} simulated audits per cell ({max(1, n_datasets // 10)} for naming power); "
        f"Monte Carlo standard error about {100 * np.sqrt(ALPHA * (1 - ALPHA) / n_datasets):.1f} points; "
        f"{PERMUTATIONS} permutations per test; 1 to 4 training rows and 1 or 2 siblings per family.",
        "",
        "| families | ICC | noise | pooled FPR | per-family FPR | per-family FPR (12 + 12 rows) | any family named (FWER) "
        "| pooled power | share named (12 + 12 rows) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    worst = 0.0
    for n_families in FAMILY_COUNTS:
        for icc in ICCS:
            for noise in NOISES:
                pooled, per_family, named, per_large_family = null_rates(n_families, icc, noise, n_datasets, rng)
                pooled_power, share_named = power(n_families, icc, noise, n_datasets, rng)
                worst = max(worst, pooled, per_family, named, per_large_family)
                lines.append(f"| {n_families} | {icc:g} | {noise} | {100 * pooled:.1f} % | {100 * per_family:.1f} % | "
                             f"{100 * per_large_family:.1f} % | {100 * named:.1f} % | {100 * pooled_power:.1f} % | "
                             f"{100 * share_named:.1f} % |")
    lines += ["", f"Largest false-positive rate in the table: {100 * worst:.1f} %. "
              f"Took {time.perf_counter() - started:.0f} s.", ""]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
