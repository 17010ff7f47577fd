"""``torch.autograd.profiler``: wall time per op while a ``profile`` is active.

While one is active, ``Function.apply`` hands each op to ``profile.record`` (its only cost
otherwise is checking one global for None). An op is timed as a whole (ops called inside
it, e.g. by a custom Function's forward, count toward it); ops run by backward are timed
like any other. ``record_function`` ranges nest, and an op or range inside another counts
toward the outer one's total but not its self time.
"""
from __future__ import annotations

import functools
import json
import re
import time

from . import function as _function

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]


class FunctionEvent:
    """One op call or record_function range: name, start and end (ns), input shapes."""

    __slots__ = ("name", "start_ns", "end_ns", "input_shapes", "children_ns", "is_range")

    def __init__(self, name: str, start_ns: int, input_shapes: list, is_range: bool = False):
        self.name, self.start_ns, self.end_ns = name, start_ns, start_ns
        self.input_shapes, self.children_ns, self.is_range = input_shapes, 0, is_range

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        """Wall time in microseconds."""
        return (self.end_ns - self.start_ns) / 1e3

    @property
    def self_cpu_time_total(self) -> float:
        return (self.end_ns - self.start_ns - self.children_ns) / 1e3

    def __repr__(self) -> str:
        return f"<FunctionEvent {self.name} cpu_time_total={self.cpu_time_total:.3f}us>"


class FunctionEventAvg:
    """The calls of one op (and, when grouped so, one set of input shapes) added up."""

    def __init__(self, key: str, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count, self.cpu_time_total, self.self_cpu_time_total = 0, 0.0, 0.0

    def add(self, event: FunctionEvent) -> None:
        self.count += 1
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total

    @property
    def cpu_time(self) -> float:
        """Average wall time per call, in microseconds."""
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.3f}us>")


class EventList(list):
    """A list of events (or averages) that prints as PyTorch's profiler table."""

    def key_averages(self, group_by_input_shape: bool = False) -> "EventList":
        groups: dict = {}
        for e in self:
            shapes = str(e.input_shapes) if group_by_input_shape else None
            key = (e.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(e.key, shapes)
            groups[key].add(e)
        return EventList(groups.values())

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_name_column_width: int = 55,
              header: str | None = None, top_level_events_only: bool = False, **kwargs) -> str:
        """The events as a text table, sorted by ``sort_by`` (an attribute such as
        "cpu_time_total", "self_cpu_time_total", "count"; largest first)."""
        rows = list(self)
        if sort_by is not None:
            key = sort_by.replace("cuda", "cpu").replace("device", "cpu")  # no device timing
            if rows and not hasattr(rows[0], key):
                raise AttributeError(f"table(sort_by={sort_by!r}): events have no such attribute "
                                     "(try 'cpu_time_total', 'self_cpu_time_total' or 'count')")
            rows.sort(key=lambda e: getattr(e, key), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total = self.self_cpu_time_total
        shapes = any(getattr(e, "input_shapes", None) for e in rows)
        names = [e.key[:max_name_column_width] for e in rows]
        width = max([len("Name")] + [len(n) for n in names]) + 2
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        cols += ["Input Shapes"] if shapes else []
        line = "-" * width + "  " + "  ".join("-" * 12 for _ in cols)
        out = [header] if header else []
        out += [line, "Name".rjust(width) + "  " + "  ".join(c.rjust(12) for c in cols), line]
        for name, e in zip(names, rows):
            count = getattr(e, "count", 1)
            cells = [_percent(e.self_cpu_time_total, total), _time(e.self_cpu_time_total),
                     _percent(e.cpu_time_total, total), _time(e.cpu_time_total),
                     _time(e.cpu_time_total / max(count, 1)), str(count)]
            cells += [str(e.input_shapes or "")] if shapes else []
            out.append(name.rjust(width) + "  " + "  ".join(c.rjust(12) for c in cells))
        out += [line, f"Self CPU time total: {_time(total)}", ""]
        return "\n".join(out)

    def total_average(self) -> FunctionEventAvg:
        avg = FunctionEventAvg("Total")
        for e in self:
            avg.count += getattr(e, "count", 1)
            avg.cpu_time_total += e.cpu_time_total
            avg.self_cpu_time_total += e.self_cpu_time_total
        return avg

    def __str__(self) -> str:
        return self.table()


def _time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    return f"{us / 1e3:.3f}ms" if us >= 1e3 else f"{us:.3f}us"


def _percent(part: float, total: float) -> str:
    return f"{100 * part / total:.2f}%" if total > 0 else "0.00%"


def _op_name(cls: type) -> str:
    """"ember::" and the snake-case name of an op's node: MmBackward0 -> ember::mm."""
    name = _OP_NAMES.get(cls)
    if name is None:
        base = re.sub(r"Backward\d*$", "", cls._node.__name__)
        name = _OP_NAMES[cls] = "ember::" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()
    return name


_OP_NAMES: dict = {}


class profile:
    """Record every op (and ``record_function`` range) run inside ``with profile() as prof:``;
    ``prof.key_averages().table(sort_by="cpu_time_total")`` prints a summary.

    Only wall times on the CPU are measured: ``use_cuda``, ``profile_memory``, ``with_flops``
    and similar options are accepted and have no effect.
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        self.enabled, self.record_shapes = enabled, record_shapes
        self.function_events: EventList | None = None
        self._events: list = []
        self._ranges: list = []  # open record_function events, innermost last
        self._running = False

    # ---- context -----------------------------------------------------------------------
    def __enter__(self) -> "profile":
        if self.enabled:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stop()

    def start(self) -> None:
        if isinstance(_function.INTERCEPT, profile):
            raise RuntimeError("profile: a profiler is already running; profilers cannot be "
                               "nested (read the outer one's results instead)")
        if _function.INTERCEPT is not None:
            raise RuntimeError("profile: ember.compile is capturing a graph; start the profiler "
                               "outside the compiled function")
        self._running = True
        _function.INTERCEPT = self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        _function.INTERCEPT = None
        self.function_events = EventList(self._events)

    # ---- recording (called by Function.apply and record_function) ---------------------
    def record(self, cls: type, args: tuple):
        """Run one op with this profiler paused, and record its wall time."""
        shapes = [list(a.shape) if hasattr(a, "_data") else [] for a in args] if self.record_shapes else []
        event = FunctionEvent(_op_name(cls), time.perf_counter_ns(), shapes)
        try:
            with _function.unintercepted():  # the op runs unprofiled: ops it calls count toward it
                return cls.apply(*args)
        finally:
            self._close(event)

    def _open_range(self, name: str) -> FunctionEvent:
        event = FunctionEvent(name, time.perf_counter_ns(), [], is_range=True)
        self._ranges.append(event)
        return event

    def _close_range(self, event: FunctionEvent) -> None:
        if event in self._ranges:
            self._ranges.remove(event)
            self._close(event)

    def _close(self, event: FunctionEvent) -> None:
        event.end_ns = time.perf_counter_ns()
        if self._ranges:  # time inside the innermost open range is not that range's self time
            self._ranges[-1].children_ns += event.end_ns - event.start_ns
        self._events.append(event)

    # ---- results -----------------------------------------------------------------------
    def _finished(self) -> EventList:
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running (read the results after the "
                               "`with profile(...)` block)")
        return self.function_events

    def events(self) -> EventList:
        return self._finished()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        return self._finished().key_averages(group_by_input_shape)

    def table(self, **kwargs) -> str:
        return self._finished().table(**kwargs)

    @property
    def self_cpu_time_total(self) -> float:
        return self._finished().self_cpu_time_total

    def total_average(self) -> FunctionEventAvg:
        return self._finished().total_average()

    def export_chrome_trace(self, path) -> None:
        """Write the events in Chrome's trace format (chrome://tracing, Perfetto)."""
        events = self._finished()
        origin = min((e.start_ns for e in events), default=0)
        trace = [{"name": e.name, "ph": "X", "cat": "user_annotation" if e.is_range else "cpu_op",
                  "ts": (e.start_ns - origin) / 1e3, "dur": e.cpu_time_total, "pid": 0, "tid": 0,
                  "args": {"Input Dims": e.input_shapes}} for e in events]
        with open(path, "w") as f:
            json.dump({"traceEvents": trace}, f)

    def __str__(self) -> str:
        return self.table()


class record_function:
    """A named range in the profile: ``with record_function("forward"):`` or as a decorator."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name
        self._open = None  # (profiler, event) while inside a running profile

    def __enter__(self) -> "record_function":
        p = _function.INTERCEPT
        self._open = (p, p._open_range(self.name)) if isinstance(p, profile) else None
        return self

    def __exit__(self, *exc) -> None:
        if self._open is not None:
            p, event = self._open
            p._close_range(event)
            self._open = None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped
