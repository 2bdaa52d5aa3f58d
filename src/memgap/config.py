"""The audit's settings: one dataclass tree, loaded from YAML and validated once at the start.

Nothing deeper in the code reads raw dicts; every stage takes its own section. A bad key or value is
reported with its dotted path (`training.learning_rate`) and the file it came from.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgap.errors import MemgapError


@dataclass
class DataConfig:
    path: str | None = None  # None: the bundled Tenacious data set
    family_field: str = "family"
    infer_families: bool = False  # infer near-duplicate families instead of reading family_field
    system_turn: str = "keep"  # keep | fold: fold a leading system turn into the first user turn (templates that refuse system turns)
    overlong_rows: str = "error"  # error | drop: rows whose final assistant turn model.max_length cuts off entirely


MODEL_DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # training.precision, training.adapter_dtype, evaluation.precision
MODEL_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class ModelConfig:
    name: str | None = None  # None: the embedded SmolLM2-135M-Instruct GGUF; else a local folder or a hub id
    trust_remote_code: bool = False
    max_length: int = 768  # tokens per training or scoring example; longer rows are truncated (and counted)
    device: str = "auto"  # auto (CUDA when present, spread over several GPUs by accelerate's device map), cpu, cuda, mps
    dtype: str = "auto"  # the weights' dtype: auto (bfloat16 on a CUDA GPU that has it, else float32), float32, bfloat16, float16
    load_in_4bit: bool = False  # a 4-bit NF4 base (bitsandbytes, CUDA only) for a QLoRA adapter


@dataclass
class SplitConfig:
    unseen_holdout_fraction: float = 0.3  # share of families held out whole
    seen_holdout_per_family: int = 1  # members held out from each training family with >= 2 members
    max_train_rows: int | None = None  # cap after splitting, sampled per family round-robin (time budget)
    max_holdout_items: int | None = None  # cap per hold-out, at most one item per family first


@dataclass
class LoraConfig:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] | None = None  # None: every q/k/v/o/gate/up/down projection present


@dataclass
class TrainingConfig:
    epochs: float = 2.0
    learning_rate: float = 1e-3
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_steps: int = -1
    gradnorm_every_steps: int = 1
    save_steps: int = 10  # checkpoints, so an interrupted run resumes
    assistant_turns: str = "all"  # all (TRL's assistant-only loss: every assistant turn) | last (the final turn only)
    # Seen/unseen-family NLL at this many evenly spaced steps plus step 0 (0: off). In `memgap run` the first
    # and last points come from the base and adapter evaluations; the sizes keep the points in between
    # within 15 % of the default audit's training time (benchmarks/results/curves.md).
    curve_points: int = 4
    curve_holdout_items: int = 6  # items per hold-out scored at each curve point, spread over families
    # training rows scored at each curve point; 0: the report draws the Trainer's per-batch loss instead
    curve_train_items: int = 0
    # When to stop (memgap.training.stopping, docs/curves.md): end (train to the last step), best-unseen (stop
    # once the unseen-family loss has not improved for stop_patience curve points) or onset (once the gap is
    # confirmed); with either rule the adapter saved is the curve point's with the lowest unseen-family loss
    stop_at: str = "end"
    stop_patience: int = 2
    # keep training/checkpoints (a checkpoint-N adapter every save_steps) after training, for the post-hoc
    # curves of `memgap audit --training-dir` (memgap.checkpoint_curves); removed by default
    keep_checkpoints: bool = False
    # autocast during training: auto (bf16 where the CPU/GPU has native bfloat16, fp16 on a GPU without it,
    # else fp32), fp32, bf16 or fp16 (CUDA only); resolved once and recorded with its reason (memgap.training.precision)
    precision: str = "auto"
    adapter_dtype: str = "auto"  # the saved LoRA weights' dtype: auto (float32, as PEFT trains them), fp32, bf16, fp16


@dataclass
class EvaluationConfig:
    scorer: str = "auto"  # auto: the data's domain scorer (tenacious) or token-f1
    max_new_tokens: int = 192
    generation_batch_size: int = 32  # the default audit's 32 prompts in one batch: 0.79 of the time of 16 + 16 (docs/performance.md)
    nll_batch_size: int = 8
    membership_train_rows: int = 48  # training rows scored for the membership probe
    # reference NLL, generation and membership: auto (the weights' own dtype, no autocast), fp32, bf16 or fp16
    # (autocast over float32 weights); independent of training.precision, so figures do not move with it
    precision: str = "auto"


@dataclass
class StatsConfig:
    n_resamples: int = 10_000
    alpha: float = 0.05


@dataclass
class ProbesConfig:
    verbatim_span_tokens: int = 8
    examples_per_holdout: int = 3
    allow_noop: bool = False  # audit an adapter that changes nothing (zero update) with a warning instead of refusing it
    off_task: bool = True  # template intrusion: off-task prompts generated with both models (memgap.probes.intrusion)
    off_task_file: str | None = None  # the user's own off-task prompts (JSONL with `prompt`, or one per line); None: bundled
    off_task_prompts: int | None = None  # how many off-task prompts to use (None: all)
    off_task_max_new_tokens: int = 48


@dataclass
class VerdictConfig:
    primary_metric: str = "score"  # the metric the label is decided on: score or nll
    alpha: float = 0.05
    min_generalization_ratio: float = 0.5  # unseen lift / seen lift at or above: style carried over
    max_copy_rate_excess: float = 0.10  # adapter minus base sibling-copy rate above: copying


@dataclass
class AuditConfig:
    seed: int = 0
    seeds: list[int] | None = None  # several seeds: repeat split, training and evaluation, pool
    out: str = "memgap-audit"
    quick: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    verdict: VerdictConfig = field(default_factory=VerdictConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Sizes for `--quick` (any data), and for the default run on the bundled data set, chosen so that the
# audit on the embedded model fits within 5 and 15 minutes on a 2-core CPU (figures in the README).
# A user's own data set is never capped unless they set these keys.
QUICK_OVERRIDES: dict[str, Any] = {
    "split.max_train_rows": 16,
    "split.max_holdout_items": 10,
    "training.epochs": 1.0,
    "training.learning_rate": 2e-3,  # four optimizer steps: a larger step so they move the adapter
    "evaluation.max_new_tokens": 128,
    "evaluation.membership_train_rows": 8,
    "stats.n_resamples": 2000,
    "training.curve_points": 2,  # four optimizer steps: the curves at steps 0, 2 and 4, on small samples
    "training.curve_holdout_items": 4,
    "probes.off_task_prompts": 12,  # template intrusion on a third of the bundled prompts
}
BUNDLED_DATA_OVERRIDES: dict[str, Any] = {
    "split.max_train_rows": 72,
    "split.max_holdout_items": 16,
    "training.epochs": 1.5,
    "evaluation.max_new_tokens": 160,
    "evaluation.membership_train_rows": 16,
}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Build the config from defaults, a YAML file, then dotted-key overrides (CLI flags), validating each."""
    import yaml

    config = AuditConfig()
    source = "defaults"
    raw: dict[str, Any] = {}
    if path is not None:
        source = str(path)
        file = Path(path)
        if not file.is_file():
            raise MemgapError("no such config file", where=source)
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark else source
            raise MemgapError(f"unparsable YAML ({getattr(error, 'problem', error)})", where=where) from None
        if not isinstance(raw, dict):
            raise MemgapError("expected a mapping of settings at the top level", where=source)
    overrides = dict(overrides or {})
    quick = overrides.get("quick") or raw.get("quick", False)
    flat = _flatten(raw)
    bundled_data = overrides.get("data.path") is None and flat.get("data.path") is None
    size = QUICK_OVERRIDES if quick is True else BUNDLED_DATA_OVERRIDES if bundled_data else {}
    for key, value in size.items():
        if key not in flat and key not in overrides:
            _assign(config, key, value, "preset")
    for key, value in flat.items():
        _assign(config, key, value, source)
    for key, value in overrides.items():
        if value is not None:
            _assign(config, key, value, "command line")
    _validate(config, source)
    return config


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        section = _SECTIONS.get(dotted)
        if section is not None and isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


_SECTIONS: dict[str, type] = {
    "data": DataConfig, "model": ModelConfig, "split": SplitConfig, "lora": LoraConfig,
    "training": TrainingConfig, "evaluation": EvaluationConfig, "stats": StatsConfig,
    "probes": ProbesConfig, "verdict": VerdictConfig,
}


def _assign(config: AuditConfig, dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    target: Any = config
    cls: Any = AuditConfig
    for depth, part in enumerate(parts):
        known = _fields(cls)
        if part not in known:
            close = difflib.get_close_matches(part, list(known), n=1)
            hint = f" (did you mean '{'.'.join([*parts[:depth], close[0]])}'?)" if close else ""
            raise MemgapError(f"unknown setting '{dotted}'{hint}", where=source)
        if depth < len(parts) - 1:
            if part not in _SECTIONS:
                raise MemgapError(f"'{'.'.join(parts[:depth + 1])}' is a value, not a section", where=source)
            target, cls = getattr(target, part), _SECTIONS[part]
        else:
            if part in _SECTIONS and depth == 0:
                raise MemgapError(f"'{dotted}' is a section; give its settings as a mapping", where=source)
            hints = typing.get_type_hints(cls)
            setattr(target, part, _coerce(value, hints[part], dotted, source))


def _coerce(value: Any, annotation: Any, dotted: str, source: str) -> Any:
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else (annotation,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is type(None):
            continue
        origin = typing.get_origin(option)
        if origin is list:
            (item_type,) = typing.get_args(option)
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, list):
                try:
                    return [item_type(item) if not isinstance(item, item_type) else item for item in items]
                except (TypeError, ValueError):
                    continue
            continue
        if option is bool:
            if isinstance(value, bool):
                return value
            continue
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option in (int, float) and isinstance(value, str):
            try:
                return option(value)
            except ValueError:
                continue
    expected = " or ".join("null" if o is type(None) else getattr(o, "__name__", str(o)) for o in options)
    raise MemgapError(f"'{dotted}' must be {expected}, got {value!r}", where=source)


def _validate(config: AuditConfig, source: str) -> None:
    checks = [
        (0.0 < config.split.unseen_holdout_fraction < 1.0, "split.unseen_holdout_fraction", "must lie strictly between 0 and 1"),
        (config.split.seen_holdout_per_family >= 1, "split.seen_holdout_per_family", "must be at least 1"),
        (config.split.max_train_rows is None or config.split.max_train_rows >= 1, "split.max_train_rows", "must be at least 1"),
        (config.split.max_holdout_items is None or config.split.max_holdout_items >= 2, "split.max_holdout_items", "must be at least 2"),
        (config.split.max_train_rows is None or config.split.max_holdout_items is None
         or config.split.max_holdout_items <= config.split.max_train_rows, "split.max_holdout_items",
         "must not exceed split.max_train_rows (each seen hold-out family needs a training sibling)"),
        (config.lora.r >= 1, "lora.r", "must be at least 1"),
        (config.lora.alpha > 0, "lora.alpha", "must be positive"),
        (0.0 <= config.lora.dropout < 1.0, "lora.dropout", "must lie in [0, 1)"),
        (config.training.epochs > 0, "training.epochs", "must be positive"),
        (config.training.learning_rate > 0, "training.learning_rate", "must be positive"),
        (config.training.batch_size >= 1, "training.batch_size", "must be at least 1"),
        (config.training.gradient_accumulation_steps >= 1, "training.gradient_accumulation_steps", "must be at least 1"),
        (config.training.max_grad_norm >= 0, "training.max_grad_norm", "must be 0 (off) or positive"),
        (config.training.gradnorm_every_steps >= 1, "training.gradnorm_every_steps", "must be at least 1"),
        (config.training.curve_points >= 0, "training.curve_points", "must be 0 (off) or positive"),
        (config.training.curve_holdout_items >= 2, "training.curve_holdout_items", "must be at least 2"),
        (config.training.curve_train_items >= 0, "training.curve_train_items", "must be 0 (no training curve) or positive"),
        (config.training.save_steps >= 1, "training.save_steps", "must be at least 1"),
        (config.training.stop_at in ("end", "best-unseen", "onset"), "training.stop_at",
         "must be 'end', 'best-unseen' or 'onset'"),
        (config.training.stop_patience >= 1, "training.stop_patience", "must be at least 1 (curve points)"),
        (config.training.stop_at == "end" or config.training.curve_points >= 2, "training.curve_points",
         "must be at least 2 with training.stop_at other than 'end': the rule acts only at curve points"),
        (config.training.precision in PRECISIONS, "training.precision", "must be 'auto', 'fp32', 'bf16' or 'fp16'"),
        (config.training.adapter_dtype in PRECISIONS, "training.adapter_dtype", "must be 'auto', 'fp32', 'bf16' or 'fp16'"),
        (config.evaluation.precision in PRECISIONS, "evaluation.precision", "must be 'auto', 'fp32', 'bf16' or 'fp16'"),
        (config.model.max_length >= 16, "model.max_length", "must be at least 16"),
        (config.model.device in MODEL_DEVICES, "model.device", f"must be one of {', '.join(MODEL_DEVICES)}"),
        (config.model.dtype in MODEL_DTYPES, "model.dtype", f"must be one of {', '.join(MODEL_DTYPES)}"),
        (config.evaluation.max_new_tokens >= 1, "evaluation.max_new_tokens", "must be at least 1"),
        (config.evaluation.generation_batch_size >= 1, "evaluation.generation_batch_size", "must be at least 1"),
        (config.stats.n_resamples >= 100, "stats.n_resamples", "must be at least 100"),
        (0.0 < config.stats.alpha < 0.5, "stats.alpha", "must lie in (0, 0.5)"),
        (config.verdict.primary_metric in ("score", "nll"), "verdict.primary_metric", "must be 'score' or 'nll'"),
        (config.data.system_turn in ("keep", "fold"), "data.system_turn", "must be 'keep' or 'fold'"),
        (config.data.overlong_rows in ("error", "drop"), "data.overlong_rows", "must be 'error' or 'drop'"),
        (config.training.assistant_turns in ("all", "last"), "training.assistant_turns", "must be 'all' or 'last'"),
        (config.probes.verbatim_span_tokens >= 2, "probes.verbatim_span_tokens", "must be at least 2"),
    ]
    for ok, key, message in checks:
        if not ok:
            raise MemgapError(f"'{key}' {message}", where=source)
