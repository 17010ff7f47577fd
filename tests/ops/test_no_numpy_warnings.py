"""Ops give inf and nan as PyTorch does, and never let NumPy's RuntimeWarnings out.

Function.apply runs every forward, and the engine every backward pass, with NumPy's
floating-point warnings off (backend.compat.quiet); outside ember, NumPy's settings are
the user's own and stay as they were.
"""
import warnings

import numpy as np
import pytest

import ember

EDGES = np.array([0.0, -0.0, 1e38, -1e38, np.inf, -np.inf, np.nan, 1e-45, -1.0, 2.0], np.float32)

CASES = {
    "div": lambda x: x / x.flip(0),
    "mul": lambda x: x * x * x,
    "log": lambda x: x.log(),
    "log1p": lambda x: x.log1p(),
    "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x: x.rsqrt(),
    "exp": lambda x: x.exp(),
    "pow": lambda x: x ** 3.5,
    "reciprocal": lambda x: x.reciprocal(),
    "sum": lambda x: x.sum(),
    "mean": lambda x: x.mean(),
    "var": lambda x: x.var(),
    "std": lambda x: x.std(),
    "norm": lambda x: x.norm(),
    "logsumexp": lambda x: x.logsumexp(0),
    "softmax": lambda x: x.softmax(0),
    "log_softmax": lambda x: x.log_softmax(0),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "gelu": lambda x: ember.nn.functional.gelu(x),
    "softplus": lambda x: ember.nn.functional.softplus(x),
    "elu": lambda x: ember.nn.functional.elu(x),
    "silu": lambda x: ember.nn.functional.silu(x),
    "logit": lambda x: x.logit(),
    "atan2": lambda x: ember.atan2(x, x.flip(0)),
    "remainder": lambda x: x % x.flip(0),
    "floor_divide": lambda x: x // x.flip(0),
    "fmod": lambda x: ember.fmod(x, x.flip(0)),
    "xlogy": lambda x: ember.xlogy(x, x.flip(0)),
    "mse": lambda x: ember.nn.functional.mse_loss(x, x.flip(0)),
    "bce": lambda x: ember.nn.functional.binary_cross_entropy(x.nan_to_num().sigmoid(), x.flip(0).nan_to_num().sigmoid()),
    "layer_norm": lambda x: ember.nn.functional.layer_norm(x.reshape(2, 5), (5,)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_no_runtime_warning_forward_and_backward(name):
    x = ember.tensor(EDGES, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = CASES[name](x)
        out.sum().backward()


def test_numpy_settings_outside_ember_are_untouched():
    before = np.geterr()
    (ember.tensor([1.0, 0.0]) / 0.0).sum()
    assert np.geterr() == before
    with pytest.warns(RuntimeWarning):
        np.array([1.0]) / np.array([0.0])
