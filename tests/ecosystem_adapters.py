"""Adapter folders laid out the way Unsloth, axolotl, TRL and PEFT recipes save them, on tiny models.

Everything is built offline from a config: a byte-level BPE tokenizer trained with the `tokenizers`
library on the rows themselves, a 2-layer Llama with hidden size 32, a LoRA adapter trained for a few
steps with PEFT and the transformers `Trainer`, then saved the way each recipe saves it:

- Unsloth's notebooks: `model.save_pretrained(dir)` then `tokenizer.save_pretrained(dir)` (the
  tokenizer beside the adapter); with new tokens, `modules_to_save=["embed_tokens", "lm_head"]`.
- axolotl: `lora_modules_to_save: [embed_tokens, lm_head]` when tokens are added; the adapter and
  the tokenizer are written to `output_dir`.
- TRL: `setup_chat_format(model, tokenizer)` adds `<|im_start|>`/`<|im_end|>` as special tokens,
  sets the ChatML template and resizes the embeddings (optionally to a multiple of 64, as
  `clone_chat_template` does by default); `SFTTrainer.save_model` writes adapter and tokenizer.
- PEFT: `save_pretrained(save_embedding_layers=True)` stores the resized embedding matrices;
  `trainable_token_indices` trains chosen rows of the embedding only; `lora_bias=True` adds a bias to
  lora_B; an adapter named other than "default" is saved in a subfolder of that name.

`write_rows` writes a small family-labelled data set of TRL conversational prompt/completion rows.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

# The base model's own template (a plain "### role:" format ending each turn in the EOS token).
BASE_TEMPLATE = (
    "{% for message in messages %}{{ '### ' + message['role'] + ':\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '### assistant:\n' }}{% endif %}"
)
# TRL's ChatML template as setup_chat_format writes it.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Zephyr's template (another format, no new tokens), as an adapter's tokenizer may carry it.
ZEPHYR_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
CHATML_TOKENS = ["<|im_start|>", "<|im_end|>"]
LORA_ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]

ITEMS = ["red crate", "blue barrel", "green box", "yellow sack", "black chest", "white bin",
         "grey case", "brown trunk", "orange tub", "purple jar", "silver tin", "golden urn"]
PLACES = ["north dock", "east shed", "south yard", "west hall", "upper loft", "lower vault",
          "main gate", "side room", "back lot", "front desk", "old mill", "new barn"]
FAMILY_SIZES = [6, 5, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2]  # 40 rows in 12 families
PHRASINGS = ["Where is the {item}?", "Tell me where the {item} is.", "Where did we put the {item}?",
             "Which place holds the {item}?", "Do you know where the {item} is kept?", "Find the {item} for me."]


def rows(n_families: int = 12) -> list[dict]:
    """TRL conversational prompt/completion rows with a `family` field: 40 rows in 12 families."""
    out = []
    for family, size in enumerate(FAMILY_SIZES[:n_families]):
        item, place = ITEMS[family], PLACES[family]
        for variant in range(size):
            out.append({
                "id": f"f{family}-{variant}",
                "family": f"fam{family}",
                "prompt": [{"role": "user", "content": PHRASINGS[variant].format(item=item)}],
                "completion": [{"role": "assistant", "content": f"The {item} is at the {place}, shelf {family + variant}."}],
            })
    return out


def write_rows(path: Path, records: list[dict] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records if records is not None else rows():
            handle.write(json.dumps(record) + "\n")
    return path


def _texts(records) -> list[str]:
    texts = []
    for record in records:
        for message in record["prompt"] + record["completion"]:
            texts.append(message["content"])
    return texts + ["### user:", "### assistant:", "<|user|>", "<|assistant|>", "system"]


def build_tokenizer(records=None, chat_template: str = BASE_TEMPLATE):
    """A byte-level BPE fast tokenizer trained on the rows (no download), with <s>, </s>, <pad>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(_texts(records or rows()), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = chat_template
    return tokenizer


def build_base(folder: Path, records=None, tie_word_embeddings: bool = False) -> Path:
    """A 2-layer Llama (hidden 32) and its tokenizer saved as a local folder (safetensors); with
    `tie_word_embeddings` the output layer is the input embedding (as in SmolLM2, Gemma, Qwen2.5-0.5B)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    tokenizer = build_tokenizer(records)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=tie_word_embeddings, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def load_base(base: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    return model, tokenizer


def setup_chat_format(model, tokenizer, resize_to_multiple_of: int | None = None):
    """What TRL's `setup_chat_format` does: ChatML special tokens as bos/eos/pad, the ChatML template,
    embeddings resized to the new vocabulary (rounded up to a multiple when asked)."""
    tokenizer.add_special_tokens({"additional_special_tokens": CHATML_TOKENS})
    tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token = "<|im_start|>", "<|im_end|>", "<|im_end|>"
    tokenizer.chat_template = CHATML_TEMPLATE
    model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=resize_to_multiple_of)
    for config in (model.config, getattr(model, "generation_config", None)):
        if config is not None:
            config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
            config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def train_briefly(model, tokenizer, records, output_dir: Path, steps: int = 2, learning_rate: float = 5e-3):
    """A few optimizer steps of the transformers Trainer on the rows rendered with the tokenizer's template
    (loss on the completion only), then `trainer.save_state()` as recipes do."""
    import torch
    from transformers import Trainer, TrainingArguments

    examples = []
    for record in records:
        prompt = tokenizer.apply_chat_template(record["prompt"], tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(record["prompt"] + record["completion"], tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"][:128]
        labels = [-100] * min(len(prompt_ids), len(ids)) + ids[len(prompt_ids):]
        examples.append({"input_ids": ids, "labels": labels})

    def collate(batch):
        width = max(len(item["input_ids"]) for item in batch)
        pad = tokenizer.pad_token_id
        return {
            "input_ids": torch.tensor([item["input_ids"] + [pad] * (width - len(item["input_ids"])) for item in batch]),
            "labels": torch.tensor([item["labels"] + [-100] * (width - len(item["labels"])) for item in batch]),
            "attention_mask": torch.tensor([[1] * len(item["input_ids"]) + [0] * (width - len(item["input_ids"]))
                                            for item in batch]),
        }

    args = TrainingArguments(output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=4,
                             learning_rate=learning_rate, logging_steps=1, save_strategy="no", report_to="none",
                             use_cpu=True, seed=0, disable_tqdm=True, remove_unused_columns=False)
    trainer = Trainer(model=model, args=args, train_dataset=examples, data_collator=collate)
    trainer.train()
    trainer.save_state()
    return trainer


def _peft_model(base: Path, lora: dict, *, chat_format: str | None = None, multiple_of: int | None = None,
                adapter_name: str = "default", template: str | None = None):
    import torch
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_base(base)
    if chat_format == "chatml":
        model, tokenizer = setup_chat_format(model, tokenizer, resize_to_multiple_of=multiple_of)
    if template is not None:
        tokenizer.chat_template = template
    indices = lora.pop("trainable_new_tokens", False)
    if indices:
        lora["trainable_token_indices"] = tokenizer.convert_tokens_to_ids(CHATML_TOKENS)
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM", **lora)
    peft_model = get_peft_model(model, config, adapter_name=adapter_name)
    return peft_model, tokenizer


def build_adapter(kind: str, base: Path, folder: Path, records=None) -> Path:
    """Build, train briefly and save one adapter folder of `kind` (see KINDS); returns the folder to pass
    as --adapter."""
    folder = Path(folder)
    records = records or rows()
    work = folder.parent / f"{folder.name}-trainer"
    save_kwargs: dict = {}
    options: dict = {}
    lora: dict = {"target_modules": list(LORA_ATTENTION)}
    if kind == "plain":
        pass
    elif kind == "modules_to_save":  # axolotl lora_modules_to_save / Unsloth with embeddings trained
        lora["modules_to_save"] = ["embed_tokens", "lm_head"]
        save_kwargs["save_embedding_layers"] = True
    elif kind == "chat_format_resized":  # TRL setup_chat_format; PEFT saves the resized embeddings
        options["chat_format"] = "chatml"
        save_kwargs["save_embedding_layers"] = True
    elif kind == "chat_format_multiple_of_64":  # clone_chat_template's default rounding + axolotl's modules_to_save
        options.update(chat_format="chatml", multiple_of=64)
        lora["modules_to_save"] = ["embed_tokens", "lm_head"]
        save_kwargs["save_embedding_layers"] = True
    elif kind == "chat_format_no_embeddings":  # the same resize, embedding layers not saved
        options["chat_format"] = "chatml"
        save_kwargs["save_embedding_layers"] = False
    elif kind == "trainable_tokens":  # PEFT trainable_token_indices on existing tokens
        lora["trainable_token_indices"] = [3, 4, 5, 10, 20]
    elif kind == "trainable_new_tokens":  # PEFT's recipe: add tokens, resize, train only their rows
        options["chat_format"] = "chatml"
        lora["trainable_new_tokens"] = True
        save_kwargs["save_embedding_layers"] = False
    elif kind == "other_template":  # tokenizer with another chat template saved beside the adapter
        options["template"] = ZEPHYR_TEMPLATE
    elif kind in ("newer_peft_config", "newer_peft_feature_on"):  # adapter_config.json as a newer PEFT writes it
        pass
    elif kind == "lora_bias":
        lora["lora_bias"] = True
    elif kind == "merged":
        pass
    elif kind == "named_adapter":
        options["adapter_name"] = "my_task"
    else:
        raise ValueError(kind)

    peft_model, tokenizer = _peft_model(base, lora, **options)
    train_briefly(peft_model, tokenizer, records, work)
    if kind == "merged":
        merged = peft_model.merge_and_unload()
        merged.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        shutil.rmtree(work, ignore_errors=True)
        return folder
    peft_model.save_pretrained(folder, safe_serialization=True, **save_kwargs)
    tokenizer.save_pretrained(folder)  # Unsloth, axolotl and SFTTrainer.save_model write it beside the adapter
    if kind in ("newer_peft_config", "newer_peft_feature_on"):
        config_path = folder / "adapter_config.json"
        config = json.loads(config_path.read_text())
        config.update(NEWER_PEFT_KEYS if kind == "newer_peft_config" else NEWER_PEFT_FEATURE_ON)
        config["peft_version"] = "0.99.0"
        config_path.write_text(json.dumps(config, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return folder


# Keys a newer PEFT might write that this PEFT's LoraConfig does not know. A newer PEFT writes every
# field of its LoraConfig, those of features the user did not use at their off value (None, False, {}).
NEWER_PEFT_KEYS = {"lora_shard_policy": None, "use_fused_dropout": False, "kernel_options": {}}
# ... and a feature of that newer PEFT actually used.
NEWER_PEFT_FEATURE_ON = {"lora_shard_policy": "per_layer"}

KINDS = ("plain", "modules_to_save", "chat_format_resized", "chat_format_multiple_of_64", "chat_format_no_embeddings",
         "trainable_tokens", "trainable_new_tokens", "other_template", "newer_peft_config", "newer_peft_feature_on",
         "lora_bias", "merged", "named_adapter")


AUDIT_CONFIG = """seed: 0
model: {max_length: 128}
evaluation: {max_new_tokens: 8, generation_batch_size: 16, nll_batch_size: 8, membership_train_rows: 8, scorer: token-f1}
stats: {n_resamples: 200}
"""


def memgap(*args, cwd: Path | None = None, timeout: int = 300):
    """Run the memgap command offline on one thread; returns the CompletedProcess (text)."""
    import subprocess
    import sys

    executable = Path(sys.executable).parent / "memgap"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(executable), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def error_lines(result) -> list[str]:
    """The error lines of a failed command: what a user reads as the reason."""
    return [line for line in result.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]


def assert_one_line_error(result, out: Path | None = None) -> str:
    """Exit 2, no traceback, exactly one error line on stderr (memgap's progress lines aside), the error
    last, and no --out folder created. Returns the error line."""
    shown = f"rc={result.returncode}\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = error_lines(result)
    assert len(errors) == 1, shown
    assert lines[-1] == errors[0], shown
    assert all(line.startswith("memgap:") for line in lines), shown
    if out is not None:
        assert not Path(out).exists(), f"{out} was created\n{shown}"
    return errors[0]
