"""The arithmetic operators' short path (+, -, *, / of same-shape float tensors, or of a float32
or float64 tensor and a Python number, with nothing to record) gives what the full ops give:
the same bits, dtype and device, no NumPy warnings, graphs where one is needed, views refreshed
first, and every call seen by the profiler and by ember.compile's capture."""
import operator
import warnings

import numpy as np
import pytest

import ember
from ember.ops import elementwise as e

OPS = {"add": (operator.add, e.add), "sub": (operator.sub, e.sub), "mul": (operator.mul, e.mul),
       "div": (operator.truediv, e.div)}
SPECIAL = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45, 7.0, -1.0])


def _bits(t: ember.Tensor) -> np.ndarray:
    return t.detach().numpy().view(np.uint64 if t.dtype is ember.float64 else np.uint32)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_two_tensors_give_the_full_ops_bits_without_warnings(name, dtype):
    symbol, full = OPS[name]
    rng = np.random.default_rng(0)
    a = ember.tensor(np.concatenate([SPECIAL, rng.standard_normal(20)]), dtype=dtype)
    b = ember.tensor(np.concatenate([SPECIAL[::-1], rng.standard_normal(20)]), dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        fast = symbol(a, b)
    assert fast.dtype is dtype and fast.grad_fn is None and not fast.requires_grad
    np.testing.assert_array_equal(_bits(fast), _bits(full(a, b)))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("number", [2.0, -0.1, 3, -7, 0, 0.0, 1e-300, 2 ** 62, float("inf"), float("nan"),
                                    1e39, -1e300, True, -2 ** 63, 2 ** 63 - 1, 2 ** 63])
def test_a_tensor_and_a_number_give_the_full_ops_bits(name, dtype, number):
    """Numbers outside float32's range and bools take the full op (which checks them); all
    give the full op's bits, in the tensor's dtype."""
    symbol, full = OPS[name]
    a = ember.tensor(SPECIAL, dtype=dtype)
    for outside in (-2 ** 63 - 1, 2 ** 64):  # fits no 64-bit int: PyTorch's OverflowError, as the full op
        with pytest.raises(OverflowError):
            full(a, outside)
        with pytest.raises(OverflowError):
            symbol(a, outside)
    if name == "sub" and number is True:  # PyTorch refuses bool subtraction; both paths say so
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool"):
            symbol(a, number)
        return
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        fast = symbol(a, number)
    expected = full(a, number)
    assert fast.dtype is expected.dtype
    np.testing.assert_array_equal(_bits(fast), _bits(expected))


@pytest.mark.parametrize("number", [0.1, -3, 1e39, float("nan")])
def test_a_number_first_gives_the_full_ops_bits(number):
    a = ember.tensor(SPECIAL, dtype=ember.float32)
    for symbol, full in ((operator.add, e.add), (operator.mul, e.mul)):
        np.testing.assert_array_equal(_bits(symbol(number, a)), _bits(full(a, number)))


def test_a_number_times_a_half_tensor_keeps_pytorchs_float32_computation():
    """float16 tensors and numbers are computed in float32 and rounded once (the full op's
    rule): 0.1 is not rounded to float16 first."""
    torch = pytest.importorskip("torch")
    x = np.linspace(-4, 4, 41).astype(np.float16)
    for symbol in (operator.mul, operator.truediv, operator.add):
        np.testing.assert_array_equal(symbol(ember.tensor(x), 0.1).numpy(), symbol(torch.tensor(x), 0.1).numpy())


@pytest.mark.parametrize("name", OPS)
def test_a_tensor_that_needs_grad_still_records_its_node(name):
    symbol, _ = OPS[name]
    a = ember.randn(5, requires_grad=True)
    b = ember.rand(5) + 0.5
    for out in (symbol(a, b), symbol(b, a), symbol(a, 2.0)):
        assert out.requires_grad and out.grad_fn is not None
    with ember.no_grad():
        assert symbol(a, b).grad_fn is None


def test_a_view_whose_base_changed_in_place_is_refreshed_first():
    """After base.mul_(w) with w needing grad, a view taken before now needs grad too: the
    operator's result must carry the graph, as the full op gives it."""
    base = ember.ones(4, 3)
    view = base[1]
    w = ember.full((4, 3), 2.0, requires_grad=True)
    base.mul_(w)
    out = view * 3.0
    assert out.requires_grad and out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[1], np.full(3, 3.0))
    np.testing.assert_array_equal(w.grad.numpy()[[0, 2, 3]], np.zeros((3, 3)))


def test_the_profiler_sees_every_operator_call():
    a, b = ember.ones(3), ember.ones(3)
    with ember.autograd.profiler.profile() as prof:
        a + b
        a - 1.0
        a * b
        a / 2
    counts = {ev.key: ev.count for ev in prof.key_averages()}
    assert counts.get("ember::add") == 1 and counts.get("ember::sub") == 1
    assert counts.get("ember::mul") == 1 and counts.get("ember::div") == 1


def test_compile_replays_operators_on_new_inputs():
    def f(x, y):
        return (x + y) * 2.0 - y / 4.0

    compiled = ember.compile(f)
    for seed in range(3):
        x, y = ember.randn(6, generator=ember.Generator().manual_seed(seed)), ember.randn(6)
        np.testing.assert_array_equal(compiled(x, y).numpy(), f(x, y).numpy())
