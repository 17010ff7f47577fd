"""``ember.utils``: data loading (``ember.utils.data``), activation checkpointing
(``ember.utils.checkpoint``); ``ember.utils.tensorboard`` is imported on demand, as PyTorch's."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
