"""An adapter that changes nothing (B = 0, as PEFT initialises it) is one line, never a `no-lift` verdict."""
from __future__ import annotations

import json

import pytest
import torch

from memgap.cli import main
from memgap.data.io import records_to_rows, write_jsonl
from memgap.probes.noop import find_noop
from memgap.splits import nested_split, write_split
from tiny_models import save_tiny_model, tiny_model, tiny_records, tiny_tokenizer


def _fresh_lora(seed: int = 0):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    return get_peft_model(tiny_model("llama"), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))


def _probe_ids():
    tokenizer = tiny_tokenizer()
    return [tokenizer("Which box is red? The red box is number 0.")["input_ids"]] * 2


def test_a_freshly_initialised_adapter_is_a_zero_update():
    finding = find_noop(_fresh_lora(), _probe_ids())
    assert finding is not None and finding.reason == "zero-update"


def test_nonzero_b_with_zero_a_still_leaves_the_logits_unchanged():
    model = _fresh_lora()
    for name, parameter in model.named_parameters():
        with torch.no_grad():
            if "lora_B" in name:
                parameter.normal_()
            elif "lora_A" in name:
                parameter.zero_()
    finding = find_noop(model, _probe_ids())
    assert finding is not None and finding.reason == "unchanged-logits"


def test_an_adapter_with_an_update_passes():
    model = _fresh_lora()
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            with torch.no_grad():
                parameter.normal_(std=0.1)
    assert find_noop(model, _probe_ids()) is None


@pytest.fixture(scope="module")
def noop_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noop")
    model_dir = save_tiny_model(folder / "model")
    adapter = folder / "adapter"
    _fresh_lora().save_pretrained(adapter)
    records = tiny_records(24, families=6)
    write_split(nested_split(records, unseen_fraction=0.34, seed=0), folder / "split")
    write_jsonl(folder / "data.jsonl", records_to_rows(records))
    return model_dir, adapter, folder / "split"


def test_memgap_audit_of_a_noop_adapter_is_one_line_and_exit_2(noop_inputs, tmp_path, capsys):
    model_dir, adapter, split = noop_inputs
    out = tmp_path / "audit"
    with pytest.raises(SystemExit) as caught:
        main(["audit", "--model", str(model_dir), "--adapter", str(adapter), "--split", str(split), "--out", str(out),
              "--no-progress"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "changes nothing" in lines[0] and "--allow-noop" in lines[0]
    assert not out.exists()  # refused before the audit folder is created


def test_allow_noop_audits_it_with_a_warning_in_audit_json(noop_inputs, tmp_path, capsys):
    model_dir, adapter, split = noop_inputs
    out = tmp_path / "audit"
    code = main(["audit", "--model", str(model_dir), "--adapter", str(adapter), "--split", str(split), "--out", str(out),
                 "--no-progress", "--allow-noop", "--config", str(_small_config(tmp_path))])
    assert code in (0, None)
    audit = json.loads((out / "audit.json").read_text())
    assert any("changes nothing" in warning for warning in audit["warnings"])
    # The probes of #26 ran on the audited adapter: an unchanged model intrudes no more than its base.
    intrusion = audit["probes"]["template_intrusion"]
    assert intrusion["n_prompts"] == 2 and intrusion["adapter_minus_base"]["delta"] == 0.0
    assert intrusion["generic_nll"]["adapter_minus_base"] == 0.0 and intrusion["seconds"] > 0
    assert audit["probes"]["set_level_membership"]["detectable_families"] == []
    low = audit["probes"]["membership"]["low_fpr"]["by_score"]["ez"]
    assert low["tpr_at_0_1pct_fpr"]["value"] is None and "FPR resolution" in low["tpr_at_0_1pct_fpr"]["note"]
    report = (out / "report.md").read_text()
    assert "Set-level membership" in report and "Template intrusion" in report and "TPR at 0.1 % FPR" in report
    assert (out / "report_files" / "membership_low_fpr.png").exists()
    assert "changes nothing" in capsys.readouterr().out


def _small_config(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("model:\n  max_length: 64\nevaluation:\n  max_new_tokens: 4\n  scorer: token-f1\n"
                    "stats:\n  n_resamples: 100\nprobes:\n  off_task_prompts: 2\n  off_task_max_new_tokens: 4\n")
    return path
