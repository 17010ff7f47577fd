"""Parity helpers: run the same code on ember and on PyTorch and compare everything.

``check_op(shapes, fn)`` is the workhorse (after tinygrad's helper_test_op): identical
random inputs, compare outputs, back-propagate the same random cotangent (not .sum(),
which hides errors) and compare every input's gradient.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

DTYPES = {"float16": (ember.float16, torch.float16), "float32": (ember.float32, torch.float32),
          "float64": (ember.float64, torch.float64), "int8": (ember.int8, torch.int8),
          "int16": (ember.int16, torch.int16), "int32": (ember.int32, torch.int32),
          "int64": (ember.int64, torch.int64), "uint8": (ember.uint8, torch.uint8),
          "bool": (ember.bool, torch.bool)}
TOL = {"float16": (1e-2, 1e-2), "float32": (1e-5, 1e-4), "float64": (1e-10, 1e-8)}

# Where ember's side of a parity check runs. tests/cuda/ reruns the parity suites with
# EMBER_TEST_DEVICE=cuda, so the same checks prove the CUDA backend against PyTorch on the CPU.
DEVICE = os.environ.get("EMBER_TEST_DEVICE", "cpu")


def host(t) -> np.ndarray:
    """An ember or torch tensor's values as a NumPy array on the host."""
    return t.detach().cpu().numpy()


def to_torch(t: ember.Tensor, requires_grad: bool | None = None):
    out = torch.from_numpy(np.array(host(t), copy=True))
    if requires_grad if requires_grad is not None else t.requires_grad:
        out.requires_grad_(True)
    return out


def to_ember(t, requires_grad: bool | None = None) -> ember.Tensor:
    out = ember.tensor(t.detach().cpu().numpy())
    if requires_grad if requires_grad is not None else t.requires_grad:
        out.requires_grad_(True)
    return out


def assert_close(e, t, atol: float = 1e-5, rtol: float = 1e-4, what: str = "value") -> None:
    """Compare an ember result with a PyTorch one: shape, dtype name and values."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{what}: {e!r} vs {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_close(a, b, atol, rtol, f"{what}[{i}]")
        return
    if t is None:  # e.g. attention weights when need_weights=False
        assert e is None, f"{what}: expected None, got {e!r}"
        return
    if not isinstance(t, torch.Tensor):
        assert e == pytest.approx(t, rel=rtol, abs=atol), f"{what}: {e} vs {t}"
        return
    assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} vs torch {tuple(t.shape)}"
    assert e.dtype.name == str(t.dtype).replace("torch.", ""), f"{what}: dtype {e.dtype} vs {t.dtype}"
    np.testing.assert_allclose(np.asarray(host(e), np.float64),
                               t.detach().double().numpy(), atol=atol, rtol=rtol, err_msg=what)


def make_inputs(shapes, dtype: str = "float32", low: float = -2.0, high: float = 2.0,
                requires_grad: bool = True, seed: int = 0, values=None):
    """The same random inputs as ember and torch tensors."""
    rng = np.random.default_rng(seed)
    e_dt, t_dt = DTYPES[dtype]
    ins_e, ins_t = [], []
    for i, shape in enumerate(shapes):
        if values is not None and values[i] is not None:
            arr = np.asarray(values[i])
        elif dtype == "bool":
            arr = rng.random(shape) > 0.5
        elif e_dt.is_floating_point:
            arr = rng.uniform(low, high, size=shape)
        else:
            arr = rng.integers(int(low), int(high) + 1, size=shape)
        arr = np.asarray(arr).astype(e_dt.np)
        rg = requires_grad and e_dt.is_floating_point
        ins_e.append(ember.tensor(arr, requires_grad=rg, device=DEVICE))
        ins_t.append(torch.tensor(arr, requires_grad=rg))
    return ins_e, ins_t


def assert_on_device(out, what: str = "output") -> None:
    """Every tensor an op returned lives where its inputs do (DEVICE)."""
    for i, o in enumerate(out if isinstance(out, (tuple, list)) else (out,)):
        if isinstance(o, ember.Tensor):
            assert o.device.type == DEVICE, f"{what} {i} is on {o.device}, its inputs on {DEVICE}"


def _float_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if hasattr(o, "is_floating_point") and o.is_floating_point() and o.requires_grad]


def check_op(shapes, fn, ember_fn=None, *, dtype: str = "float32", low: float = -2.0,
             high: float = 2.0, atol: float | None = None, rtol: float | None = None,
             grad: bool = True, values=None, seed: int = 0):
    """Run ``fn`` (or ``ember_fn`` for ember) on identical inputs; compare values and grads."""
    d_atol, d_rtol = TOL.get(dtype, (0, 0))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    ins_e, ins_t = make_inputs(shapes, dtype, low, high, grad, seed, values)
    out_t = fn(*ins_t)
    out_e = (ember_fn or fn)(*ins_e)
    assert_on_device(out_e)
    assert_close(out_e, out_t, atol, rtol, "forward")
    if not grad or not DTYPES[dtype][0].is_floating_point:
        return out_e, out_t
    fo_t, fo_e = _float_outputs(out_t), _float_outputs(out_e)
    assert len(fo_t) == len(fo_e), "different number of differentiable outputs"
    if not fo_t:
        return out_e, out_t
    rng = np.random.default_rng(seed + 1)
    cots = [rng.standard_normal(tuple(o.shape)).astype(DTYPES[dtype][0].np) for o in fo_t]
    torch.autograd.backward(fo_t, [torch.tensor(c) for c in cots])
    ember.autograd.backward(fo_e, [ember.tensor(c, device=o.device) for c, o in zip(cots, fo_e)])
    for i, (a, b) in enumerate(zip(ins_e, ins_t)):
        if b.requires_grad:
            if b.grad is None:
                assert a.grad is None or not np.any(host(a.grad)), f"grad of input {i} should be None/zero"
            else:
                assert a.grad is not None, f"input {i}: torch has a gradient, ember has none"
                assert_close(a.grad, b.grad, atol * 10, rtol * 10, f"grad of input {i}")
    return out_e, out_t


def check_gradcheck(shapes, fn, *, low: float = -2.0, high: float = 2.0, second_order: bool = True,
                    values=None, seed: int = 0, atol: float = 1e-5, rtol: float = 1e-3):
    """float64 finite differences of ember's first (and second) derivatives of ``fn``."""
    ins, _ = make_inputs(shapes, "float64", low, high, True, seed, values)
    assert ember.autograd.gradcheck(fn, ins, atol=atol, rtol=rtol)
    if second_order:
        assert ember.autograd.gradgradcheck(fn, ins, atol=atol, rtol=rtol)


def copy_weights(e_mod, t_mod) -> None:
    """Load a PyTorch module's weights into its ember twin, checking that both state_dicts
    have the same keys (in order) and shapes."""
    e_sd, t_sd = e_mod.state_dict(), t_mod.state_dict()
    assert list(e_sd) == list(t_sd), f"state_dict keys {list(e_sd)} vs torch {list(t_sd)}"
    for k in t_sd:
        assert tuple(e_sd[k].shape) == tuple(t_sd[k].shape), f"{k}: {tuple(e_sd[k].shape)} vs {tuple(t_sd[k].shape)}"
    e_mod.load_state_dict(t_sd)


def check_module(e_mod, t_mod, shapes, *, dtype: str = "float32", low: float = -2.0, high: float = 2.0,
                 atol: float | None = None, rtol: float | None = None, values=None, seed: int = 0,
                 grad: bool = True):
    """Copy ``t_mod``'s weights into ``e_mod``, run both on identical inputs, compare the
    outputs, then back-propagate one random cotangent and compare the gradients of every
    input and every parameter (by name)."""
    d_atol, d_rtol = TOL.get(dtype, (0, 0))
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    if DTYPES[dtype][0].is_floating_point:
        e_mod.to(DTYPES[dtype][0])
        t_mod.to(DTYPES[dtype][1])
    e_mod.to(DEVICE)
    copy_weights(e_mod, t_mod)
    ins_e, ins_t = make_inputs(shapes, dtype, low, high, grad, seed, values)
    out_t = t_mod(*ins_t)
    out_e = e_mod(*ins_e)
    assert_on_device(out_e)
    assert_close(out_e, out_t, atol, rtol, "forward")
    fo_t, fo_e = _float_outputs(out_t), _float_outputs(out_e)
    if not grad or not fo_t:
        return out_e, out_t
    rng = np.random.default_rng(seed + 1)
    cots = [rng.standard_normal(tuple(o.shape)).astype(DTYPES[dtype][0].np) for o in fo_t]
    torch.autograd.backward(fo_t, [torch.tensor(c) for c in cots])
    ember.autograd.backward(fo_e, [ember.tensor(c, device=o.device) for c, o in zip(cots, fo_e)])
    for i, (a, b) in enumerate(zip(ins_e, ins_t)):
        if b.grad is not None:
            assert_close(a.grad, b.grad, atol * 10, rtol * 10, f"grad of input {i}")
    e_params = dict(e_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        if p.grad is None:
            assert e_params[name].grad is None, f"{name}: torch has no gradient, ember has one"
        else:
            assert_close(e_params[name].grad, p.grad, atol * 10, rtol * 10, f"grad of {name}")
    return out_e, out_t


def assert_same_tree(e, t, what: str = "value") -> None:
    """Same nested structure (container types, keys, lengths) with equal leaves; tensors
    compared exactly with assert_close (shape, dtype, values)."""
    if isinstance(t, torch.Tensor):
        assert_close(e, t, 0, 0, what)
        return
    assert type(e) is type(t), f"{what}: {type(e).__name__} vs torch {type(t).__name__}"
    if isinstance(t, dict):
        assert list(e) == list(t), f"{what}: keys {list(e)} vs {list(t)}"
        for k in t:
            assert_same_tree(e[k], t[k], f"{what}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert len(e) == len(t), f"{what}: length {len(e)} vs {len(t)}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same_tree(a, b, f"{what}[{i}]")
    elif isinstance(t, np.ndarray):
        np.testing.assert_array_equal(e, t, err_msg=what)
    else:
        assert e == t, f"{what}: {e!r} vs {t!r}"


def check_case(shapes, case, **kwargs):
    """check_op for code written once as ``case(m, *tensors)``, where ``m`` is the torch or the
    ember module (for cases that build tensors: ``lambda m, x: x[m.tensor([0, 2])]``)."""
    return check_op(shapes, lambda *xs: case(torch, *xs), lambda *xs: case(ember, *xs), **kwargs)


class LocalServer:
    """An HTTP server on 127.0.0.1 serving ``directory`` from a background thread, for testing
    downloads offline: ``with LocalServer(dir) as server: fetch(server.url + "/file")``.
    ``requests`` lists the paths asked for; the server is shut down and joined on exit."""

    def __init__(self, directory):
        import functools
        import http.server
        import threading

        requests = self.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def unused_local_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _EmberCase(ember.nn.Module):
    def __init__(self, inner, case):
        super().__init__()
        self.inner, self._case = inner, case

    def forward(self, *xs):
        return self._case(ember, self.inner, *xs)


class _TorchCase(torch.nn.Module):
    def __init__(self, inner, case):
        super().__init__()
        self.inner, self._case = inner, case

    def forward(self, *xs):
        return self._case(torch, self.inner, *xs)


def check_module_case(e_mod, t_mod, shapes, case, **kwargs):
    """check_module for calls written once as ``case(m, module, *tensors)``, where ``m`` is the
    torch or the ember package (to pass masks or keyword arguments:
    ``lambda m, mha, q: mha(q, q, q, attn_mask=m.ones(3, 3, dtype=m.bool))``)."""
    return check_module(_EmberCase(e_mod, case), _TorchCase(t_mod, case), shapes, **kwargs)


def results_in_threads(call, threads: int, calls: int = 20) -> list:
    """The results of ``call()`` run ``calls`` times in each of ``threads`` threads at once; an
    exception in any thread is raised here (in the thread it would pass silently)."""
    import threading
    results, errors = [], []

    def work():
        try:
            for _ in range(calls):
                results.append(call())
        except Exception as e:
            errors.append(e)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    assert len(results) == threads * calls
    return results


def kernel_path(compiled: bool):
    """A context in which ops take their compiled-kernel paths (``compiled``, as configured)
    or their NumPy paths (``kernels.off()``)."""
    from ember.backend import kernels
    return contextlib.nullcontext() if compiled else kernels.off()


@contextlib.contextmanager
def num_threads(n: int):
    """ember computing on ``n`` threads within the block, then as before: a default count stays
    the default (OMP_NUM_THREADS or the cores), not a count recorded as set by hand, which
    later tests of the defaults would read."""
    from ember.backend import threads
    saved, before = dict(threads._state), ember.get_num_threads()
    ember.set_num_threads(n)
    try:
        yield
    finally:
        ember.set_num_threads(before)  # the pools back to their count
        threads._state.clear()
        threads._state.update(saved)


def count_calls(monkeypatch, module, names, counts: dict | None = None) -> dict:
    """name -> calls of each function ``names`` of ``module`` (compiled kernels), counted through
    the module attributes the ops look up, so a call that took another path is not counted;
    into ``counts`` when given (several modules' kernels in one dict)."""
    counts = {} if counts is None else counts
    for name in names:
        def counted(*args, _fn=getattr(module, name), _name=name):
            counts[_name] = counts.get(_name, 0) + 1
            return _fn(*args)
        monkeypatch.setattr(module, name, counted)
    return counts


def value_and_grad(lib, fn, x: np.ndarray, grad: np.ndarray) -> tuple:
    """(fn(lib, t), t.grad after backward from ``grad``) as arrays, t = lib.tensor(x) (ember or torch)."""
    t = lib.tensor(x, requires_grad=True)
    y = fn(lib, t)
    y.backward(lib.tensor(grad))
    return y.detach().numpy(), t.grad.numpy()
