"""Adapters as people save them: check a PEFT adapter folder and its fit to a base, then load it.

Any PEFT LoRA folder (`adapter_config.json` + `adapter_model.safetensors`, as PEFT's
`save_pretrained`, TRL, Unsloth and axolotl write it) loads through PEFT's own
`PeftModel.from_pretrained`, so `rank_pattern`/`alpha_pattern`, rsLoRA, DoRA, `modules_to_save`,
`trainable_token_indices`, saved embedding layers and partial target lists mean what PEFT means by
them. The checks here exist only to turn the mistakes users make into one line before the long
work: a folder that is not an adapter (a merged model, a named adapter's parent folder, pickle-only
weights), a config this PEFT cannot honour, and a base the adapter was not trained on.

Whether an adapter fits a base is asked of PEFT, not of string rules: PEFT builds the adapter on a
meta-device twin of the base (no memory, no weights) and maps the saved tensor names to the twin's
exactly as `PeftModel.from_pretrained` would (`set_peft_model_state_dict`); the saved shapes (read
from the safetensors header) are then compared with the twin's.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgap.adapter_fit import (
    embedding_module_names, embedding_rows, inject_adapter, is_whole_layer, meta_base, peft_mismatches,
    trainable_token_rows, vocabulary_axis,
)
from memgap.errors import MemgapError, first_line

log = logging.getLogger(__name__)

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_FULL_MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                       "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class AdapterFolder:
    """A checked adapter folder: its config, the shapes of its saved tensors, and what its config asks
    of PEFT that the installed PEFT does not know."""

    path: Path
    config: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]  # tensor name in the file -> shape
    ignored_keys: tuple[str, ...] = ()  # adapter_config.json keys the installed PEFT's LoraConfig does not know
    warnings: tuple[str, ...] = ()  # for the console and audit.json's `warnings`

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def peft_version(self) -> str | None:
        """The PEFT version that saved the adapter (adapter_config.json's `peft_version`), if recorded."""
        version = self.config.get("peft_version")
        return version if isinstance(version, str) and version else None


@dataclass(frozen=True)
class AdapterFit:
    """How the adapter goes onto the base: `embedding_rows` is the row count the base's embeddings are
    resized to first (PEFT's documented recipe for an adapter trained on a resized vocabulary), or None."""

    embedding_rows: int | None = None
    base_embedding_rows: int | None = None
    notes: tuple[str, ...] = field(default=())


def read_adapter_folder(path: str | Path) -> AdapterFolder:
    """Check that `path` holds a PEFT LoRA adapter in safetensors and read its config and tensor shapes.

    Raises MemgapError for a missing folder, a folder without adapter files (naming what it holds
    instead: a merged full model, named adapters in subfolders), pickle-only weights
    (`adapter_model.bin`), a PEFT method other than LoRA, and a config the installed PEFT cannot
    honour (`ignored_config_keys`).
    """
    from safetensors import safe_open

    path = Path(path).expanduser()
    if path.is_file():
        raise MemgapError(f"an adapter is a folder, not one file: pass --adapter {path.parent}, the folder that holds "
                          f"{CONFIG_FILE} and {WEIGHTS_FILE}", where=str(path))
    if not path.is_dir():
        raise MemgapError("no such adapter folder", where=str(path))
    config_file, weights = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not weights.exists() and not config_file.exists():
        _refuse_what_is_not_an_adapter(path)
    if not weights.exists():
        pickled = sorted(p.name for p in (*path.glob("*.bin"), *path.glob("*.pt"), *path.glob("*.pth")))
        if pickled:
            raise MemgapError(f"only pickle weights here ({', '.join(pickled)}); pickle is refused: re-save the adapter "
                              "with save_pretrained(..., safe_serialization=True)", where=str(path))
        raise MemgapError(f"no {WEIGHTS_FILE} beside {CONFIG_FILE}", where=str(path))
    if not config_file.exists():
        raise MemgapError(f"no {CONFIG_FILE} beside {WEIGHTS_FILE}; the adapter's settings are needed to load it", where=str(path))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MemgapError(f"unparsable JSON ({error.msg})", where=f"{config_file}:{error.lineno}") from None
    peft_type = str(config.get("peft_type", "")).upper()
    if peft_type != "LORA":
        raise MemgapError(f"peft_type is '{config.get('peft_type')}'; memgap audits LoRA adapters (LoRA, rsLoRA, DoRA, QLoRA)",
                          where=f"{config_file}: field 'peft_type'")
    ignored, warning = ignored_config_keys(config, where=str(config_file))
    _lora_config(path)  # a value this PEFT rejects fails here, before the model loads
    with safe_open(weights, framework="pt") as stream:
        shapes = {name: tuple(stream.get_slice(name).get_shape()) for name in stream.keys()}
    return AdapterFolder(path=path, config=config, shapes=shapes, ignored_keys=tuple(ignored),
                         warnings=(warning,) if warning else ())


def _refuse_what_is_not_an_adapter(path: Path) -> None:
    """A folder with neither adapter file: say what it holds (a full model, adapters one level down) and what to pass."""
    if (path / "config.json").exists() and any((path / name).exists() for name in _FULL_MODEL_WEIGHTS) \
            or (path / "config.json").exists() and any(path.glob("model-*-of-*.safetensors")):
        raise MemgapError("this folder holds a full model (config.json and model weights), not a LoRA adapter: a merged "
                          "model (merge_and_unload) or a full fine-tune; pass the adapter folder saved before merging "
                          f"(the one with {CONFIG_FILE} and {WEIGHTS_FILE}) as --adapter, with its base as --model",
                          where=str(path))
    inside = sorted(child for child in path.iterdir() if (child / CONFIG_FILE).is_file())
    if inside:
        names = ", ".join(child.name for child in inside[:6]) + (f" and {len(inside) - 6} more" if len(inside) > 6 else "")
        which = f"--adapter {inside[0]}" if len(inside) == 1 else f"one of them, e.g. --adapter {inside[-1]}"
        raise MemgapError(f"no adapter in this folder itself, but {len(inside)} in subfolders ({names}): save_pretrained "
                          f"with adapter_name='NAME' writes DIR/NAME/, and a Trainer writes checkpoint-N/; pass {which}",
                          where=str(path))
    raise MemgapError(f"not an adapter folder (no {CONFIG_FILE} and no {WEIGHTS_FILE}); pass the folder that "
                      "save_pretrained wrote (for a Trainer run: its output_dir or a checkpoint-N inside)", where=str(path))


def ignored_config_keys(config: dict[str, Any], *, where: str) -> tuple[list[str], str | None]:
    """The adapter_config.json keys the installed PEFT's LoraConfig does not know, and the warning naming them.

    PEFT drops such keys (a config saved by a newer or older PEFT) on the assumption that "removing
    the unused kwargs will not affect the default behavior". The rule here keeps that assumption
    where the value cannot switch a feature on and refuses where it can. In PEFT's configs a feature
    that changes the forward pass is switched on by a boolean (`use_dora`, `use_rslora`, `lora_bias`)
    or configured by a list or an object (`layer_replication`, `alora_invocation_tokens`,
    `arrow_config`). So an unknown key set to true, or to a non-empty list or dict, cannot be
    honoured: MemgapError names it and both PEFT versions. Any other value (null, false, 0, empty,
    or a plain string or number, such as an option of a feature left off) is ignored with a warning
    naming every ignored key and both versions. A feature that saves its own tensors is refused
    anyway by `check_fits_base`, which finds tensors PEFT would not load. Returns (ignored keys,
    warning or None).
    """
    import peft
    from peft import LoraConfig

    known = {item.name for item in dataclasses.fields(LoraConfig)}
    unknown = sorted(key for key in config if key not in known and key != "runtime_config")
    if not unknown:
        return [], None
    saved = config.get("peft_version") if isinstance(config.get("peft_version"), str) else None
    versions = peft_versions(config)
    switched_on = {key: config[key] for key in unknown if _switches_a_feature_on(config[key])}
    if switched_on:
        settings = ", ".join(f"{key}={value!r}" for key, value in switched_on.items())
        raise MemgapError(f"adapter_config.json sets {settings}, unknown to the installed PEFT, which would ignore "
                          f"{'it' if len(switched_on) == 1 else 'them'} and compute something else than the adapter was "
                          f"trained to ({versions}): install PEFT {saved or 'matching the adapter'} or later "
                          "(pip install -U peft)", where=where)
    settings = ", ".join(f"{key}={config[key]!r}" for key in unknown)
    return unknown, (f"adapter_config.json keys unknown to PEFT {peft.__version__} were ignored: {settings} ({versions}; "
                     "none switches a feature on, so the computation is taken to be unchanged; install PEFT "
                     f"{saved or 'matching the adapter'} to be sure)")


def _switches_a_feature_on(value: Any) -> bool:
    return value is True or (isinstance(value, (list, dict)) and len(value) > 0)


def peft_versions(config: dict[str, Any]) -> str:
    """'the adapter was saved by PEFT X; PEFT Y is installed', for messages about what PEFT cannot do."""
    import peft

    saved = config.get("peft_version") if isinstance(config.get("peft_version"), str) else None
    return f"the adapter was saved by PEFT {saved or '(version not recorded)'}; PEFT {peft.__version__} is installed"


def _lora_config(path: Path):
    """PEFT's own reading of adapter_config.json (unknown keys dropped, as `ignored_config_keys` reports them)."""
    from peft import LoraConfig

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PEFT's warning about unknown keys: ignored_config_keys says it in one line
            return LoraConfig.from_pretrained(str(path))
    except (TypeError, ValueError, KeyError) as error:
        import peft

        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        raise MemgapError(f"PEFT {peft.__version__} cannot read this adapter_config.json ({first_line(error)}; "
                          f"{peft_versions(config)})", where=str(path / CONFIG_FILE)) from None


def check_fits_base(adapter: AdapterFolder, base_model, *, tokenizer_size: int | None = None) -> AdapterFit:
    """How the adapter fits the base, from PEFT's own mapping; MemgapError naming the first mismatch.

    PEFT builds the adapter on a meta-device twin of `base_model` and maps every saved tensor to the
    twin's parameter it loads into (`set_peft_model_state_dict`, the path `PeftModel.from_pretrained`
    takes). A config PEFT cannot apply to the base, or a saved tensor for a module the base lacks,
    means another architecture; an adapted module the file has no weights for, another size of
    model; a saved shape other than the twin's, other shapes, or another vocabulary size where only
    the embedding rows differ. `tokenizer_size`: the number of tokens of the tokenizer saved beside
    the adapter, if any. Where the adapter saved its embedding layers with R rows and that tokenizer
    fits in R, the fit says to resize the base's embeddings to R first, as PEFT documents for a
    resized vocabulary. So it does where `trainable_token_indices` holds the rows of every token the
    tokenizer added (PEFT's recipe for new tokens), with a note where the LM head is not tied to the
    input embeddings and its new rows were never saved. Where a tokenizer beside the adapter has
    more tokens than the embeddings will have, MemgapError names both sizes.
    """
    base_name = adapter.config.get("base_model_name_or_path") or "its base"
    where = str(adapter.path)
    rows = embedding_rows(base_model)
    embeddings = embedding_module_names(base_model)
    twin = _twin_or_refuse(base_model, adapter, base_name)
    if twin is None:
        return AdapterFit(base_embedding_rows=rows)
    problems = peft_mismatches(twin, adapter.shapes)
    vocabulary = [p for p in problems if p.kind == "shape" and vocabulary_axis(p, embeddings, rows) is not None]
    resize_to = None
    if problems and len(vocabulary) == len(problems):
        saved_rows = {p.saved[vocabulary_axis(p, embeddings, rows)] for p in vocabulary}
        full_layers_saved = any(is_whole_layer(p.name, twin) for p in vocabulary)
        if len(saved_rows) == 1 and full_layers_saved and tokenizer_size is not None and tokenizer_size <= min(saved_rows):
            resize_to = saved_rows.pop()
            resized = _twin_or_refuse(base_model, adapter, base_name, rows=resize_to)
            problems = peft_mismatches(resized, adapter.shapes) if resized is not None else []
    if problems:
        problem = problems[0]
        axis = vocabulary_axis(problem, embeddings, rows) if problem.kind == "shape" else None
        if axis is not None:
            beside = (f"; the tokenizer beside the adapter has {tokenizer_size} tokens" if tokenizer_size is not None
                      else "; no tokenizer lies beside the adapter to resize the base to")
            raise MemgapError(f"'{problem.name}' has {problem.saved[axis]} vocabulary rows in the adapter but {rows} in "
                              f"this base: another vocabulary size (the adapter was trained on {base_name}){beside}",
                              where=where)
        raise MemgapError(problem.message(base_name), where=where)
    final_rows = resize_to or rows
    notes: list[str] = []
    if tokenizer_size is not None and final_rows is not None and tokenizer_size > final_rows:
        added = set(range(final_rows, tokenizer_size))
        if not added <= trainable_token_rows(adapter.config, embeddings):
            raise MemgapError(f"the tokenizer beside the adapter has {tokenizer_size} tokens but this base's embeddings "
                              f"have {final_rows} rows, and the adapter saved no embedding layers for the added tokens: "
                              "another vocabulary size; re-save the adapter with save_pretrained(..., "
                              f"save_embedding_layers=True) (the adapter was trained on {base_name})", where=where)
        # PEFT's recipe for new tokens: resize, then train only their rows (trainable_token_indices)
        resize_to = tokenizer_size
        text_config = base_model.config.get_text_config() if hasattr(base_model.config, "get_text_config") else base_model.config
        if not getattr(text_config, "tie_word_embeddings", False):
            notes.append(f"the LM head's rows for the {len(added)} tokens added in training are not in the adapter "
                         "(trainable_token_indices trains the input rows only): they start as resize_token_embeddings "
                         "starts them, as they did before training, so those tokens' logits are not exactly the trained "
                         "model's")
    if resize_to:
        notes.insert(0, f"the base's embeddings were resized from {rows} to {resize_to} rows, to the vocabulary the "
                        "adapter was trained with (the tokenizer saved beside it)")
    return AdapterFit(embedding_rows=resize_to, base_embedding_rows=rows, notes=tuple(notes))


def load_adapter(base_model, adapter: AdapterFolder, *, tokenizer_size: int | None = None, fit: AdapterFit | None = None):
    """The base wrapped by PEFT's `PeftModel.from_pretrained` (one model in memory), in eval mode.

    `fit` (else computed by `check_fits_base` with `tokenizer_size`) may first resize the base's
    embeddings. `with model.disable_adapter():` evaluates the base; outside it, the adapter.
    """
    import torch
    from peft import PeftModel

    fit = fit or check_fits_base(adapter, base_model, tokenizer_size=tokenizer_size)
    if fit.embedding_rows is not None:
        from transformers.utils import logging as transformers_logging

        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()  # its note on mean resizing: the fit's notes say what happened
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # rows the adapter did not save start the same on every run
                base_model.resize_token_embeddings(fit.embedding_rows)  # transformers' default, as training resized
        finally:
            transformers_logging.set_verbosity(verbosity)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown config keys: reported by ignored_config_keys
            model = PeftModel.from_pretrained(base_model, adapter.path, is_trainable=False)
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        raise MemgapError(f"PEFT cannot load this adapter on this base ({first_line(error)}; "
                          f"{peft_versions(adapter.config)})", where=str(adapter.path)) from None
    model.eval()
    return model


def _twin_or_refuse(base_model, adapter: AdapterFolder, base_name: str, *, rows: int | None = None):
    """The meta twin with the adapter, or None where this base cannot be built on the meta device (then
    PEFT's own load is the only check); MemgapError where PEFT cannot apply the adapter's config to it."""
    try:
        meta = meta_base(base_model, rows=rows)
    except Exception as error:  # a model class that cannot be built from its config without weights
        log.info("the adapter's fit could not be checked on a meta-device copy of the base (%s); PEFT's load checks it",
                 first_line(error))
        return None
    config = _lora_config(adapter.path)
    try:
        return inject_adapter(meta, config)
    except (ValueError, KeyError, TypeError) as error:
        from peft.tuners.tuners_utils import check_target_module_exists

        if config.target_modules and not any(check_target_module_exists(config, name) for name, _ in meta.named_modules()):
            raise MemgapError(f"PEFT cannot apply this adapter's config to this base ({first_line(error)}): another "
                              f"architecture (the adapter was trained on {base_name})", where=str(adapter.path)) from None
        raise MemgapError(f"PEFT cannot apply this adapter's config to this base ({first_line(error)}; "
                          f"{peft_versions(adapter.config)})", where=str(adapter.path)) from None
