"""LoRA supervised fine-tuning with PEFT and the transformers Trainer, resumable and seeded.

Examples are tokenized by `memgap.encoding.encode`, the same path NLL scoring and generation use, so
the loss covers completion tokens only and the prompt/completion boundary is identical everywhere.
Checkpoints go to `output_dir/checkpoints` and are removed once the final adapter is written.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from memgap.atomic import write_text_atomic
from memgap.config import LoraConfig, TrainingConfig
from memgap.data.records import Record
from memgap.encoding import IGNORE_INDEX, EncodedExample, encode_all, overlong_error, require_some_completion
from memgap.errors import MemgapError
from memgap.training.architectures import check_lora_targets, default_lora_targets
from memgap.training.checkpoints import last_complete_checkpoint
from memgap.training.schedule import schedule_warnings
from memgap.training.precision import Hardware, Resolved, resolve_adapter_dtype, resolve_training_precision
from memgap.training.updates import realised_updates, write_updates_csv

log = logging.getLogger(__name__)

RESULT_FACTS = (
    "steps", "epochs", "seconds", "tokens_per_s", "truncated_rows", "trainable_parameters", "lora_targets", "precision",
    "precision_reason", "adapter_dtype", "stopping",
)


@dataclass
class TrainResult:
    """The trained PeftModel and the facts of the run that audit.json records."""

    model: Any
    log_history: list[dict[str, Any]]
    steps: int
    seconds: float
    tokens_per_s: float
    truncated_rows: int
    trainable_parameters: int
    lora_targets: list[str]
    epochs: float = 0.0
    precision: str = "fp32"  # fp32, bf16 or fp16 (autocast): what training ran in
    precision_reason: str = "recorded before the reason was"  # why (auto: this CPU has AVX512_BF16, ...)
    adapter_dtype: str = "fp32"  # the dtype the LoRA weights were saved in
    # under training.stop_at: the step trained to, of how many, the step restored and why (FamilyGapCallback.stopping)
    stopping: dict[str, Any] | None = None

    def facts(self) -> dict[str, Any]:
        """Everything but the model and the log, as saved in train_result.json."""
        return {key: getattr(self, key) for key in RESULT_FACTS}

    @property
    def train_losses(self) -> list[float]:
        return [entry["loss"] for entry in self.log_history if "loss" in entry]


class NonFiniteLossCallback(TrainerCallback):
    """Stop with a MemgapError naming the step when the training loss turns NaN or infinite.

    Needs `logging_steps=1` and `logging_nan_inf_filter=False`, or the Trainer averages the bad loss away.
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise MemgapError(
                f"training loss became {loss} at step {state.global_step}; lower training.learning_rate "
                "or training.max_grad_norm, or check the data"
            )


class EncodedDataset:
    """Token ids and completion-only labels for the Trainer (a map-style dataset)."""

    def __init__(self, examples):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        example = self.examples[index]
        return {"input_ids": example.input_ids, "attention_mask": [1] * len(example.input_ids), "labels": example.labels}


class QuietProgressCallback(ProgressCallback):
    """The Trainer's progress bar without the raw log dict it writes under the bar at every step.

    The losses still reach training/log_history.json; here they go to the debug log (`memgap -v`/`--debug`).
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            log.debug("step %d: %s", state.global_step, logs)


def lora_targets(model, lora: LoraConfig) -> list[str]:
    """The configured targets, checked against the model, or the family's default projections."""
    if lora.target_modules:
        check_lora_targets(model, list(lora.target_modules))
        return list(lora.target_modules)
    return default_lora_targets(model)


def train_lora(
    loaded,
    train_records: Sequence[Record],
    *,
    lora: LoraConfig,
    training: TrainingConfig,
    max_length: int,
    output_dir: Path,
    seed: int,
    resume: bool = True,
    callbacks=(),
    progress: bool = True,
    examples: Sequence[EncodedExample] | None = None,
    precision: Resolved | None = None,
) -> TrainResult:
    """Train a LoRA adapter on the records, recording per-module gradient norms.

    Raises MemgapError naming the rows whose final assistant turn `max_length` cuts off entirely.
    `examples` are the records already encoded at `max_length` (the pipeline encodes them once,
    before evaluating the base model); without them the records are encoded here, learning the
    assistant turns `training.assistant_turns` names (all of them, as TRL's assistant-only loss, or
    the last).

    Writes output_dir/adapter (safetensors), gradnorms.csv (unless `callbacks` bring their own
    GradNormCallback), updates.csv, log_history.json and train_result.json. A `FamilyGapCallback`
    among `callbacks` writes family_gap.csv where its `path` says. `precision`: the resolved
    `training.precision` (memgap.training.precision; resolved here from `training` when None). The
    adapter is saved in `training.adapter_dtype`, and updates.csv measures the weights as saved.
    """
    import peft
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, set_seed

    from memgap.training.curves_callback import FamilyGapCallback
    from memgap.training.gradnorm import GradNormCallback

    if not train_records:
        raise MemgapError("no training records")
    output_dir = Path(output_dir)
    checkpoints = output_dir / "checkpoints"
    set_seed(seed)

    if examples is None:
        examples = encode_all(loaded.tokenizer, train_records, max_length, assistant_turns=training.assistant_turns)
    cut_off = [example for example in examples if example.completion_cut_off]
    if cut_off:  # never dropped silently: the audit drops them up front only when asked to
        raise overlong_error([e.record_id for e in cut_off], max_length, max(e.full_length for e in cut_off))
    truncated = sum(1 for example in examples if example.truncated)
    if truncated:
        log.warning("%d of %d training rows are longer than max_length=%d tokens and are truncated", truncated, len(examples), max_length)
    require_some_completion(examples, max_length)
    for warning in schedule_warnings(len(examples), training, world_size=int(os.environ.get("WORLD_SIZE", "1"))):
        log.warning(warning)

    targets = lora_targets(loaded.model, lora)
    peft_config = peft.LoraConfig(
        task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets
    )
    if precision is None:  # `memgap train` and users' scripts; `memgap run` resolves it once, up front
        precision = resolve_training_precision(training.precision, Hardware.detect(loaded.model.device.type))
        log.info("training precision: %s (%s)", precision.value, precision.reason)
    adapter_dtype = resolve_adapter_dtype(training.adapter_dtype)
    model = peft.get_peft_model(loaded.model, peft_config)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    trainer = Trainer(
        model=model,
        args=_training_arguments(training, checkpoints, seed, progress, precision=precision.value,
                                 use_cpu=model.device.type == "cpu"),
        train_dataset=EncodedDataset(examples),
        data_collator=DataCollatorForSeq2Seq(_right_padding(loaded.tokenizer), label_pad_token_id=IGNORE_INDEX, padding=True),
    )
    if progress:  # the stock progress bar also prints every log dict; keep the bar, send the logs to logging
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(QuietProgressCallback())
    else:
        trainer.remove_callback(PrinterCallback)  # with tqdm off the Trainer would print every log instead
    trainer.add_callback(NonFiniteLossCallback())
    callbacks = list(callbacks)
    if not any(isinstance(callback, GradNormCallback) for callback in callbacks):
        callbacks.append(GradNormCallback(path=output_dir / "gradnorms.csv", every_n_steps=training.gradnorm_every_steps))
    for callback in callbacks:
        if isinstance(callback, (GradNormCallback, FamilyGapCallback)) and callback.trainer is None:
            callback.trainer = trainer
        trainer.add_callback(callback)

    last = last_complete_checkpoint(checkpoints) if resume else None
    if last:
        log.info("resuming training from %s", last)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    seconds = time.perf_counter() - started

    history = _whole_run_train_loss(list(trainer.state.log_history))
    model.eval()
    result = TrainResult(
        model=model,
        log_history=history,
        steps=trainer.state.global_step,
        seconds=seconds,
        tokens_per_s=_tokens_per_second(history, trainer.state.num_input_tokens_seen, seconds),
        truncated_rows=truncated,
        trainable_parameters=trainable,
        lora_targets=targets,
        epochs=float(trainer.state.epoch or 0.0),
        precision=precision.value,
        precision_reason=precision.reason,
        adapter_dtype=adapter_dtype.value,
        # a FamilyGapCallback under a stopping rule restored its best point's weights as training ended
        stopping=next((callback.stopping for callback in callbacks
                       if isinstance(callback, FamilyGapCallback) and callback.stopping), None),
    )
    _cast_lora_weights(model, adapter_dtype.torch_dtype)
    if trainer.is_world_process_zero():
        model.save_pretrained(output_dir / "adapter", safe_serialization=True, save_embedding_layers=False)
        write_updates_csv(output_dir / "updates.csv", realised_updates(model))
        write_text_atomic(output_dir / "log_history.json", json.dumps(history, indent=1))
        write_text_atomic(output_dir / "train_result.json", json.dumps(result.facts(), indent=1))
        if not training.keep_checkpoints:  # kept: `memgap audit --training-dir` scores them (memgap.checkpoint_curves)
            shutil.rmtree(checkpoints, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return result


def load_trained(loaded, output_dir: Path) -> TrainResult:
    """The result of a finished `train_lora` run, read back from output_dir (adapter, log, facts).

    The adapter is loaded onto `loaded.model` the way `memgap audit` loads any adapter
    (`memgap.adapters.load_adapter`), so what is evaluated is what was saved.
    """
    from memgap.adapters import load_adapter, read_adapter_folder

    output_dir = Path(output_dir)
    adapter = output_dir / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise MemgapError("no trained adapter here (adapter/adapter_config.json is missing)", where=str(output_dir))
    model = load_adapter(loaded.model, read_adapter_folder(adapter))
    history = json.loads((output_dir / "log_history.json").read_text(encoding="utf-8"))
    facts = json.loads((output_dir / "train_result.json").read_text(encoding="utf-8"))
    # Runs saved before `precision` was recorded trained in float32.
    return TrainResult(model=model, log_history=history, **{key: facts[key] for key in RESULT_FACTS if key in facts})


def reload_as_saved(result: TrainResult, output_dir: Path) -> TrainResult:
    """`result` with its model replaced by the saved adapter loaded back onto the same base.

    After training, the in-memory model is not what `memgap audit` of the saved adapter evaluates:
    accelerate wraps its forward in the training autocast (bf16 products on a CPU or GPU that has
    them), and a non-float32 `training.adapter_dtype` rounds the saved weights. Removing the LoRA
    layers (no merge: the base weights are untouched) and loading the saved folder with the audit's
    own loader makes `memgap run`'s adapter figures those of `memgap audit`, bit for bit.
    """
    import dataclasses

    from memgap.adapters import load_adapter, read_adapter_folder

    base = result.model.unload()
    return dataclasses.replace(result, model=load_adapter(base, read_adapter_folder(Path(output_dir) / "adapter")))


def _cast_lora_weights(model, dtype_name: str) -> None:
    """Cast the trainable (LoRA) weights to `dtype_name` in place, as they are saved; a no-op for float32."""
    import torch

    dtype = getattr(torch, dtype_name)
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != dtype:
            parameter.data = parameter.data.to(dtype)


def _whole_run_train_loss(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make the closing `train_loss` the mean over every step, also after a resume.

    The Trainer averages only the steps run since the last start, so a resumed run would report a
    different figure than an uninterrupted one; with one log entry per step the mean of the step
    losses is the uninterrupted figure.
    """
    step_losses = [entry["loss"] for entry in history if "loss" in entry and "train_loss" not in entry]
    if step_losses and history and "train_loss" in history[-1]:
        history[-1] = {**history[-1], "train_loss": sum(step_losses) / len(step_losses)}
    return history


def _training_arguments(training: TrainingConfig, checkpoints: Path, seed: int, progress: bool, *, precision: str,
                        use_cpu: bool):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=training.epochs,
        max_steps=training.max_steps,
        per_device_train_batch_size=training.batch_size,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        learning_rate=training.learning_rate,
        warmup_steps=training.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=training.weight_decay,
        max_grad_norm=training.max_grad_norm,
        lr_scheduler_type="linear",
        logging_steps=1,  # one loss per step: the loss curve, and NaN caught at its step
        logging_nan_inf_filter=False,
        save_strategy="steps",
        save_steps=training.save_steps,
        report_to="none",
        seed=seed,
        data_seed=seed,
        disable_tqdm=not progress,
        use_cpu=use_cpu,  # train where model.device put the weights
        bf16=precision == "bf16",  # autocast (accelerate's torch.autocast on CPU too); weights stay float32
        fp16=precision == "fp16",  # autocast with loss scaling, CUDA only (memgap.training.precision refuses it elsewhere)
        # Random batches, not the Trainer's "group_by_length": its sampler draws from the global torch
        # RNG, so a run resumed from a checkpoint trains on other batches than an uninterrupted one
        # (tests/test_kill_resume.py); length grouping would save 5 % of positions on the default audit.
        train_sampling_strategy="random",
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )


def _right_padding(tokenizer):
    """A copy of the tokenizer that pads on the right (training), leaving the caller's (generation) alone."""
    import copy

    if getattr(tokenizer, "padding_side", "right") == "right":
        return tokenizer
    padded = copy.deepcopy(tokenizer)
    padded.padding_side = "right"
    return padded


def _tokens_per_second(history: list[dict[str, Any]], tokens_seen: int, seconds: float) -> float:
    # After a resume the Trainer's token count covers the whole run but `seconds` only this session;
    # the final train summary's own throughput is the consistent figure when present.
    for entry in reversed(history):
        if "train_tokens_per_second" in entry:
            return float(entry["train_tokens_per_second"])
    return tokens_seen / seconds if seconds > 0 else 0.0
