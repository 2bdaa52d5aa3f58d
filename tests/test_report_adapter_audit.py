"""The report of an audit: each model's own generation under its name in Examples,
control characters escaped, bold announced only when something is bold, signed zeros and p-values
printed as what they are, and the adapter named in the header of an adapter audit."""
from __future__ import annotations

import json

from fixtures.run_folder import build_run_folder
from memgap.report import render_report
from memgap.report.formatting import interval, p_text, p_value, signed
from memgap.stats.paired import consistent_with_test


def _edit_audit(run_dir, edit):
    path = run_dir / "audit.json"
    audit = json.loads(path.read_text())
    edit(audit)
    path.write_text(json.dumps(audit))


def _predictions(run_dir):
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def test_examples_show_the_adapters_generation_under_adapter_with_controls_escaped(tmp_path):
    run_dir = build_run_folder(tmp_path / "run")
    rows = _predictions(run_dir)
    adapter = next(row for row in rows if row["model"] == "adapter" and row["holdout"] == "seen")
    base = next(row for row in rows if row["model"] == "base" and row["id"] == adapter["id"])
    adapter["generation"], base["generation"] = "ADAPTER said\x13 this\x1b[31m", "BASE said that"
    (run_dir / "predictions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    def probe_examples(audit):
        # The probe records examples of both models, the base's first, as memgap's probes do.
        audit["probes"]["examples"] = [
            {"id": adapter["id"], "family": adapter["family"], "holdout": "seen", "model": "base",
             "generation": base["generation"], "copied_spans": []},
            {"id": adapter["id"], "family": adapter["family"], "holdout": "seen", "model": "adapter",
             "generation": adapter["generation"], "copied_spans": [{"start": 0, "end": 7, "n_tokens": 2}]},
        ]
    _edit_audit(run_dir, probe_examples)
    paths = render_report(run_dir)
    markdown = paths["md"].read_text(encoding="utf-8")
    block = markdown[markdown.index(f"**{adapter['id']}**"):]
    block = block[:block.index("\n**", block.index("Adapter (score"))]
    base_part, adapter_part = block.split("Adapter (score", 1)
    assert "BASE said that" in base_part and "ADAPTER" not in base_part
    assert "**ADAPTER**" in adapter_part and "copied spans in bold" in adapter_part
    assert "\\\\x13" in adapter_part or "\\x13" in adapter_part
    for text in (markdown, paths["html"].read_text(encoding="utf-8")):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in text)
    assert "x13" in paths["html"].read_text(encoding="utf-8")


def test_copied_spans_in_bold_only_when_something_is_bold(tmp_path):
    run_dir = build_run_folder(tmp_path / "run")
    _edit_audit(run_dir, lambda audit: audit["probes"].update(examples=[]))
    markdown = render_report(run_dir)["md"].read_text(encoding="utf-8")
    assert "Adapter (score" in markdown and "copied spans in bold" not in markdown


def test_header_names_the_adapter_of_an_adapter_audit(tmp_path):
    run_dir = build_run_folder(tmp_path / "run")
    _edit_audit(run_dir, lambda audit: audit["model"].update(adapter="/somewhere/my-adapter"))
    paths = render_report(run_dir)
    assert "/somewhere/my-adapter" in paths["md"].read_text(encoding="utf-8").split("## ")[0]
    assert "/somewhere/my-adapter" in paths["html"].read_text(encoding="utf-8")


def test_signed_zero_and_attainable_p_values():
    assert signed(-1.3e-9) == "0.000" and signed(1e-12) == "0.000" and signed(0.0) == "0.000"
    assert interval({"delta": -0.014, "ci_low": -0.029, "ci_high": -1.3e-9}) == "-0.029 to 0.000"
    assert signed(-0.014) == "-0.014" and signed(0.2) == "+0.20"
    # The smallest attainable two-sided sign-flip p with 4 families is 2/2^4 = 0.125: never printed below it.
    assert p_value(0.125) == "0.125" and p_text(0.125) == "p = 0.125"
    assert p_value(0.0625) == "0.0625" and p_value(0.47) == "0.47" and p_value(0.4732) == "0.47"
    assert p_value(0.03125) == "0.0313" and p_value(0.0078125) == "0.00782" and p_value(0.5) == "0.50"
    assert float(p_value(2 / 2 ** 4)) >= 2 / 2 ** 4


def test_interval_agrees_with_the_test_at_zero():
    # A bound within noise of 0 is 0; where the test does not reject 0 the interval contains 0.
    assert consistent_with_test(-0.029, -1.3e-9, p_value=0.13, alpha=0.05) == (-0.029, 0.0)
    assert consistent_with_test(-0.029, -0.004, p_value=0.13, alpha=0.05) == (-0.029, 0.0)
    assert consistent_with_test(0.01, 0.2, p_value=0.01, alpha=0.05) == (0.01, 0.2)
    assert consistent_with_test(float("-inf"), float("inf"), p_value=0.5, alpha=0.05) == (float("-inf"), float("inf"))


def test_gradient_section_says_why_it_is_missing_and_no_module_claim_without_gradients(tmp_path):
    from memgap.report.actions import module_actions, nothing_to_do

    run_dir = build_run_folder(tmp_path / "run", omit=("gradients",))
    _edit_audit(run_dir, lambda audit: (audit["model"].update(adapter="/x/adapter"), audit.update(training=None)))
    markdown = render_report(run_dir)["md"].read_text(encoding="utf-8")
    assert "no --training-dir was given" in markdown and "GradNormCallback" in markdown
    _edit_audit(run_dir, lambda audit: audit.update(training={"source": "/x/trainer/trainer_state.json", "steps": 7}))
    markdown = render_report(run_dir)["md"].read_text(encoding="utf-8")
    assert "the training folder (/x/trainer) holds no gradnorms.csv" in markdown
    audit = json.loads((run_dir / "audit.json").read_text())
    assert module_actions(audit) == [] and "update concentrated" not in nothing_to_do(audit)
    assert "update concentrated" in nothing_to_do({"gradients": {"by_module": {"q_proj": 0.5, "v_proj": 0.5}}})


def test_module_action_names_its_figure_and_cites_the_realised_update():
    from memgap.report.actions import module_actions

    audit = {"gradients": {"by_module": {"v_proj": 0.6, "o_proj": 0.3, "q_proj": 0.05, "k_proj": 0.05}},
             "updates": {"by_group": {"attention": 0.4, "mlp": 0.6}}}
    (action,) = module_actions(audit)
    assert "squared pre-clip gradient norm" in action.because and "training pressure" in action.title
    assert "60.0 % of ‖ΔW‖² sits in the mlp modules" in action.because
    (alone,) = module_actions({"gradients": audit["gradients"]})
    assert "ΔW" not in alone.because


def test_observational_report_names_the_parts_by_sibling_and_the_base_nll_as_nll(tmp_path):
    run_dir = build_run_folder(tmp_path / "run")
    difference = {"delta": -0.008, "ci_low": -0.035, "ci_high": 0.019, "p_value": 0.52, "n": 26, "n_families": 18}

    def observational(audit):
        audit["protocol"] = "observational"
        audit["comparability"] = {"base": {"nll": {"seen": 6.02, "unseen": 6.03, "difference": difference}},
                                  "differing_metrics": [], "sentence": "The parts look comparable."}
    _edit_audit(run_dir, observational)
    markdown = render_report(run_dir)["md"].read_text(encoding="utf-8")
    lifts = markdown[markdown.index("## Lifts"):markdown.index("## ", markdown.index("## Lifts") + 3)]
    assert "with a training sibling" in lifts and "without a training sibling" in lifts
    assert "seen families" not in lifts and "unseen families" not in lifts
    comparability = markdown[markdown.index("## Comparability"):]
    row = next(line for line in comparability.splitlines() if "6.02" in line)
    assert row.startswith("| NLL |") and "reduction" not in row
    examples = markdown[markdown.index("## Examples"):]
    assert "### With a training sibling" in examples and "### Seen families" not in examples


def test_observational_power_action_speaks_of_families_without_a_sibling():
    from memgap.report.actions import power_actions

    audit = {"verdict": {"label": "inconclusive", "primary_metric": "score"}, "power": {"score": {"families_needed": 125}},
             "lifts": {"score": {"unseen": {"n_families": 4}}}}
    assert "unseen families" in power_actions(audit)[0].title
    (action,) = power_actions({**audit, "protocol": "observational"})
    assert "without a training sibling" in action.title and "unseen" not in action.title + action.because
