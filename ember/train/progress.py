"""Progress display of a fit: a tqdm bar per epoch on a terminal, one line per epoch otherwise."""
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
        stream: where to write (default ``sys.stdout``); when it is not a terminal, no bar is
            drawn and one summary line is printed per epoch instead.
    """

    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._bar = None
        self._start = 0.0
        self._samples = 0

    def epoch_start(self, epoch: int, epochs: int, total: int | None, initial: int = 0) -> None:
        self._start, self._samples = time.perf_counter(), 0
        self._epoch, self._epochs = epoch, epochs
        if self.interactive:
            self._bar = tqdm(total=total, initial=initial, desc=f"epoch {epoch + 1}/{epochs}",
                             unit="batch", file=self.stream, leave=True, dynamic_ncols=True)

    def _throughput(self) -> float:
        return self._samples / max(time.perf_counter() - self._start, 1e-9)

    def batch_end(self, samples: int, running: dict) -> None:
        self._samples += samples
        if self._bar is not None:
            self._bar.set_postfix_str(f"{_format(running)} {self._throughput():.0f} samples/s", refresh=False)
            self._bar.update(1)

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
        if self._bar is not None:
            self._bar.close()
            self._bar = None
