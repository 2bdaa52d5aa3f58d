"""Per-family bookkeeping for the statistics: checked paired differences and per-family sums.

Every clustered procedure in `memgap.stats` works on two numbers per family, the sum of the item
differences and the family's size, so that one pass of `np.bincount` replaces any loop over items.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FamilySums:
    """Paired differences grouped by family: labels in first-seen order, sums and sizes per family."""

    differences: np.ndarray  # per item, treatment - control
    codes: np.ndarray  # per item, index into `labels`
    labels: list[Any]
    sums: np.ndarray  # per family, sum of differences
    sizes: np.ndarray  # per family, number of items (float64 for the arithmetic)

    @property
    def n(self) -> int:
        return int(self.differences.size)

    @property
    def n_families(self) -> int:
        return len(self.labels)


def paired_differences(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                       what: str = "paired values", *, clusters: Sequence[Any] | np.ndarray | None = None) -> np.ndarray:
    """Treatment minus control as float64, refusing unequal lengths, empty input and NaNs.

    Raises ValueError naming the offending items by 0-based position (and family, when `clusters`
    is given), so that a NaN score or NLL is traced to its rows instead of spreading into every figure.
    """
    treatment_array = np.asarray(treatment, dtype=np.float64).ravel()
    control_array = np.asarray(control, dtype=np.float64).ravel()
    if treatment_array.size != control_array.size:
        raise ValueError(f"{what}: treatment has {treatment_array.size} values but control has {control_array.size}")
    if treatment_array.size == 0:
        raise ValueError(f"{what}: no items")
    differences = treatment_array - control_array
    bad = np.flatnonzero(~np.isfinite(differences))
    if bad.size:
        raise ValueError(f"{what}: {bad.size} of {differences.size} items have a NaN or infinite value "
                         f"({_name_items(bad, clusters)}); drop or score them before the statistics")
    return differences


def _name_items(positions: np.ndarray, clusters: Sequence[Any] | np.ndarray | None, limit: int = 5) -> str:
    """'positions 1, 3 (families a, b)', the first `limit` of them, for an error message."""
    shown = [int(i) for i in positions[:limit]]
    text = "position" + ("s " if len(positions) > 1 else " ") + ", ".join(map(str, shown))
    if clusters is not None and len(clusters) > max(shown):
        text += " (famil" + ("ies " if len(shown) > 1 else "y ") + ", ".join(str(clusters[i]) for i in shown) + ")"
    return text + (f", and {len(positions) - limit} more" if len(positions) > limit else "")


def factorize(clusters: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Map family labels to codes 0..F-1, labels listed in the order they first appear."""
    array = np.asarray(clusters)
    if array.dtype != object and array.ndim == 1:
        # np.unique is the vectorized route; it sorts, so reorder to first appearance.
        unique, first_index, inverse = np.unique(array, return_index=True, return_inverse=True)
        order = np.argsort(first_index, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return rank[inverse.ravel()], [unique[i].item() for i in order]
    # Mixed or unorderable labels (e.g. None beside strings): a dict keeps it linear.
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(label, len(index)) for label in clusters), dtype=np.int64)
    return codes, list(index)


def family_sums(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                clusters: Sequence[Any] | np.ndarray | None, what: str = "paired values") -> FamilySums:
    """Check the inputs and sum the differences per family; no clusters means one family per item.

    Parameters: treatment, control: shape (n_items,); clusters: shape (n_items,) or None; `what`
    names the figure in error messages.
    Returns `FamilySums` (differences (n_items,), codes (n_items,), labels, sums and sizes (n_families,)).
    Raises ValueError for arrays of different lengths, an empty input or a NaN or infinite value.
    """
    differences = paired_differences(treatment, control, what, clusters=clusters)
    if clusters is None:
        codes = np.arange(differences.size)
        return FamilySums(differences, codes, list(range(differences.size)), differences.copy(),
                          np.ones(differences.size))
    if len(clusters) != differences.size:
        raise ValueError(f"{what}: {differences.size} items but {len(clusters)} family labels")
    codes, labels = factorize(clusters)
    sums = np.bincount(codes, weights=differences, minlength=len(labels))
    sizes = np.bincount(codes, minlength=len(labels)).astype(np.float64)
    return FamilySums(differences, codes, labels, sums, sizes)


def per_family_lifts(treatment: Sequence[float] | np.ndarray, control: Sequence[float] | np.ndarray,
                     clusters: Sequence[Any] | np.ndarray) -> list[dict[str, Any]]:
    """The mean lift (treatment - control) of each family, with its size, in first-seen order.

    Parameters: treatment, control, clusters: shape (n_items,) each.
    Returns [{family, n, lift}], lift in the values' units.
    Raises ValueError for arrays of different lengths or a NaN (naming its family).
    """
    grouped = family_sums(treatment, control, clusters, "per-family lifts")
    means = grouped.sums / grouped.sizes
    return [{"family": label, "n": int(size), "lift": float(mean)}
            for label, size, mean in zip(grouped.labels, grouped.sizes, means)]
