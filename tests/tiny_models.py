"""Tiny real models and an offline tokenizer for tests: built from a config in milliseconds, no downloads.

`tiny_tokenizer()` is character-level with ChatML special tokens and a ChatML chat template, so chat
records encode exactly as with a real instruct model. `tiny_model(family)` builds a 2-layer Llama,
GPT-2, GPT-NeoX or Phi with hidden size 32; `save_tiny_model(folder)` writes model and tokenizer as a
local folder (safetensors) that `memgap.models.load_model(folder)` loads.
"""
from __future__ import annotations

import string
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# ChatML as Qwen2.5 writes it, cut to what tests need: tool schemas in a system block, tool calls
# after the assistant's (possibly null) content, tool results as `tool` turns.
CHATML_TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n# Tools\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is not none %}{{ message['content'] }}{% endif %}"
    "{% if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>{{ call.function | tojson }}</tool_call>"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Gemma's template, as its tokenizer_config.json ships it (less the BOS): it raises on a system turn
# and on roles that do not alternate user/assistant.
GEMMA_STYLE_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
SPECIAL_TOKENS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
FAMILIES = ("llama", "gpt2", "gpt_neox", "phi")


def tiny_tokenizer(chat_template: str = CHATML_TEMPLATE):
    """A character-level fast tokenizer (printable ASCII + newline) with pad/eos and a chat template (ChatML by default)."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    characters = sorted(set(string.printable) - set("\r\x0b\x0c"))
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for character in characters:
        vocab.setdefault(character, len(vocab))
    # BPE without merges splits text into single characters; special tokens match whole.
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.add_special_tokens(SPECIAL_TOKENS)
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="<|im_end|>",
        bos_token=None,
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def tiny_config(family: str = "llama", vocab_size: int = 128, **overrides):
    """A 2-layer config with hidden size 32 for one of FAMILIES."""
    from transformers import GPT2Config, GPTNeoXConfig, LlamaConfig, PhiConfig

    if family == "llama":
        settings = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False)
        return LlamaConfig(**{**settings, **overrides})
    if family == "gpt2":
        settings = dict(vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=4, n_positions=512, bos_token_id=None, eos_token_id=None,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        return GPT2Config(**{**settings, **overrides})
    if family == "gpt_neox":
        settings = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=512)
        return GPTNeoXConfig(**{**settings, **overrides})
    if family == "phi":
        settings = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=512)
        return PhiConfig(**{**settings, **overrides})
    raise ValueError(f"unknown tiny family {family!r}; use one of {FAMILIES}")


def tiny_model(family: str = "llama", seed: int = 0, tokenizer=None, **overrides):
    """A randomly initialised causal LM of the family, sized to the tiny tokenizer, in float32."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = tokenizer or tiny_tokenizer()
    config = tiny_config(family, vocab_size=len(tokenizer), **overrides)
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.eval()
    return model


def tiny_loaded(family: str = "llama", seed: int = 0, **overrides):
    """A `memgap.models.LoadedModel` holding a tiny model and the tiny tokenizer."""
    from memgap.models import LoadedModel

    tokenizer = tiny_tokenizer()
    model = tiny_model(family, seed=seed, tokenizer=tokenizer, **overrides)
    return LoadedModel(model=model, tokenizer=tokenizer, name=f"tiny-{family}", source="local", weight_files=[])


def save_tiny_model(folder: str | Path, family: str = "llama", seed: int = 0, chat_template: str = CHATML_TEMPLATE, **overrides) -> Path:
    """Write a tiny model and its tokenizer (with `chat_template`) to `folder` (safetensors) for `load_model(folder)`."""
    folder = Path(folder)
    tokenizer = tiny_tokenizer(chat_template)
    model = tiny_model(family, seed=seed, tokenizer=tokenizer, **overrides)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_records(n: int = 16, *, chat: bool = True, families: int = 4):
    """Short, repetitive SFT records (a tiny model can learn them in a few dozen steps)."""
    from memgap.data.records import Record

    colours = ["red", "blue", "green", "gold", "grey", "pink"]
    records = []
    for index in range(n):
        family = index % families
        colour = colours[family % len(colours)]
        completion = f"The {colour} box is number {family}."
        if chat:
            prompt = ({"role": "user", "content": f"Which box is {colour}?"},)
            records.append(Record(id=f"r{index}", completion=completion, prompt_messages=prompt, family=f"f{family}"))
        else:
            records.append(Record(id=f"r{index}", completion=completion, prompt_text=f"Q: {colour}?\nA: ", family=f"f{family}"))
    return records
