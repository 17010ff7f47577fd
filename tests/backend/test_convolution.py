"""Convolutions through oneDNN's primitives (ember/backend/convolution.py): values and both
gradients against PyTorch and against ember's NumPy path for every geometry the layers
allow, the cases left to NumPy (and that they are), the primitive cache, and threads."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import convolution, onednn, primitives
from helpers import results_in_threads, torch

TF = torch.nn.functional
RNG = np.random.default_rng(0)

pytestmark = pytest.mark.skipif(onednn.library() is None, reason="oneDNN is not in use here")


@pytest.fixture
def runs(monkeypatch):
    """kind of primitive -> number of oneDNN executions."""
    counts = {}
    run = primitives.Primitive.run

    def counted(self, lib, arrays, given=None):
        kind = {primitives.ARG_DST: "forward", primitives.ARG_DIFF_SRC: "backward_data",
                primitives.ARG_DIFF_WEIGHTS: "backward_weights"}[next(a for a, out in self.kinds if out)]
        counts[kind] = counts.get(kind, 0) + 1
        return run(self, lib, arrays, given)
    monkeypatch.setattr(primitives.Primitive, "run", counted)
    return counts


def _array(shape, dtype="float32"):
    return RNG.standard_normal(shape).astype(dtype)


CASES = [  # (op, input shape, weight shape, keyword arguments)
    ("conv2d", (4, 3, 9, 11), (5, 3, 3, 3), dict(padding=1)),
    ("conv2d", (3, 4, 10, 9), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ("conv2d", (2, 6, 8, 8), (6, 1, 3, 3), dict(padding=2, dilation=2, groups=6)),  # depthwise
    ("conv2d", (5, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),
    ("conv2d", (2, 16, 7, 7), (32, 16, 1, 1), dict(stride=2)),
    ("conv1d", (3, 4, 20), (8, 4, 5), dict(stride=3, padding=2)),
    ("conv3d", (2, 3, 6, 7, 5), (4, 3, 3, 2, 3), dict(padding=(1, 0, 1), stride=(1, 2, 1))),
    ("conv_transpose2d", (3, 6, 5, 4), (6, 4, 3, 3), dict(stride=2, padding=1)),
    ("conv_transpose1d", (2, 4, 9), (4, 6, 4), dict(stride=1, dilation=2)),
]


def _run(lib, op, x, w, b, kw, g):
    x, w = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
    bias = None if b is None else lib.tensor(b, requires_grad=True)
    y = getattr(F if lib is ember else TF, op)(x, w, bias, **kw)
    y.backward(lib.tensor(g))
    grads = [x.grad, w.grad] + ([] if bias is None else [bias.grad])
    return [t.detach().numpy() for t in [y] + grads]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("op,xs,ws,kw", CASES)
def test_values_and_gradients_match_torch_and_numpy(runs, op, xs, ws, kw, bias):
    x, w = _array(xs), _array(ws)
    out_channels = ws[1] * kw.get("groups", 1) if "transpose" in op else ws[0]
    b = _array(out_channels) if bias else None
    g = _array(getattr(TF, op)(torch.tensor(x), torch.tensor(w), **kw).shape)
    want = _run(torch, op, x, w, b, kw, g)
    got = _run(ember, op, x, w, b, kw, g)
    # forward, input gradient, weight gradient (a transposed convolution's forward is the
    # input gradient's primitive, and the other way round)
    assert runs == {"forward": 1, "backward_data": 1, "backward_weights": 1}
    with onednn.off():
        numpy_path = _run(ember, op, x, w, b, kw, g)
    for e, t, n in zip(got, want, numpy_path):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(e, n, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False), (False, True, False),
                                   (False, True, True), (False, False, True), (True, False, True)])
def test_training_backward_gives_each_asked_gradient(needs):
    """The backward of a training step (nothing recorded) for every combination of inputs
    that want a gradient: the same values as PyTorch's and as the recorded backward's
    (create_graph), and no gradient where none is asked."""
    x, w, b = _array((3, 4, 9, 8)), _array((6, 2, 3, 3)), _array(6)
    g = _array((3, 6, 5, 8))
    kw = dict(stride=(2, 1), padding=1, groups=2)

    def grads(lib, create_graph=False):
        ts = [lib.tensor(a, requires_grad=n) for a, n in zip((x, w, b), needs)]
        y = (F if lib is ember else TF).conv2d(*ts, **kw)
        y.backward(lib.tensor(g), create_graph=create_graph)
        return [None if t.grad is None else t.grad.detach().numpy() for t in ts]
    want, got, recorded = grads(torch), grads(ember), grads(ember, create_graph=True)
    for t, e, r, n in zip(want, got, recorded, needs):
        assert (e is None) == (not n) and (r is None) == (not n)
        if n:
            np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(e, r, rtol=1e-4, atol=1e-4)


def test_training_backward_reorders_the_output_gradient_once(monkeypatch):
    """The input's and the weight's gradient primitives read one blocked copy of the output's
    gradient, and the bias's gradient comes from the weight gradient's primitive (no sum)."""
    reordered = []
    run_reorder = primitives._Operand.run_reorder

    def counted(self, lib):
        if self.reorder is not None:
            reordered.append(self)
        run_reorder(self, lib)
    x = ember.tensor(_array((8, 16, 12, 12)), requires_grad=True)
    w = ember.tensor(_array((16, 16, 3, 3)), requires_grad=True)
    b = ember.tensor(_array(16), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    monkeypatch.setattr(primitives._Operand, "run_reorder", counted)
    monkeypatch.setattr(ember.Tensor, "sum", None)  # the bias's gradient may not be a tensor sum
    y.backward(ember.ones_like(y))
    diff_dst = [op for op in reordered if any(op is o for p in _primitives() for o, (arg, _) in
                                              zip(p.operands, p.kinds) if arg == primitives.ARG_DIFF_DST)]
    assert len(diff_dst) == 1
    np.testing.assert_allclose(b.grad.numpy(), np.full(16, 8 * 12 * 12), rtol=1e-6)


@pytest.mark.parametrize("bias_grad", [True, False])
def test_training_backward_uses_the_forwards_geometry(monkeypatch, bias_grad):
    """The gradients' primitives come from the forward's family (one geometry made once),
    whether or not the bias wants a gradient."""
    made = []
    init = convolution._Convolution.__init__

    def counted(self, lib, *args):
        made.append(args)
        init(self, lib, *args)
    monkeypatch.setattr(convolution._Convolution, "__init__", counted)
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    x = ember.tensor(_array((4, 8, 10, 10)), requires_grad=True)
    w = ember.tensor(_array((8, 8, 3, 3)), requires_grad=True)
    b = ember.tensor(_array(8), requires_grad=bias_grad)
    F.conv2d(x, w, b, padding=1).sum().backward()
    assert len(made) == 1 and (b.grad is not None) == bias_grad


def _primitives():
    return [p for v in primitives._cache.values() if isinstance(v, primitives.Family)
            for p in v.__dict__.get("primitives", {}).values()]


def test_float64_half_and_refused_geometries_use_numpy(runs):
    x = _array((2, 3, 8, 8), "float64")
    F.conv2d(ember.tensor(x), ember.tensor(_array((4, 3, 3, 3), "float64")))
    F.conv2d(ember.tensor(x.astype("float16")), ember.tensor(_array((4, 3, 3, 3), "float16")))
    assert runs == {}
    # a transposed convolution's output padding: oneDNN refuses the geometry, NumPy computes it
    xt, wt = _array((2, 4, 5, 5)), _array((4, 2, 3, 3))
    got = F.conv_transpose2d(ember.tensor(xt), ember.tensor(wt), stride=2, output_padding=1).numpy()
    want = TF.conv_transpose2d(torch.tensor(xt), torch.tensor(wt), stride=2, output_padding=1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_non_contiguous_inputs(runs):
    x = _array((3, 10, 10, 4)).transpose(0, 3, 1, 2)  # channels-last memory
    w = _array((3, 3, 5, 4)).transpose(2, 3, 0, 1)
    got = F.conv2d(ember.tensor(x), ember.tensor(w), padding=1).numpy()
    want = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert runs == {"forward": 1}


def test_reference_implementations_are_refused_for_numpys_path(monkeypatch, runs):
    """Where oneDNN has only its reference loops for a primitive (its fallback without a JIT
    kernel: many times slower than NumPy), ember computes with NumPy instead, with the same
    values."""
    monkeypatch.setattr(primitives, "_impl", lambda lib, pd: "ref:any")
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    x, w = _array((2, 3, 8, 8)), _array((4, 3, 3, 3))
    got = F.conv2d(ember.tensor(x), ember.tensor(w), padding=1).numpy()
    assert runs == {}
    want = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_primitives_are_made_once_per_geometry(monkeypatch):
    made = []
    init = convolution._Convolution.__init__

    def counted(self, *args):
        made.append(args[1:4])
        init(self, *args)
    monkeypatch.setattr(convolution._Convolution, "__init__", counted)
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    w = ember.tensor(_array((4, 3, 3, 3)))
    for _ in range(3):
        F.conv2d(ember.tensor(_array((2, 3, 8, 8))), w)
    F.conv2d(ember.tensor(_array((5, 3, 8, 8))), w)
    assert made == [((2, 3, 8, 8), (4, 3, 3, 3), (2, 4, 6, 6)), ((5, 3, 8, 8), (4, 3, 3, 3), (5, 4, 6, 6))]


def test_threads_share_a_primitive_safely():
    x, w = _array((8, 3, 16, 16)), _array((8, 3, 3, 3))
    want = TF.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    results = results_in_threads(lambda: F.conv2d(ember.tensor(x), ember.tensor(w)).numpy(), threads=3)
    for r in results:
        np.testing.assert_allclose(r, want, rtol=1e-4, atol=1e-4)


def test_evicted_primitives_are_released_and_rebuilt(monkeypatch):
    released = []
    destroy = primitives.Primitive.__del__

    def counted(self):
        if self._lib is not None:
            released.append(self.impl)
        destroy(self)
    monkeypatch.setattr(primitives.Primitive, "__del__", counted)
    monkeypatch.setattr(primitives, "_cache", type(primitives._cache)())
    monkeypatch.setattr(primitives, "CACHE_SIZE", 4)
    w = ember.tensor(_array((4, 3, 3, 3)))
    for n in range(1, 7):  # six geometries: each a forward primitive and its geometry's entry
        F.conv2d(ember.tensor(_array((n, 3, 8, 8))), w)
    assert len(primitives._cache) == 4 and len(released) >= 3
    x = _array((1, 3, 8, 8))  # the first geometry again, rebuilt
    np.testing.assert_allclose(F.conv2d(ember.tensor(x), w).numpy(),
                               TF.conv2d(torch.tensor(x), torch.tensor(w.numpy())).numpy(), rtol=1e-4, atol=1e-4)


_FIRST_USE_IN_THREADS = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np, ember, ember.nn.functional as F
from helpers import results_in_threads
x = np.random.default_rng(0).standard_normal((8, 3, 16, 16)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((8, 3, 3, 3)).astype(np.float32)
results = results_in_threads(lambda: F.conv2d(ember.tensor(x), ember.tensor(w)).numpy(), threads=3)
assert all(np.array_equal(r, results[0]) for r in results)
print("ok")
"""


def test_threads_making_the_first_convolution_at_once():
    """In a fresh process, three threads' first convolutions: the engine, the stream and the
    C signatures are made once (threads racing to make them had run a primitive on another
    thread's stream: oneDNN's status 2)."""
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, "-c", _FIRST_USE_IN_THREADS, tests], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
