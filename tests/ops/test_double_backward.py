"""Double backward through piecewise-linear ops: the gradient of the gradient with respect to
the input (zeros) and to the incoming gradient (the op's own mask or windows), and to prelu's
weight, as in PyTorch; plus float64 gradgradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import check_gradcheck, make_inputs, torch

CASES = {
    "relu": lambda m, x: m.nn.functional.relu(x),
    "relu_module": lambda m, x: m.nn.ReLU()(x),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.2),
    "leaky_relu_module": lambda m, x: m.nn.LeakyReLU(0.1)(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x, -0.5, 0.7),
    "relu6": lambda m, x: m.nn.functional.relu6(x * 4),
    "relu6_module": lambda m, x: m.nn.ReLU6()(x * 4),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.1, -2.0),
    "hardshrink": lambda m, x: m.nn.functional.hardshrink(x, 0.3),
    "softshrink": lambda m, x: m.nn.functional.softshrink(x, 0.3),
    "softshrink_module": lambda m, x: m.nn.Softshrink(0.3)(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x * 4),
    "max_pool2d": lambda m, x: m.nn.functional.max_pool2d(x, 2),
    "max_pool2d_module": lambda m, x: m.nn.MaxPool2d(3, 2, 1)(x),
    "max_pool1d": lambda m, x: m.nn.functional.max_pool1d(x.flatten(2), 3),
    "avg_pool2d": lambda m, x: m.nn.functional.avg_pool2d(x, 2),
    "avg_pool2d_module": lambda m, x: m.nn.AvgPool2d(3, 1, 1)(x),
    "adaptive_max_pool2d": lambda m, x: m.nn.functional.adaptive_max_pool2d(x, 3),
    "adaptive_avg_pool2d": lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 4),
}
SHAPE = (2, 3, 6, 6)


def _double(m, fn, x, g, extra=()):
    y = fn(m, x)
    gx, = m.autograd.grad(y, x, g, create_graph=True)
    # a second, random cotangent on the first gradient
    v = m.tensor(np.random.default_rng(5).standard_normal(tuple(gx.shape)))
    return m.autograd.grad(gx, (x, g) + tuple(extra), v, allow_unused=True)


@pytest.mark.parametrize("name", list(CASES))
def test_double_backward_matches_torch(name):
    (xe,), (xt,) = make_inputs([SHAPE], "float64")
    fn = CASES[name]
    cot = np.random.default_rng(3).standard_normal(tuple(fn(torch, xt).shape))
    ge, gt = ember.tensor(cot, requires_grad=True), torch.tensor(cot, requires_grad=True)
    de, dt = _double(ember, fn, xe, ge), _double(torch, fn, xt, gt)
    for what, a, b in zip(("d/dx", "d/dgrad"), de, dt):
        assert b is not None and a is not None, f"{name} {what}: ember {a}, torch {b}"
        assert a.shape == b.shape and a.dtype.name == "float64"
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10, err_msg=f"{name} {what}")


@pytest.mark.parametrize("module", [False, True])
def test_prelu_double_backward_to_input_grad_and_weight(module):
    (xe, we), (xt, wt) = make_inputs([SHAPE, (3,)], "float64", values=[None, [0.25, -0.1, 0.5]])
    out = []
    for m, x, w in ((ember, xe, we), (torch, xt, wt)):
        if module:
            layer = m.nn.PReLU(3).double()
            with m.no_grad():
                layer.weight.copy_(w)
            w = layer.weight
            fn = lambda m_, x_: layer(x_)  # noqa: E731
        else:
            fn = lambda m_, x_, w=w: m_.nn.functional.prelu(x_, w)  # noqa: E731
        g = m.tensor(np.random.default_rng(3).standard_normal(SHAPE), requires_grad=True)
        out.append(_double(m, fn, x, g, (w,)))
    for what, a, b in zip(("d/dx", "d/dgrad", "d/dweight"), *out):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10, err_msg=what)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "hardtanh", "threshold", "hardshrink", "softshrink",
                                  "hardswish", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"])
def test_gradgradcheck(name):
    # values kept away from the kinks, where finite differences straddle two pieces
    rng = np.random.default_rng(0)
    x = rng.uniform(0.35, 1.0, SHAPE) * rng.choice([-1, 1], SHAPE) + rng.permutation(np.prod(SHAPE)).reshape(SHAPE) * 1e-3
    check_gradcheck([SHAPE], lambda t: CASES[name](ember, t), values=[x])
