"""Clustered data sets with a known truth, for checking that the statistics keep their promises.

Used by the test suite and benchmarks/stats/calibration.py: families of random size, a family
effect shared by siblings (the intra-family correlation) and item noise, so that a method's type-I
error and CI coverage can be measured rather than assumed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClusteredSample:
    """Paired differences with family labels; control is zero so the differences are the treatment."""

    differences: np.ndarray
    families: np.ndarray


def simulate_clustered_differences(rng: np.random.Generator, *, n_families: int, icc: float, effect: float = 0.0,
                                   min_family_size: int = 1, max_family_size: int = 8,
                                   family_offset: int = 0) -> ClusteredSample:
    """Differences = effect + family effect (variance icc) + item noise (variance 1 - icc), normal."""
    sizes = rng.integers(min_family_size, max_family_size + 1, size=n_families)
    families = np.repeat(np.arange(n_families), sizes)
    family_effects = rng.normal(0.0, np.sqrt(icc), size=n_families)
    noise = rng.normal(0.0, np.sqrt(1.0 - icc), size=families.size)
    return ClusteredSample(effect + family_effects[families] + noise, families + family_offset)
