"""The probes stage of an audit: every probe on both models and both hold-outs, as audit.json's `probes`.

Rates at the top level are on the seen-family hold-out, where training siblings exist and copying
is the question; `by_holdout` gives both hold-outs. On the unseen-family hold-out an item has no
siblings, so its "copy" comparison is with the nearest training completion overall.
`adapter_minus_base` gives each rate's difference with a family-clustered CI and p-value: the two
models answer the same items, and siblings' generations are not independent of each other.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memgap.audit_document import json_ready
from memgap.data.records import Record
from memgap.evaluation.rows import HOLDOUTS
from memgap.evaluation.token_stats import TokenStats
from memgap.probes.copying import CopyFinding, TrainingCorpus, find_copying
from memgap.probes.facts import Fact, TrainingFacts, carried_over_facts
from memgap.probes.family_gap import family_size_memorization
from memgap.probes.membership import membership_rows, summarize_membership
from memgap.probes.set_level import set_level_membership
from memgap.stats.paired import paired_delta

MODELS = ("base", "adapter")
RATES = ("sibling_copy_rate", "verbatim_span_rate", "carried_over_fact_rate")


@dataclass(frozen=True)
class ItemProbe:
    """Everything the generation-side probes found for one (item, model)."""

    record: Record
    generation: str
    copying: CopyFinding
    facts: list[tuple[Fact, str]]


def probe_generations(records: Sequence[Record], generations: Mapping[str, str],
                      *, corpus: TrainingCorpus, training_facts: TrainingFacts) -> list[ItemProbe]:
    """Run copying, verbatim-span and carried-over-fact probes on the generations of one model."""
    probes = []
    for record in records:
        generation = generations.get(record.id)
        if generation is None:
            continue
        generation = generation or ""
        probes.append(ItemProbe(record, generation, find_copying(generation, record, corpus),
                                carried_over_facts(generation, record, training_facts)))
    return probes


def indicators(item: ItemProbe) -> dict[str, bool]:
    """Per generation: closer to training than to its reference, has a verbatim span, carries a fact."""
    return {
        "sibling_copy_rate": item.copying.closer_to_training,
        "verbatim_span_rate": item.copying.has_verbatim_span,
        "carried_over_fact_rate": bool(item.facts),
    }


def rates(items: Sequence[ItemProbe]) -> dict[str, float | None]:
    """Share of generations closer to training than to their reference, with a verbatim span, with a carried fact."""
    if not items:
        return {name: None for name in RATES}
    flags = [indicators(item) for item in items]
    return {name: float(np.mean([flag[name] for flag in flags])) for name in RATES}


def rate_differences(adapter: Sequence[ItemProbe], base: Sequence[ItemProbe], *, n_resamples: int,
                     alpha: float, seed: int) -> dict[str, dict | None]:
    """Adapter minus base rate over the items both models answered, family-clustered (sign-flip) CI and p."""
    base_by_id = {item.record.id: item for item in base}
    pairs = [(item, base_by_id[item.record.id]) for item in adapter if item.record.id in base_by_id]
    if not pairs:
        return {name: None for name in RATES}
    families = [item.record.family or item.record.id for item, _ in pairs]
    adapter_flags = [indicators(item) for item, _ in pairs]
    base_flags = [indicators(other) for _, other in pairs]
    return {
        name: paired_delta([float(flag[name]) for flag in adapter_flags], [float(flag[name]) for flag in base_flags],
                           families, n_resamples=n_resamples, alpha=alpha, seed=seed).to_dict()
        for name in RATES
    }


def details(items: Sequence[ItemProbe]) -> dict:
    """Counts and mean similarities behind the rates, for the report's tables."""
    if not items:
        return {"n": 0}
    to_reference = [item.copying.to_reference.to_dict() for item in items]
    to_closest = [item.copying.to_closest.to_dict() for item in items if item.copying.to_closest is not None]
    return {
        "n": len(items),
        "n_empty_generations": sum(not item.generation.strip() for item in items),
        "compared_with": ("family siblings" if any(item.copying.closest_is_sibling for item in items)
                          else "nearest training completion"),
        "mean_to_reference": _column_means(to_reference),
        "mean_to_closest_training": _column_means(to_closest),
        "mean_carried_over_facts": float(np.mean([len(item.facts) for item in items])),
        "mean_verbatim_spans": float(np.mean([len(item.copying.spans) for item in items])),
    }


def _column_means(rows: Sequence[Mapping[str, float]]) -> dict[str, float] | None:
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]} if rows else None


def example(item: ItemProbe, model: str, holdout: str, corpus_by_id: Mapping[str, Record]) -> dict:
    """One item for the report: texts, the closest training completion, spans to highlight."""
    closest = corpus_by_id.get(item.copying.closest_id) if item.copying.closest_id else None
    return {
        "model": model,
        "holdout": holdout,
        "id": item.record.id,
        "family": item.record.family,
        "generation": item.generation,
        "reference": item.record.completion,
        "closest_training": None if closest is None else {
            "id": closest.id, "family": closest.family, "completion": closest.completion,
            "is_sibling": item.copying.closest_is_sibling,
        },
        "closer_to_training": item.copying.closer_to_training,
        "similarity_to_reference": item.copying.to_reference.to_dict(),
        "similarity_to_closest": None if item.copying.to_closest is None else item.copying.to_closest.to_dict(),
        "copied_spans": [span.to_dict(item.generation) for span in item.copying.spans],
        "carried_over_facts": [{**fact.to_dict(item.generation), "source_id": source} for fact, source in item.facts],
    }


def pick_examples(items: Sequence[ItemProbe], count: int) -> list[ItemProbe]:
    """The most telling items first: closer to training, then longest copied span, then overlap."""
    def rank(item: ItemProbe) -> tuple:
        longest = max((span.n_tokens for span in item.copying.spans), default=0)
        overlap = item.copying.to_closest.ngram_overlap if item.copying.to_closest else 0.0
        return (-item.copying.closer_to_training, -longest, -len(item.facts), -overlap, item.record.id)

    return sorted(items, key=rank)[: max(0, count)]


def run_probes(
    train_records: Sequence[Record],
    holdouts: Mapping[str, Sequence[Record]],
    generations: Mapping[str, Mapping[str, str]],
    token_stats: Mapping[str, Mapping[str, TokenStats]],
    *, min_span_tokens: int = 8, examples_per_holdout: int = 3, n_resamples: int = 2000, seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """All probes, as the JSON-ready `probes` section of audit.json.

    Parameters:
        train_records: the training rows (the corpus copying and facts are sought in).
        holdouts: {"seen", "unseen"} -> the hold-out records.
        generations: model ("base" | "adapter") -> hold-out record id -> generated text.
        token_stats: model -> record id -> TokenStats, for a sample of training rows and the hold-out items.
        min_span_tokens: the shortest verbatim span counted (tokens).
        examples_per_holdout: generations quoted in the report per hold-out.
        n_resamples, seed, alpha: the family-clustered tests of the rate differences and the bootstraps.
    Returns the rates (sibling copying, verbatim spans, carried-over facts) per model and hold-out with
    their adapter-minus-base differences, membership inference, family-size memorization and examples.
    Missing pieces give nulls and a note, never an exception.
    """
    corpus = TrainingCorpus(train_records, min_span_tokens=min_span_tokens)
    training_facts = TrainingFacts(train_records)
    corpus_by_id = {record.id: record for record in train_records}
    models = [model for model in MODELS if model in generations] + sorted(set(generations) - set(MODELS))
    notes: list[str] = []

    probed: dict[str, dict[str, list[ItemProbe]]] = {}
    for holdout in HOLDOUTS:
        records = holdouts.get(holdout) or ()
        if not records:
            notes.append(f"the {holdout}-family hold-out is empty; its rates are null")
        probed[holdout] = {
            model: probe_generations(records, generations[model], corpus=corpus, training_facts=training_facts)
            for model in models
        }
    if not train_records:
        notes.append("no training records: nothing to copy from")

    result: dict = {"scope": "top-level rates: seen-family hold-out; by_holdout: both hold-outs",
                    "min_span_tokens": min_span_tokens}
    for rate in RATES:
        by_holdout = {holdout: {model: rates(probed[holdout].get(model, []))[rate] for model in dict.fromkeys((*MODELS, *models))}
                      for holdout in HOLDOUTS}
        result[rate] = {**by_holdout["seen"], "by_holdout": by_holdout}
    if "base" in models and "adapter" in models:
        differences = {holdout: rate_differences(probed[holdout]["adapter"], probed[holdout]["base"],
                                                 n_resamples=n_resamples, alpha=alpha, seed=seed)
                       for holdout in HOLDOUTS}
        for rate in RATES:
            result[rate]["adapter_minus_base"] = {holdout: differences[holdout][rate] for holdout in HOLDOUTS}
    result["details"] = {holdout: {model: details(items) for model, items in probed[holdout].items()} for holdout in HOLDOUTS}
    result["examples"] = [
        example(item, model, holdout, corpus_by_id)
        for holdout in HOLDOUTS
        for model in models
        for item in pick_examples(probed[holdout][model], examples_per_holdout)
    ]

    rows = membership_rows(train_records, holdouts, token_stats)
    result["membership"] = summarize_membership(rows, n_resamples=n_resamples, seed=seed)
    result["set_level_membership"] = set_level_membership(rows, alpha=alpha, n_permutations=min(n_resamples, 2000),
                                                          seed=seed)
    result["family_size_memorization"] = family_size_memorization(
        train_records, holdouts.get("seen") or (), token_stats.get("adapter", {}), n_resamples=n_resamples, seed=seed)
    for section in ("membership", "family_size_memorization"):
        if "note" in result[section]:
            notes.append(f"{section}: {result[section]['note']}")
    for model in MODELS:
        if model not in generations:
            notes.append(f"no generations for the {model} model; its rates are null")
    result["notes"] = notes
    return json_ready(result, name="probes", warn=False)  # an undefined rate is expected here: null, no warning
