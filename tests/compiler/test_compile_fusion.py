"""ember.compile's fusion: runs of element-wise ops replay as one compiled loop (forward and
backward) with eager ember's values and gradients, bit for bit where the module promises it,
and PyTorch's to float tolerance."""
import math

import numpy as np
import pytest
import torch

import ember
from ember.backend import kernels

from helpers_compile import entries

pytestmark = pytest.mark.skipif(kernels.cpu() is None, reason="fusion compiles its loops with Numba")


def _gelu_tanh(lib, x):  # nanoGPT's NewGELU: eight element-wise ops
    return 0.5 * x * (1.0 + lib.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * lib.pow(x, 3.0))))


def _fused_steps(compiled):
    return [s for e in entries(compiled) if e.graph is not None for s in e.graph.steps
            if s.name.startswith("ember.compile>fused")]


def _run(fn, inputs, grad_seed=1, calls=3):
    """fn compiled, called ``calls`` times (the last replays), and fn eager, on copies of the
    inputs: (compiled output, eager output, compiled grads, eager grads, compiled fn)."""
    compiled = ember.compile(fn)
    for _ in range(calls - 1):
        compiled(*[t.detach().requires_grad_(t.requires_grad) for t in inputs])
    assert entries(compiled)[0].graph is not None  # the next call replays
    results = []
    for f in (compiled, fn):
        xs = [t.detach().requires_grad_(t.requires_grad) for t in inputs]
        out = f(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        rng = np.random.default_rng(grad_seed)
        grads = [ember.tensor(rng.standard_normal(o.shape).astype(o.detach().numpy().dtype)) for o in outs]
        if any(o.requires_grad for o in outs):
            ember.autograd.backward([o for o in outs if o.requires_grad],
                                    [g for o, g in zip(outs, grads) if o.requires_grad])
        results.append(([o.detach().numpy() for o in outs], [None if x.grad is None else x.grad.numpy() for x in xs]))
    (oc, gc), (oe, ge) = results
    return oc, oe, gc, ge, compiled


def _assert_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if x is None or y is None:
            assert x is None and y is None
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("shape", [(64, 48), (256, 512)])  # one core, then blocks over both
def test_a_chain_with_tanh_is_one_fused_step_with_eagers_bits(shape):
    x = ember.randn(*shape, requires_grad=True)
    oc, oe, gc, ge, compiled = _run(lambda t: _gelu_tanh(ember, t), [x])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    (step,) = _fused_steps(compiled)
    assert step.name == "ember.compile>fused(Mul, Pow, Mul, Add, Mul, Tanh, Add, Mul)"
    assert len(entries(compiled)[0].graph.steps) == 1
    assert type(compiled(x).grad_fn).__name__ == "CompiledFunctionBackward"


def test_fused_values_and_gradients_match_pytorch():
    def fn(lib, x, w, b):
        h = lib.sigmoid(x * w + b) * lib.exp(-x * x) - lib.relu(x - 0.5) / (x * x + 1.0)
        return lib.sqrt(h * h + 2.0) + lib.rsqrt(h * h + 1.0) + lib.pow(h, 2.0) - 1.0 / (h + 3.0)

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((40, 64)).astype(np.float32), rng.standard_normal(64).astype(np.float32),
              rng.standard_normal((40, 1)).astype(np.float32)]
    g = rng.standard_normal((40, 64)).astype(np.float32)
    compiled = ember.compile(lambda *t: fn(ember, *t))
    for _ in range(3):
        xs = [ember.tensor(a, requires_grad=True) for a in arrays]
        out = compiled(*xs)
    out.backward(ember.tensor(g))
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = fn(torch, *ts)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert _fused_steps(compiled)


def test_broadcast_operands_rows_columns_and_scalars_get_eagers_gradients():
    x = ember.randn(32, 40, requires_grad=True)
    bias = ember.randn(40, requires_grad=True)       # read along the columns
    per_row = ember.randn(32, 1, requires_grad=True)  # one value per row
    scale = ember.randn(1, requires_grad=True)        # one element
    oc, oe, gc, ge, compiled = _run(lambda a, b, r, s: ((a + b) * r - s) * (a - 1.0), [x, bias, per_row, scale])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    (step,) = _fused_steps(compiled)
    assert step.fn.__self__.program.layouts == ["full", "col", "row", "scalar", "scalar"]
    # used twice, a broadcast operand's two flows are added per element before they are summed
    # over the rows (eager sums each over the rows, then adds): a rounding apart
    oc, oe, gc, ge, _ = _run(lambda a, r: (a * r) * (a - r), [x, per_row])
    _assert_equal(oc, oe)
    np.testing.assert_allclose(gc[1], ge[1], rtol=1e-5, atol=1e-5)


def test_values_used_after_the_run_are_its_outputs():
    def fn(x, y):
        h = x * y + 1.0      # used by the run and returned
        z = (h - y) * h
        return z.sum(), h    # the sum ends the run
    inputs = [ember.randn(20, 30, requires_grad=True), ember.randn(20, 30, requires_grad=True)]
    oc, oe, gc, ge, compiled = _run(fn, inputs)
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    (step,) = _fused_steps(compiled)
    assert len(step.outs) == 2


def test_a_value_with_three_gradients_is_a_rounding_apart():
    # x feeds three products: eager's engine and the loop add the three in other orders
    fn = lambda x, y: x * y + x * 2.0 - x / (y * y + 1.0)  # noqa: E731
    oc, oe, gc, ge, _ = _run(fn, [ember.randn(30, 40, requires_grad=True), ember.randn(30, 40)])
    _assert_equal(oc, oe)
    np.testing.assert_allclose(gc[0], ge[0], rtol=1e-6, atol=1e-6)


def test_float64_fuses_arithmetic_and_leaves_tanh_to_numpy():
    fn = lambda x: (ember.tanh(x * 2.0 + 1.0) * x - 3.0) / 2.0  # noqa: E731
    oc, oe, gc, ge, compiled = _run(fn, [ember.randn(50, 50, dtype=ember.float64, requires_grad=True)])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    assert [s.name.split(">")[-1] for s in entries(compiled)[0].graph.steps] == \
        ["fused(Mul, Add)", "Tanh", "fused(Mul, Sub, Div)"]


def test_small_tensors_leave_exp_to_numpy_as_eager_does():
    fn = lambda x: (ember.exp(x * 0.5) + 1.0) * x  # noqa: E731
    oc, oe, gc, ge, compiled = _run(fn, [ember.randn(8, 8, requires_grad=True)])  # 64 < POINTWISE_MIN
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    assert "Exp" in [s.name.split(">")[-1] for s in entries(compiled)[0].graph.steps]


def test_relu_passes_nan_and_negative_zero_as_eager_does():
    x = ember.tensor(np.array([[-1.0, -0.0, 0.0, np.nan, 2.0, -np.inf, np.inf, 3.0]] * 8, np.float32),
                     requires_grad=True)
    oc, oe, gc, ge, _ = _run(lambda t: (t * 1.0).relu() * 2.0, [x])
    _assert_equal(oc, oe)
    assert np.signbit(oc[0][0, 1])  # -0.0 stays -0.0
    _assert_equal(gc, ge)


def test_double_backward_through_a_fused_run_runs_its_steps():
    fn = lambda x: (ember.sigmoid(x * 1.5) * x).sum()  # noqa: E731
    compiled = ember.compile(fn)
    results = []
    for f in (compiled, compiled, compiled, fn):
        x = ember.linspace(-3, 3, 2048).reshape(32, 64).requires_grad_()
        (g,) = ember.autograd.grad(f(x), [x], create_graph=True)
        (gg,) = ember.autograd.grad(g.sum(), [x])
        results.append((g.detach().numpy(), gg.numpy()))
    assert _fused_steps(compiled)
    for a, b in zip(results[-2], results[-1]):
        np.testing.assert_array_equal(a, b)


def test_inference_replays_without_a_graph():
    model = ember.nn.Sequential(ember.nn.Linear(16, 64), ember.nn.Tanh())
    fn = lambda x: model(x) * 2.0 - 1.0  # noqa: E731
    compiled = ember.compile(fn)
    x = ember.randn(64, 16)
    with ember.no_grad():
        for _ in range(3):
            out = compiled(x)
        ref = fn(x)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert [s.name.split(">")[-1] for s in _fused_steps(compiled)] == ["fused(Tanh, Mul, Sub)"]


def test_an_operand_in_another_layout_runs_the_original_steps():
    w = ember.randn(24, 24)
    fn = lambda x: (x * w + 1.0) * w  # noqa: E731
    compiled = ember.compile(fn)
    x = ember.randn(24, 24, requires_grad=True)
    for _ in range(3):
        compiled(x)
    assert _fused_steps(compiled)
    w.data = ember.randn(24, 24).t()  # same shape, no longer C-contiguous: the loop cannot read it
    got, want = compiled(x), fn(x)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


def test_an_in_place_change_to_a_saved_operand_is_refused():
    fn = lambda x, y: (x * y + 1.0) * y  # noqa: E731
    compiled = ember.compile(fn)
    y = ember.randn(16, 16)
    for _ in range(3):
        x = ember.randn(16, 16, requires_grad=True)
        out = compiled(x, y)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_the_eager_backends_and_no_numba_replay_unfused(monkeypatch):
    fn = lambda x: (x * 2.0 + 1.0) * x  # noqa: E731
    x = ember.randn(8, 8)
    for compiled in (ember.compile(fn, backend="eager"), ember.compile(fn, backend="aot_eager")):
        for _ in range(3):
            compiled(x)
        assert not _fused_steps(compiled) and entries(compiled)[0].graph is not None
    with kernels.off():
        compiled = ember.compile(fn)
        for _ in range(3):
            out = compiled(x)
        assert not _fused_steps(compiled)
    np.testing.assert_array_equal(out.numpy(), fn(x).numpy())
    fused = ember.compile(fn)
    for _ in range(3):
        fused(x)
    from ember.compiler import fusion
    ran = []
    original = fusion.Region.run_steps
    monkeypatch.setattr(fusion.Region, "run_steps", lambda self, ops: ran.append(1) or original(self, ops))
    with kernels.off():  # a graph fused before the kernels went off (a forked worker) runs its steps
        np.testing.assert_array_equal(fused(x).numpy(), fn(x).numpy())
    assert ran == [1] and _fused_steps(fused)


def test_equal_flows_share_one_array_and_unchanged_ones_write_nothing():
    from ember.backend.kernels import fused
    rng = np.random.default_rng(0)
    x, y, g = (rng.standard_normal((16, 64)).astype(np.float32) for _ in range(3))
    residual = fused.Program([("add", (("in", 0), ("in", 1))), ("relu", (("v", 0),))], [1], ["full", "full"],
                             np.float32)
    dx, dy = residual.backward([x, y], [g], (0, 1), x.shape, 1)
    assert dx is dy  # relu(x + y): both get the same flow
    np.testing.assert_array_equal(dx, np.where(x + y <= 0, 0, g))
    scaled = fused.Program([("mul", (("in", 0), ("in", 2))), ("add", (("v", 0), ("in", 1)))], [1],
                           ["full", "full", "scalar"], np.float32)
    two = np.array([2.0], np.float32)
    dx, dy = scaled.backward([x, y, two], [g], (0, 1), x.shape, 1)
    assert dy is g  # x * 2 + y: y's flow is the incoming gradient itself
    np.testing.assert_array_equal(dx, g * two[0])
    oc, oe, gc, ge, _ = _run(lambda a, b: (a + b).relu(), [ember.randn(16, 64, requires_grad=True),
                                                           ember.randn(16, 64, requires_grad=True)])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)


@pytest.mark.parametrize("gate", ["silu", "gelu", "gelu_tanh"])
def test_gated_units_fuse_their_activation_and_product(gate):
    # SwiGLU and GeGLU, the feed-forward blocks of LLaMA-style transformers: act(a) * b
    act = {"silu": ember.nn.functional.silu, "gelu": ember.nn.functional.gelu,
           "gelu_tanh": lambda t: ember.nn.functional.gelu(t, approximate="tanh")}[gate]
    fn = lambda a, b: act(a) * b + a  # noqa: E731
    inputs = [(ember.randn(64, 96) * 3).requires_grad_(), ember.randn(64, 96, requires_grad=True)]
    oc, oe, gc, ge, compiled = _run(fn, inputs)
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    (step,) = _fused_steps(compiled)
    assert len(entries(compiled)[0].graph.steps) == 1 and step.name.startswith("ember.compile>fused(")


def test_runs_end_at_grad_mode_changes_in_place_ops_and_other_dtypes():
    def fn(x, n):
        h = x * 2.0 + 1.0
        with ember.no_grad():
            scale = (h * 0.5).exp()      # another grad mode: a run of its own
        h = h * scale
        h.mul_(0.5)                      # in place: a whole step between runs
        return (h - 1.0) * h, n * 3 + 1  # integers stay NumPy's
    x, n = ember.randn(40, 40, requires_grad=True), ember.arange(12).reshape(3, 4)
    oc, oe, gc, ge, compiled = _run(fn, [x, n])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
    names = [s.name.split(">")[-1] for s in entries(compiled)[0].graph.steps]
    assert names == ["fused(Mul, Add)", "fused(Mul, Exp)", "Mul", "Tensor.mul_", "fused(Sub, Mul)", "Mul", "Add"]


def test_autocast_regions_replay_as_eager():
    model = ember.nn.Linear(32, 32)

    def fn(x):
        with ember.autocast("cpu", dtype=ember.bfloat16):
            y = model(x)
        return y.float() * 2.0 + 1.0
    oc, oe, gc, ge, compiled = _run(fn, [ember.randn(16, 32, requires_grad=True)])
    _assert_equal(oc, oe)
    _assert_equal(gc, ge)
