"""SummaryWriter: log scalars, histograms, images, text and hyperparameters to TensorBoard
event files (``torch.utils.tensorboard.SummaryWriter``'s interface)."""
from __future__ import annotations

import atexit
import itertools
import os
import socket
import time
import weakref
from datetime import datetime

from . import summary as S
from ._proto import event, int_field, record

__all__ = ["FileWriter", "SummaryWriter"]

_uid = itertools.count()  # tells apart the files of writers opened in the same second


class FileWriter:
    """One event file in ``log_dir``: records are queued and written when ``max_queue`` are
    waiting, when ``flush_secs`` have passed since the last write, on ``flush()`` and on
    ``close()`` (also at interpreter exit)."""

    def __init__(self, log_dir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}."
                f"{next(_uid)}{filename_suffix}")
        self.path = os.path.join(log_dir, name)
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self._fh = open(self.path, "wb")
        self._queue: list[bytes] = []
        self._last_flush = time.time()
        self.add_event(event(time.time(), 0, file_version="brain.Event:2"))
        self.flush()
        atexit.register(_close_if_alive, weakref.ref(self))

    def get_logdir(self) -> str:
        return self.log_dir

    def add_event(self, serialized_event: bytes) -> None:
        if self._fh.closed:
            raise RuntimeError(f"SummaryWriter: the event file {self.path} is closed; open a new SummaryWriter")
        self._queue.append(record(serialized_event))
        if len(self._queue) >= self.max_queue or time.time() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_summary(self, summary: bytes, global_step: int | None = None, walltime: float | None = None) -> None:
        self.add_event(event(time.time() if walltime is None else walltime,
                             0 if global_step is None else int(global_step), summary=summary))

    def flush(self) -> None:
        if self._fh.closed:
            return
        self._fh.write(b"".join(self._queue))
        self._queue.clear()
        self._fh.flush()
        self._last_flush = time.time()

    def close(self) -> None:
        if not self._fh.closed:
            self.flush()
            self._fh.close()


def _close_if_alive(ref) -> None:
    writer = ref()
    if writer is not None:
        writer.close()


class SummaryWriter:
    """Write TensorBoard event files to ``log_dir``.

    Args:
        log_dir: the directory; default ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: after a crash at step T+X, restarting at ``purge_step=T`` makes TensorBoard
            hide the events of the earlier run with step >= T.
        max_queue: events kept in memory before a write.
        flush_secs: seconds after which queued events are written.
        filename_suffix: appended to the event file's name.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        if log_dir is None:
            log_dir = os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname()
                                   + comment)
        self.log_dir = os.fspath(log_dir)
        self.purge_step, self.max_queue, self.flush_secs = purge_step, max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self.default_bins = S.default_bins()
        self._get_file_writer()

    def _get_file_writer(self) -> FileWriter:
        """The writer of the main event file; after ``close()`` a new file is started, as in
        PyTorch."""
        if self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.log_dir: self.file_writer}
            self._path = self.file_writer.path
            if self.purge_step is not None:
                # SessionLog(status=START) at purge_step: TensorBoard drops later steps of older runs.
                self.file_writer.add_event(event(time.time(), self.purge_step, session_log=int_field(1, 1)))
                self.purge_step = None
        return self.file_writer

    @property
    def path(self) -> str:
        """The event file being written (or last written, once closed)."""
        return self._path

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """Record a number (or one-element tensor) under ``tag`` at ``global_step``."""
        self._get_file_writer().add_summary(S.scalar(tag, scalar_value, new_style, double_precision), global_step,
                                     walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Record several numbers on one chart: each goes to its own run
        ``<log_dir>/<main_tag>_<key>`` under the tag ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        self._get_file_writer()
        for tag, value in tag_scalar_dict.items():
            fw_dir = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(fw_dir)
            if writer is None:
                writer = self.all_writers[fw_dir] = FileWriter(fw_dir, self.max_queue, self.flush_secs,
                                                               self.filename_suffix)
            writer.add_summary(S.scalar(main_tag, value), global_step, walltime)

    def add_histogram(self, tag: str, values, global_step: int | None = None, bins="tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """Record the distribution of ``values``; ``bins`` is ``"tensorflow"`` (PyTorch's default
        exponential bins) or anything ``numpy.histogram`` accepts (``"auto"``, a count, edges)."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(S.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """Record an image (float values in [0, 1] or uint8), laid out as ``dataformats``
        (``CHW``, ``HWC``, ``HW``); needs Pillow (``ember[vision]``) for PNG encoding."""
        self._get_file_writer().add_summary(S.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """Record a batch of images as one grid image (8 per row)."""
        self._get_file_writer().add_summary(S.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Record a string (Markdown) for the text dashboard."""
        self._get_file_writer().add_summary(S.text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Record one run's hyperparameters and final metrics for the HParams dashboard, in the
        sub-run ``<log_dir>/<run_name>`` (default: the current time)."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        experiment, start, end = S.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        with SummaryWriter(log_dir=os.path.join(self.log_dir, run_name or str(time.time()))) as w_hp:
            for summary in (experiment, start, end):
                w_hp.file_writer.add_summary(summary, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """Not available: TensorBoard's graph view reads a TensorFlow GraphDef, which ember does
        not produce. ``ember.viz.draw_graph`` draws the autograd graph and ``ember.summary`` lists
        the layers instead."""
        raise NotImplementedError("SummaryWriter.add_graph: ember does not export TensorFlow GraphDefs; "
                                  "use ember.viz.draw_graph(output) for the autograd graph or "
                                  "ember.summary(model, input_size) for a table of layers.")

    def flush(self) -> None:
        """Write every queued event of this writer and its ``add_scalars`` runs to disk."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        for writer in (self.all_writers or {}).values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
