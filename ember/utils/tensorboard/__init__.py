"""``ember.utils.tensorboard``: ``SummaryWriter`` writing TensorBoard event files (no
TensorFlow or protobuf needed; Pillow for images)."""
from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
