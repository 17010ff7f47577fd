"""A property-style sweep: for random shapes, dims and dtypes, every reduction and
activation returns PyTorch's value (shape, dtype, numbers) or raises PyTorch's exception type."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import DTYPES, assert_close, torch

SHAPES = [(), (0,), (3,), (2, 0), (0, 3), (2, 3), (2, 1, 4), (1, 3, 0, 2)]
DIM_ARGS = [None, 0, 1, -1, 2, -3, 5, (0, 1), (0, 0), (1, -1), (-1, 1), ()]

# (name, call written once for both libraries, dtypes it is swept over)
FLOATS = ("float16", "float32", "float64")
ALL = FLOATS + ("int32", "int64", "uint8", "bool")
REDUCTIONS = [
    ("sum", lambda m, x, d: x.sum() if d is None else x.sum(d), ALL),
    ("sum_keepdim", lambda m, x, d: m.sum(x, d, keepdim=True) if d is not None else x.sum(), ALL),
    ("mean", lambda m, x, d: x.mean() if d is None else x.mean(d), ALL),
    ("nansum", lambda m, x, d: x.nansum() if d is None else x.nansum(d), FLOATS + ("int64",)),
    ("prod", lambda m, x, d: x.prod() if d is None else x.prod(d), ALL),
    ("amax", lambda m, x, d: x.amax() if d is None else x.amax(d), ALL),
    ("amin", lambda m, x, d: x.amin() if d is None else x.amin(d), ALL),
    ("max", lambda m, x, d: x.max() if d is None else x.max(d), ALL),
    ("min", lambda m, x, d: x.min() if d is None else x.min(d), ALL),
    ("argmax", lambda m, x, d: x.argmax() if d is None else x.argmax(d), ALL),
    ("argmin", lambda m, x, d: x.argmin() if d is None else x.argmin(d), ALL),
    ("var", lambda m, x, d: x.var() if d is None else x.var(d), ALL),
    ("std", lambda m, x, d: x.std() if d is None else x.std(d), ALL),
    ("norm", lambda m, x, d: x.norm() if d is None else x.norm(dim=d), ALL),
    ("logsumexp", lambda m, x, d: x.logsumexp(0 if d is None else d), ALL),
    ("all", lambda m, x, d: x.all() if d is None else x.all(d), ALL),
    ("any", lambda m, x, d: x.any() if d is None else x.any(d), ALL),
    ("count_nonzero", lambda m, x, d: m.count_nonzero(x, d), ALL),
    ("cumsum", lambda m, x, d: x.cumsum(0 if d is None else d), ALL),
    ("cumprod", lambda m, x, d: x.cumprod(0 if d is None else d), ALL),
    ("softmax", lambda m, x, d: x.softmax(0 if d is None else d), ALL),
    ("log_softmax", lambda m, x, d: x.log_softmax(0 if d is None else d), ALL),
    ("median", lambda m, x, d: x.median() if d is None else x.median(d), ALL),
]
ACTIVATIONS = ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
               "softplus", "logsigmoid", "hardsigmoid", "hardswish", "softsign", "tanhshrink",
               "softshrink", "hardshrink", "sigmoid", "tanh"]


def _make(shape, dtype, rng):
    e_dt, t_dt = DTYPES[dtype]
    if dtype == "bool":
        arr = rng.random(shape) > 0.5
    elif e_dt.is_floating_point:
        arr = rng.uniform(-3, 3, size=shape)
    else:
        arr = rng.integers(0, 4, size=shape)
    arr = np.asarray(arr).astype(e_dt.np)
    return ember.tensor(arr), torch.tensor(arr)


def _run(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args), None
        except Exception as e:  # the exception type is what is compared
            return None, e


def _same(out_e, err_e, out_t, err_t, what):
    if err_t is not None:
        assert err_e is not None, f"{what}: torch raised {type(err_t).__name__}: {err_t}, ember returned {out_e}"
        assert isinstance(err_e, type(err_t)), (
            f"{what}: torch raised {type(err_t).__name__} ({err_t}), ember {type(err_e).__name__} ({err_e})")
        return
    assert err_e is None, f"{what}: ember raised {type(err_e).__name__}: {err_e}; torch returned {out_t}"
    if isinstance(out_t, tuple):  # (values, indices)
        out_t, out_e = tuple(out_t), tuple(out_e)
    tol = 1e-2 if "float16" in what else 1e-5
    assert_close(out_e, out_t, tol, tol, what)


@pytest.mark.parametrize("name,fn,dts", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_torch_values_or_errors(name, fn, dts):
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        for dtype in dts:
            xe, xt = _make(shape, dtype, rng)
            for d in DIM_ARGS:
                if name in ("argmax", "argmin", "cumsum", "cumprod", "softmax", "log_softmax", "median") \
                        and isinstance(d, tuple):
                    continue  # these take one int dim; a tuple is a TypeError in both, by signature
                if name == "logsumexp" and d == ():
                    continue  # PyTorch fails with a broadcast error of its own output here
                if name == "median" and d is None and 0 in shape and dtype not in FLOATS:
                    continue  # PyTorch returns an unspecified value (no NaN to return for integers)
                out_t, err_t = _run(fn, torch, xt, d)
                out_e, err_e = _run(fn, ember, xe, d)
                _same(out_e, err_e, out_t, err_t, f"{name} {dtype} {shape} dim={d}")


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_torch_values_or_errors(name):
    rng = np.random.default_rng(1)
    for shape in [(), (0,), (5,), (2, 3)]:
        for dtype in ALL:
            xe, xt = _make(shape, dtype, rng)
            out_t, err_t = _run(getattr(torch.nn.functional, name), xt)
            out_e, err_e = _run(getattr(ember.nn.functional, name), xe)
            _same(out_e, err_e, out_t, err_t, f"{name} {dtype} {shape}")
