"""Language-model builders with published weights (``torchvision.models``' ``weights=`` API):
``char_gpt`` and ``CharGPT_Weights``.

    w = CharGPT_Weights.DEFAULT
    tok = w.transforms()                  # the CharTokenizer of the checkpoint's vocabulary
    model = char_gpt(weights=w).eval()
    ids = model.generate(ember.tensor([tok.encode("ROMEO:")]), max_new_tokens=200, temperature=0.8)
    print(tok.decode(ids[0]))
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from .._weights import Weights, WeightsEnum, load_weights
from .gpt import GPT, GPTConfig
from .tokenizers import CharTokenizer

__all__ = ["CharGPT_Weights", "char_gpt"]

_BUNDLED = Path(__file__).with_name("weights")

# tiny-shakespeare's 65 characters in index order (CharTokenizer sorts its alphabet).
_SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHAR_GPT_CONFIG = {"block_size": 64, "vocab_size": 65, "n_layer": 4, "n_head": 4, "n_embd": 96, "dropout": 0.0,
                    "bias": False}


class CharGPT_Weights(WeightsEnum):
    # float16 in the file (half the bytes); loading casts to the model's float32.
    TINY_SHAKESPEARE = Weights(
        (_BUNDLED / "char_gpt_tiny_shakespeare-16ea20c9.safetensors").as_uri(),
        partial(CharTokenizer, _SHAKESPEARE_CHARS),
        {"vocab": _SHAKESPEARE_CHARS, "config": _CHAR_GPT_CONFIG, "num_params": 455616,
         "recipe": "python examples/gpt.py --data-dir DATA/tinyshakespeare --n-embd 96 --iters 2000 "
                   "--save char_gpt.safetensors (seed 1337; 540 s on 2 CPU cores)",
         "_metrics": {"tiny-shakespeare": {"val_loss": 1.6763}}, "_file_size": 0.914,
         "_docs": "A character GPT trained by ember on the first 90% of tiny-shakespeare; val_loss is the "
                  "mean cross-entropy (nats per character) over the last 10% cut into consecutive windows "
                  "of block_size characters."})
    DEFAULT = TINY_SHAKESPEARE


# Only these may differ from a checkpoint's config: they change how it runs, not its shapes.
_FREE = {"dropout"}


def char_gpt(*, weights: CharGPT_Weights | str | None = None, progress: bool = True,
             **config_overrides: Any) -> GPT:
    """A character-level ``GPT``, shaped like the shipped checkpoint unless ``config_overrides``
    (``GPTConfig``'s fields) say otherwise. ``weights="TINY_SHAKESPEARE"``
    (``CharGPT_Weights.TINY_SHAKESPEARE``, the ``DEFAULT``) loads the weights ember trained on
    tiny-shakespeare, shipped with ember; ``weights.transforms()`` is its tokenizer.

    Raises:
        ValueError: an override changes a shape the checkpoint fixes (all fields but ``dropout``).
    """
    weights = CharGPT_Weights.verify(weights)
    config = dict(weights.meta["config"] if weights is not None else _CHAR_GPT_CONFIG)
    if weights is not None:
        for key, value in config_overrides.items():
            if key not in _FREE and key in config and value != config[key]:
                raise ValueError(f"char_gpt: the parameter '{key}' expected value {config[key]} for {weights!r} "
                                 f"but got {value}; only {', '.join(sorted(_FREE))} may differ from the "
                                 "checkpoint's config")
    config.update(config_overrides)
    return load_weights(GPT(GPTConfig(**config)), weights, progress)
