"""TensorBoard logging for the Trainer: the ``TensorBoard`` callback and a ``SummaryWriter``
that can also write several scalars in one event. The event files themselves are written by
``ember.utils.tensorboard``."""
from __future__ import annotations

import os

from ..utils.tensorboard import SummaryWriter as _SummaryWriter
from ..utils.tensorboard import summary as _summary
from ..utils.tensorboard._proto import crc32c, read_events
from .callbacks import Callback

__all__ = ["SummaryWriter", "TensorBoard", "read_events", "crc32c"]


class SummaryWriter(_SummaryWriter):
    """``ember.utils.tensorboard.SummaryWriter`` with ``add_scalars_flat``."""

    def add_scalars_flat(self, values: dict, global_step: int | None = None,
                         walltime: float | None = None) -> None:
        """Record several tags at one step in a single event (one run, unlike ``add_scalars``)."""
        # Serialized Summaries concatenate into one Summary holding every value.
        self._get_file_writer().add_summary(b"".join(_summary.scalar(tag, v) for tag, v in values.items()),
                                     global_step, walltime)


class TensorBoard(Callback):
    """Write every epoch's logs (losses, metrics, learning rate) as TensorBoard scalars,
    with the epoch as the step."""

    def __init__(self, log_dir: str | os.PathLike | None = None):
        self.log_dir = log_dir
        self.writer: SummaryWriter | None = None

    def on_fit_start(self, trainer) -> None:
        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        numbers = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
        self.writer.add_scalars_flat(numbers, epoch)
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        self.writer.close()
