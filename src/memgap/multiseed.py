"""`memgap run --seeds 0,1,2`: repeat split, training and evaluation per seed, then pool.

`run_seeds` decides between one seed (`memgap.pipeline.run_audit`) and several (`run_multi_seed`).

Each seed draws its own family split and trains its own adapter in `OUT/seed-<s>/`; the top-level
audit.json holds the pooled lifts and gap (`memgap.stats.pool_seeds`), the spread between seeds, and
a verdict decided on the pooled figures.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from memgap.config import AuditConfig
from memgap.evaluation.rows import HOLDOUTS
from memgap.pipeline import run_audit
from memgap.run_folder import Stages, settings_fingerprint
from memgap.stages import RunContext, finish_audit
from memgap.stats import pool_seeds

# Every pooled S block's method starts so; the CLI summary and the report label such figures "pooled"
# (memgap.report.formatting.is_pooled).
POOLED_METHOD_PREFIX = "pooled over {k} seeds: "


def run_seeds(config: AuditConfig, *, fresh: bool = False, progress: bool = True) -> dict[str, Any]:
    """`memgap run`: `run_audit` when the config names one seed, `run_multi_seed` when it names several.

    The one place that decides; the pipeline itself runs one seed and never imports this module.
    """
    if config.seeds and len(config.seeds) > 1:
        return run_multi_seed(config, fresh=fresh, progress=progress)
    return run_audit(config, fresh=fresh, progress=progress)


def run_multi_seed(config: AuditConfig, *, fresh: bool = False, progress: bool = True) -> dict[str, Any]:
    """One `run_audit` per seed of `config.seeds` into OUT/seed-<s>/, then the pooled audit into OUT.

    Returns the pooled audit.json content. Raises MemgapError as run_audit does, for the first seed's inputs.
    """
    out = Path(config.out)
    audits = []
    for seed in config.seeds or [config.seed]:
        single = copy.deepcopy(config)
        single.seed, single.seeds, single.out = seed, None, str(out / f"seed-{seed}")
        audits.append(run_audit(single, fresh=fresh, progress=progress))
    pooled = pool_audits(audits, alpha=config.stats.alpha)
    pooled["config"] = config.to_dict()
    pooled["seeds"] = list(config.seeds or [])
    run = RunContext(config, out, Stages(out, settings_fingerprint({"seeds": pooled["seeds"]})), progress)
    return finish_audit(run, pooled)


def pool_audits(audits: list[dict[str, Any]], *, alpha: float) -> dict[str, Any]:
    """One audit whose lifts and gap are pooled over the per-seed audits (the first seed's other sections)."""
    combined = copy.deepcopy(audits[0])
    per_seed: dict[str, Any] = {"runs": [f"seed-{a['seed']}" for a in audits], "lifts": {}, "gap": {}, "verdicts": {}}
    for metric in combined["lifts"]:
        for holdout in HOLDOUTS:
            results = [a["lifts"][metric][holdout] for a in audits]
            combined["lifts"][metric][holdout] = _as_s(pool_seeds(results, alpha=alpha))
            per_seed["lifts"].setdefault(metric, {})[holdout] = [r["delta"] for r in results]
        gaps = [a["gap"][metric] for a in audits]
        combined["gap"][metric] = _as_s(pool_seeds(gaps, alpha=alpha))
        per_seed["gap"][metric] = [g["delta"] for g in gaps]
    per_seed["verdicts"] = {f"seed-{a['seed']}": a["verdict"]["label"] for a in audits}
    pooled_spread = {
        metric: {holdout: pool_seeds([a["lifts"][metric][holdout] for a in audits], alpha=alpha) for holdout in HOLDOUTS}
        for metric in combined["lifts"]
    }
    combined["multi_seed"] = {**per_seed, "pooled": pooled_spread, "note": (
        "Each seed draws its own family split and trains its own adapter; the top-level lifts and gap are "
        "pooled over seeds; sections other than lifts and gap describe the first seed's run."
    )}
    combined.pop("verdict", None)
    return combined


def _as_s(pooled: dict[str, Any]) -> dict[str, Any]:
    """The pooled figure in the audit's S shape."""
    block = {key: pooled.get(key) for key in ("delta", "ci_low", "ci_high", "p_value", "n", "n_families")} | {
        "method": POOLED_METHOD_PREFIX.format(k=pooled["n_seeds"]) + pooled["method"]
    }
    if pooled.get("note"):
        block["note"] = pooled["note"]
    return block
