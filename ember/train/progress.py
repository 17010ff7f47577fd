"""Progress display of a fit: on a terminal a tqdm bar per epoch and one for each validation
pass; otherwise a line every ``interval`` seconds during an epoch and one when it ends."""
from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

__all__ = ["ProgressBar"]


def _format(logs: dict) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in logs.items() if isinstance(v, float))


class ProgressBar:
    """Shows the batches of each epoch with the running loss, metrics and throughput.

    Args:
        enabled: show anything at all.
        stream: where to write (default ``sys.stdout``); when it is not a terminal (a log
            file, a notebook's captured output), no bar is drawn: a line is printed every
            ``interval`` seconds during an epoch and one summary line when it ends.
        interval: seconds between those lines.
    """

    def __init__(self, enabled: bool = True, stream=None, interval: float = 10.0):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval
        self._bar = None
        self._val_bar = None
        self._start = 0.0
        self._samples = 0
        self._batches = 0
        self._total: int | None = None
        self._last_line = 0.0

    def epoch_start(self, epoch: int, epochs: int, total: int | None, initial: int = 0) -> None:
        self._start, self._samples = time.perf_counter(), 0
        self._last_line, self._batches, self._total = self._start, initial, total
        self._epoch, self._epochs = epoch, epochs
        if self.interactive:
            self._bar = tqdm(total=total, initial=initial, desc=f"epoch {epoch + 1}/{epochs}",
                             unit="batch", file=self.stream, leave=True, dynamic_ncols=True)

    def _throughput(self) -> float:
        return self._samples / max(time.perf_counter() - self._start, 1e-9)

    def batch_end(self, samples: int, running: dict) -> None:
        self._samples += samples
        self._batches += 1
        if self._bar is not None:
            self._bar.set_postfix_str(f"{_format(running)} {self._throughput():.0f} samples/s", refresh=False)
            self._bar.update(1)
        elif self.enabled and time.perf_counter() - self._last_line >= self.interval:
            self._last_line = time.perf_counter()
            of = f"/{self._total}" if self._total is not None else ""
            print(f"epoch {self._epoch + 1}/{self._epochs} batch {self._batches}{of} {_format(running)} "
                  f"{self._throughput():.0f} samples/s", file=self.stream, flush=True)

    def validation_start(self, total: int | None, desc: str = "  validation") -> None:
        """A validation (or evaluation) pass begins: on a terminal it gets a bar of its own,
        under the epoch's."""
        if self.interactive:
            self._val_bar = tqdm(total=total, desc=desc, unit="batch", file=self.stream,
                                 leave=False, dynamic_ncols=True)

    def validation_batch(self) -> None:
        if self._val_bar is not None:
            self._val_bar.update(1)

    def validation_end(self) -> None:
        if self._val_bar is not None:
            self._val_bar.close()
            self._val_bar = None

    def epoch_end(self, logs: dict) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(_format(logs))
            self._bar.close()
            self._bar = None
        elif self.enabled:
            print(f"epoch {self._epoch + 1}/{self._epochs} {_format(logs)} "
                  f"({time.perf_counter() - self._start:.1f}s, {self._throughput():.0f} samples/s)",
                  file=self.stream, flush=True)

    def close(self) -> None:
        self.validation_end()
        if self._bar is not None:
            self._bar.close()
            self._bar = None
