"""Memorization probes: does the adapter copy its training siblings, and can its losses tell members apart?

Pure Python/numpy/scipy/scikit-learn on texts and per-token statistics; no model is run here.
`run_probes` assembles the `probes` section of audit.json; `membership_rows` the rows of
DIR/membership.jsonl.
"""
from memgap.probes.copying import TrainingCorpus, find_copying, similarity
from memgap.probes.facts import TrainingFacts, carried_over_facts, extract_facts
from memgap.probes.family_gap import family_size_memorization, spearman_with_ci
from memgap.probes.membership import (
    auc_with_ci,
    item_scores,
    membership_rows,
    min_k_percent,
    min_k_plus_plus,
    summarize_membership,
)
from memgap.probes.summary import run_probes

__all__ = [
    "TrainingCorpus", "TrainingFacts", "auc_with_ci", "carried_over_facts", "extract_facts",
    "family_size_memorization", "find_copying", "item_scores", "membership_rows", "min_k_percent",
    "min_k_plus_plus", "run_probes", "similarity", "spearman_with_ci", "summarize_membership",
]
