"""ember.autograd.profiler and ember.profiler: op counts, wall times, ranges, schedules."""
import json

import pytest

import ember
from ember.autograd import function as function_module
from ember.autograd.profiler import profile, record_function
from helpers import torch


def _model():
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(6, 5), ember.nn.ReLU(), ember.nn.Linear(5, 2))


def _counts(events) -> dict:
    return {e.key: e.count for e in events}


def test_counts_every_op_call_and_times_are_positive():
    x = ember.randn(4, 3, requires_grad=True)
    with profile() as prof:
        for _ in range(3):
            y = (x * 2).exp()
        y.sum().backward()
    avg = prof.key_averages()
    counts = _counts(avg)
    assert counts["ember::mul"] >= 3 and counts["ember::exp"] == 3 and counts["ember::sum"] >= 1
    assert all(e.cpu_time_total > 0 and e.cpu_time_total >= e.self_cpu_time_total for e in avg)
    assert sum(e.count for e in avg) == len(prof.events())


def test_op_names_follow_the_node_names():
    x, w = ember.randn(3, 4, requires_grad=True), ember.randn(4, 2, requires_grad=True)
    with profile() as prof:
        (x @ w).mean()
        x[0]
    assert {"ember::mm", "ember::mean", "ember::select"} <= set(_counts(prof.key_averages()))


def test_record_function_ranges_hold_their_ops_time():
    with profile() as prof:
        with record_function("forward"):
            out = _model()(ember.randn(8, 6))
        out.sum()
    forward = next(e for e in prof.events() if e.name == "forward")
    inside = [e for e in prof.events() if e.start_ns >= forward.start_ns and e.end_ns <= forward.end_ns
              and e is not forward]
    assert inside and forward.cpu_time_total >= sum(e.cpu_time_total for e in inside)
    assert forward.self_cpu_time_total == pytest.approx(
        forward.cpu_time_total - sum(e.cpu_time_total for e in inside), abs=1e-3)


def test_record_function_as_decorator_and_without_profiler():
    @record_function("block")
    def block(x):
        return x + 1

    assert block(ember.ones(1)).item() == 2.0  # no profiler: a plain call
    with profile() as prof:
        block(ember.ones(1))
    assert _counts(prof.key_averages())["block"] == 1


def test_table_sorts_limits_rows_and_shows_shapes():
    with profile(record_shapes=True) as prof:
        _model()(ember.randn(8, 6))
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    lines = table.splitlines()
    assert "Name" in lines[1] and "# of Calls" in lines[1] and "Self CPU time total" in table
    assert len(lines) == 2 + 3 + 1 + 1  # rules and header, 2 rows, rule, total, blank
    rows = prof.key_averages()
    top = max(rows, key=lambda e: e.cpu_time_total)
    assert top.key in lines[3]
    shaped = prof.key_averages(group_by_input_shape=True).table(row_limit=50)
    assert "Input Shapes" in shaped and "[8, 6]" in shaped
    with pytest.raises(AttributeError, match="sort_by"):
        prof.key_averages().table(sort_by="no_such_column")


def test_profiler_is_off_outside_the_block_even_after_an_error():
    assert function_module.INTERCEPT is None
    with pytest.raises(ValueError):
        with profile():
            assert function_module.INTERCEPT is not None
            raise ValueError
    assert function_module.INTERCEPT is None
    with profile(enabled=False) as prof:
        ember.ones(1) + 1
    assert function_module.INTERCEPT is None and prof.function_events is None


def test_nested_profilers_and_early_results_are_refused():
    with profile() as outer:
        with pytest.raises(RuntimeError, match="already running"):
            profile().__enter__()
        with pytest.raises(RuntimeError, match="didn't finish"):
            outer.key_averages()


def test_results_match_what_ran_with_profiling():
    x = ember.randn(5, 5)
    expected = (x @ x).relu().sum().item()
    with profile():
        got = (x @ x).relu().sum().item()
    assert got == expected


def test_no_cost_when_no_profiler_runs():
    # Function.apply reaches the profiler only through the module global INTERCEPT; with it
    # None, no profiler code runs for an op.
    calls = []

    class Spy:
        def record(self, cls, args):
            calls.append(cls)
            return None

    ember.ones(2) * 3
    assert calls == []
    function_module.INTERCEPT = Spy()
    try:
        ember.ones(2) * 3
    finally:
        function_module.INTERCEPT = None
    assert len(calls) == 1


def test_chrome_trace_export(tmp_path):
    with profile() as prof:
        with record_function("range"):
            ember.ones(3).exp()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    names = [e["name"] for e in json.loads(path.read_text())["traceEvents"]]
    assert "range" in names and "ember::exp" in names


def test_torch_profiler_api_with_schedule_matches_torch_actions():
    kw = dict(wait=1, warmup=1, active=2, repeat=1, skip_first=1)
    assert [a.name for a in map(ember.profiler.schedule(**kw), range(9))] == \
        [a.name for a in map(torch.profiler.schedule(**kw), range(9))]
    saved = []
    model = _model()
    with ember.profiler.profile(activities=[ember.profiler.ProfilerActivity.CPU],
                                schedule=ember.profiler.schedule(wait=1, warmup=1, active=2, repeat=1),
                                on_trace_ready=lambda p: saved.append(p.key_averages()),
                                record_shapes=True) as prof:
        for step in range(6):
            with ember.profiler.record_function(f"step{step}"):
                model(ember.randn(2, 6)).sum().backward()
            prof.step()
    assert len(saved) == 1
    counts = _counts(saved[0])
    assert counts.get("step2") == counts.get("step3") == 1 and "step0" not in counts
    assert "step1" not in counts and "step4" not in counts
    assert "ember::addmm" in prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)


def test_torch_profiler_without_schedule_records_everything(tmp_path):
    with ember.profiler.profile(on_trace_ready=ember.profiler.tensorboard_trace_handler(str(tmp_path))) as prof:
        ember.ones(2).exp()
    assert _counts(prof.key_averages())["ember::exp"] == 1
    assert len(list(tmp_path.glob("*.pt.trace.json"))) == 1


def test_an_op_of_another_thread_outliving_the_profiler_leaves_it_off():
    """An op another thread began while profiling and ends after: the profiler stays off, and
    this thread's ops were timed meanwhile (the other thread's op pauses only its own)."""
    import threading
    inside, release = threading.Event(), threading.Event()

    class Waits(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            inside.set()
            release.wait(30)
            return x._data * 2

    worker = threading.Thread(target=lambda: Waits.apply(ember.ones(3)))
    with profile() as prof:
        worker.start()
        inside.wait(30)
        ember.ones(2).exp()
    release.set()
    worker.join()
    assert function_module.INTERCEPT is None
    assert "exp" in {e.name.split("::")[-1] for e in prof.function_events}
