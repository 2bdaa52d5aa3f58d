"""Does the adapter change anything? Checked once it loads, before any evaluation.

An untrained adapter (PEFT initialises every lora_B to zero, so its update B·A is zero) or one saved
wrongly would otherwise go through the whole audit and come out `no-lift`, as if it had been trained
and measured. Two checks: every LoRA B matrix zero (the update is exactly zero), then the logits of
a small probe batch with the adapter on and off (PEFT's `disable_adapter()`): identical logits mean
no change anywhere the batch reaches, whatever the adapter holds (e.g. modules_to_save copies).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from memgap.errors import MemgapError

# LoRA's B factors (linear and embedding layers), as PEFT names them.
B_PARAMETER_MARKERS = ("lora_B", "lora_embedding_B")
# Logits are compared exactly up to this fraction of their largest magnitude: with B = 0 the LoRA
# branch adds an exact zero, so the two passes agree bit for bit; a trained adapter moves them far more.
RELATIVE_LOGIT_TOLERANCE = 1e-6
PROBE_ROWS = 4


@dataclass(frozen=True)
class NoopFinding:
    """Why an adapter changes nothing: a reason code and the one line a user reads."""

    reason: str  # zero-update | unchanged-logits
    message: str


def lora_b_norms(model) -> dict[str, float]:
    """Frobenius norm of every LoRA B matrix of a PEFT model, by parameter name (empty without LoRA layers)."""
    return {name: float(parameter.detach().float().norm()) for name, parameter in model.named_parameters()
            if any(marker in name for marker in B_PARAMETER_MARKERS)}


def max_logit_change(model, input_ids, attention_mask=None) -> tuple[float, float]:
    """(max |logit(adapter) - logit(base)|, max |logit(base)|) over a batch; `model` is a PeftModel.

    input_ids: (batch, tokens) long tensor; attention_mask: the same shape or None.
    """
    import torch

    with torch.no_grad():
        adapted = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        with model.disable_adapter():
            base = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
    return float((adapted - base).abs().max()), float(base.abs().max())


def find_noop(model, probe_ids: Sequence[Sequence[int]] = ()) -> NoopFinding | None:
    """A `NoopFinding` when the adapter on `model` (a PeftModel) changes nothing, else None.

    probe_ids: token ids of a few rows (at most `PROBE_ROWS` are used) whose logits are compared with
    the adapter on and off; without them only the zero-update check runs.
    Method: LoRA's update is B·A scaled (Hu et al. 2021, "LoRA"); PEFT initialises B to zero, so an
    adapter saved before any optimizer step has an exactly zero update.
    """
    norms = lora_b_norms(model)
    if norms and all(norm == 0.0 for norm in norms.values()):
        return NoopFinding("zero-update", f"the adapter changes nothing: all {len(norms)} LoRA B matrices are zero "
                                          "(an untrained adapter, or one saved before training)")
    rows = [list(ids) for ids in probe_ids if len(ids)][:PROBE_ROWS]
    if not rows or not hasattr(model, "disable_adapter"):
        return None
    import torch

    width = max(len(ids) for ids in rows)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for index, ids in enumerate(rows):
        input_ids[index, : len(ids)] = torch.tensor(ids)
        attention[index, : len(ids)] = 1
    change, scale = max_logit_change(model, input_ids.to(model.device), attention.to(model.device))
    if change <= RELATIVE_LOGIT_TOLERANCE * max(scale, 1.0):
        return NoopFinding("unchanged-logits", f"the adapter changes nothing: the logits of {len(rows)} probe rows are "
                                               f"the same with and without it (largest change {change:.1e})")
    return None


def check_adapter_changes_something(model, probe_ids: Sequence[Sequence[int]] = (), *, allow_noop: bool = False,
                                    where: str | None = None) -> str | None:
    """Refuse an adapter that changes nothing (MemgapError, exit 2), or with `allow_noop` return the warning.

    Returns None when the adapter changes the model. The message says how to go on: check that the
    adapter was trained and saved after training, or pass --allow-noop (probes.allow_noop: true).
    """
    finding = find_noop(model, probe_ids)
    if finding is None:
        return None
    if not allow_noop:
        raise MemgapError(f"{finding.message}; nothing to audit. Check that training ran and saved this adapter, "
                          "or pass --allow-noop to audit it anyway", where=where)
    return f"{finding.message} (audited anyway: --allow-noop); every lift below is that of an unchanged model"


def probe_token_ids(tokenizer, records, max_length: int, count: int = PROBE_ROWS) -> list[list[int]]:
    """Token ids of the first `count` records as the audit renders them (prompt and reference), for `find_noop`."""
    from memgap.encoding import encode

    return [encode(tokenizer, record, max_length, assistant_turns="last").input_ids for record in list(records)[:count]]
