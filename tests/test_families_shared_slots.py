"""Family inference on planted families built from shared slot vocabularies.

The sets in ``tests/data/planted_shared_slots/`` (see its README) hold families whose originals share
most of their wording with other families (products, faults, steps, policy sentences, closers, one
footer on many rows): only each original's own details (names, codes, numbers, a sentence or two)
tell the families apart. ``memgap families FILE --infer`` must recover the planted families with an
adjusted Rand index of 0.92 or more.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

DATA = Path(__file__).resolve().parent / "data" / "planted_shared_slots"
SETS = ["it_tickets", "shop_emails", "clinic_messages"]
TARGET_ARI = 0.92


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_sets_are_as_the_generator_writes_them(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_sets.py"), str(tmp_path)], check=True,
                   capture_output=True, text=True)
    for name in SETS:
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (DATA / f"{name}.jsonl").read_bytes(), name


@pytest.mark.parametrize("name", SETS)
def test_set_shape(name):
    rows = _read(DATA / f"{name}.jsonl")
    families = {row["planted"] for row in rows}
    assert 300 <= len(rows) <= 600
    assert 40 <= len(families) <= 80
    assert all("family" not in row for row in rows)
    assert len({row["id"] for row in rows}) == len(rows)


@pytest.mark.parametrize("name", SETS)
def test_inferred_families_match_planted(name, tmp_path):
    data = DATA / f"{name}.jsonl"
    out = tmp_path / f"{name}.families.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "memgap", "families", str(data), "--infer", "--out", str(out),
         "--write-field", "inferred_family"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    planted = {row["id"]: row["planted"] for row in _read(data)}
    inferred = {row["id"]: row["inferred_family"] for row in _read(out)}
    assert inferred.keys() == planted.keys()
    ids = sorted(planted)
    ari = adjusted_rand_score([planted[i] for i in ids], [inferred[i] for i in ids])
    print(f"{name}: ARI {ari:.3f} ({len(ids)} rows, {len(set(planted.values()))} planted families, "
          f"{len(set(inferred.values()))} inferred)")
    assert ari >= TARGET_ARI, f"{name}: ARI {ari:.3f} < {TARGET_ARI}"
