"""gradient_summary: shares of squared gradient norm, layer bands, early vs late, and the sentence."""
import csv

import pytest

from memgap.training.pressure import gradient_summary


def _rows(n_steps=9, n_layers=6):
    """Attention dominates early in training, then MLP down_proj in the late layers takes over."""
    rows = []
    for step in range(1, n_steps + 1):
        late_training = step > n_steps // 2
        for layer in range(n_layers):
            for module, group in [("self_attn.q_proj", "attention"), ("mlp.down_proj", "mlp"), ("mlp.up_proj", "mlp")]:
                norm = 0.1
                if group == "attention" and not late_training:
                    norm = 1.0
                if module == "mlp.down_proj" and late_training and layer >= 4:
                    norm = 3.0
                for matrix in "AB":
                    rows.append({"step": step, "layer": layer, "module": module, "group": group, "matrix": matrix, "norm": norm})
    return rows


def test_shares_add_up_and_follow_the_squared_norms():
    rows = _rows()
    summary = gradient_summary(rows, n_layers=6)
    total = sum(r["norm"] ** 2 for r in rows)
    mlp = sum(r["norm"] ** 2 for r in rows if r["group"] == "mlp")
    assert summary["by_group"]["mlp"] == pytest.approx(mlp / total)
    assert sum(summary["by_group"].values()) == pytest.approx(1.0)
    assert sum(summary["by_module"].values()) == pytest.approx(1.0)
    assert set(summary["by_module"]) == {"q_proj", "down_proj", "up_proj"}
    assert sum(band["share"] for band in summary["by_layer_band"].values()) == pytest.approx(1.0)
    assert summary["by_layer_band"]["late"]["layers"] == [4, 5]
    assert summary["over_training"]["early"]["by_group"]["attention"] > 0.9
    assert summary["over_training"]["late"]["by_group"]["mlp"] > 0.9
    assert summary["steps_recorded"] == 9


def test_sentence_names_group_module_band_and_shift():
    summary = gradient_summary(_rows(), n_layers=6)
    sentence = summary["sentence"]
    share = round(100 * summary["by_group"]["mlp"])
    assert sentence.startswith(f"Training pressure concentrated in the MLP ({share} % of squared gradient norm)")
    assert "mostly down_proj in the late layers" in sentence
    assert "shifted from attention to the MLP over training" in sentence


def test_reads_the_csv_and_keeps_gpt2_c_proj_apart(tmp_path):
    path = tmp_path / "gradnorms.csv"
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["step", "layer", "module", "group", "matrix", "norm"])
        for step in (1, 2, 3):
            writer.writerow([step, 0, "attn.c_proj", "attention", "A", 1.0])
            writer.writerow([step, 0, "mlp.c_proj", "mlp", "A", 1.0])
            writer.writerow([step, 1, "attn.c_attn", "attention", "B", 1.0])
    summary = gradient_summary(path, n_layers=2)
    assert summary["by_module"] == pytest.approx({"attn.c_proj": 1 / 3, "mlp.c_proj": 1 / 3, "c_attn": 1 / 3})
    assert "split between" not in summary["sentence"]  # attention holds 2/3
    assert "balance held steady" in summary["sentence"]


def test_balanced_pressure_is_called_split_and_empty_input_is_handled():
    rows = [{"step": s, "layer": 0, "module": m, "group": g, "matrix": "A", "norm": 1.0}
            for s in (1, 2, 3) for m, g in [("self_attn.q_proj", "attention"), ("mlp.up_proj", "mlp")]]
    assert gradient_summary(rows, n_layers=1)["sentence"].startswith("Training pressure was split between")
    assert gradient_summary([], n_layers=4)["steps_recorded"] == 0
