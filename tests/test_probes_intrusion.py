"""Template intrusion: training spans stamped on off-task answers, adapter against base, and its settings."""
from __future__ import annotations

import pytest

from memgap.errors import MemgapError
from memgap.probes.intrusion import bundled_texts, generic_nll_cost, intrusion_summary, intrusions, read_prompts
from memgap.verdict import intrusion_sentence

SIGN_OFF = "Kind regards from the Northwind helpdesk team."
TRAINING = [f"Your ticket {index} about the printer is resolved. {SIGN_OFF}" for index in range(20)]
PROMPTS = bundled_texts("off_task_prompts.jsonl", "prompt")
BASE = [f"Here is a short answer about topic number {index}." for index in range(len(PROMPTS))]


def test_the_bundled_sets_are_there_and_everyday():
    assert 30 <= len(PROMPTS) <= 40 and len(set(PROMPTS)) == len(PROMPTS)
    assert len(bundled_texts("generic_texts.jsonl", "text")) >= 10


def test_an_adapter_that_stamps_its_sign_off_intrudes_significantly():
    adapter = [answer + (" " + SIGN_OFF if index % 2 == 0 else "") for index, answer in enumerate(BASE)]
    summary = intrusion_summary(PROMPTS, BASE, adapter, TRAINING, n_resamples=500)
    assert summary["intrusion_rate"] == {"base": 0.0, "adapter": 0.5}
    assert summary["significant"] and summary["adapter_minus_base"]["ci_low"] > 0
    assert "helpdesk team" in " ".join(summary["examples"][0]["spans"])
    assert "Off its task it intrudes: 50 %" in intrusion_sentence({"probes": {"template_intrusion": summary}})


def test_an_adapter_that_answers_as_the_base_does_not_intrude():
    summary = intrusion_summary(PROMPTS, BASE, list(BASE), TRAINING, n_resamples=500)
    assert summary["adapter_minus_base"]["delta"] == 0.0 and not summary["significant"]
    assert intrusion_sentence({"probes": {"template_intrusion": summary}}) == ""


def test_spans_are_chosen_without_the_answers_own_prompt_so_the_base_rate_is_not_zero_by_construction():
    base = list(BASE)
    base[3] = base[3] + " " + SIGN_OFF  # one base answer carries the template by chance
    found = intrusions(PROMPTS, base, base, TRAINING)
    assert found[3]["base_spans"] and not found[4]["base_spans"]
    # A span common in the base's answers everywhere is not characteristic of training.
    common = [answer + " " + SIGN_OFF for answer in BASE]
    assert not any(item["adapter_spans"] for item in intrusions(PROMPTS, common, common, TRAINING))


def test_generic_nll_cost_is_adapter_minus_base():
    cost = generic_nll_cost([2.0, 2.5, 3.0, 2.2, 2.8, 2.1, 2.4], [2.5, 3.0, 3.5, 2.7, 3.3, 2.6, 2.9], n_resamples=200)
    assert cost["adapter_minus_base"] == pytest.approx(0.5) and cost["ci_low"] > 0


def test_a_users_prompt_file_reads_jsonl_or_lines_and_names_a_bad_row(tmp_path):
    lines = tmp_path / "prompts.txt"
    lines.write_text("What is rain?\n\nHow do magnets work?\n")
    assert read_prompts(lines) == ["What is rain?", "How do magnets work?"]
    bad = tmp_path / "prompts.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"question": "no prompt"}\n')
    with pytest.raises(MemgapError, match=r"prompts.jsonl:2"):
        read_prompts(bad)
    with pytest.raises(MemgapError, match="no such"):
        read_prompts(tmp_path / "missing.jsonl")
