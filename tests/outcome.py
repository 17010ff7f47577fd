"""Outcome parity: the same call on ember and on PyTorch either returns the same value (shape,
dtype, elements bit for bit, NaN where NaN, the sign of every zero) or raises the same
built-in exception type.

``case(m, *arrays)`` is written once; ``m`` is the ember or the torch module and the arrays
(NumPy) arrive as tensors of that library.
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np

import ember
from helpers import torch


def _builtin(exc_type: type) -> type:
    """The nearest built-in exception class (torch's LinAlgError & co. are RuntimeErrors)."""
    return next(c for c in exc_type.__mro__ if getattr(builtins, c.__name__, None) is c)


def run(lib, case, arrays):
    tensors = [lib.tensor(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "value", case(lib, *tensors)
    except Exception as e:  # noqa: BLE001 - the exception type is the outcome compared
        return "raised", e


def _as_array(x):
    if isinstance(x, ember.Tensor):
        return np.asarray(x.detach().cpu().numpy()), x.dtype.name
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(), str(x.dtype).replace("torch.", "")
    return None, None


def assert_same_value(e, t, what: str, rtol: float = 0.0) -> None:
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{what}: {e!r} vs torch {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_same_value(a, b, f"{what}[{i}]", rtol)
        return
    ta, t_dtype = _as_array(t)
    if ta is None:
        assert type(e) is type(t) and (e == t or (e != e and t != t)), f"{what}: {e!r} vs torch {t!r}"
        return
    ea, e_dtype = _as_array(e)
    assert ea is not None, f"{what}: expected a Tensor, got {type(e).__name__}"
    assert ea.shape == ta.shape, f"{what}: shape {ea.shape} vs torch {ta.shape}"
    assert e_dtype == t_dtype, f"{what}: dtype {e_dtype} vs torch {t_dtype}"
    if ta.dtype.kind == "f":
        same_nan = np.isnan(ea) == np.isnan(ta)
        assert same_nan.all(), f"{what}: NaN positions differ\nember {ea}\ntorch {ta}"
        if rtol:
            np.testing.assert_allclose(ea, ta, rtol=rtol, atol=rtol, err_msg=what)
            return
        zeros_ok = np.signbit(ea) == np.signbit(ta)
        assert (zeros_ok | np.isnan(ta)).all(), f"{what}: signs differ\nember {ea}\ntorch {ta}"
    np.testing.assert_array_equal(ea, ta, err_msg=what)


def assert_same_outcome(case, *arrays, rtol: float = 0.0, what: str = "") -> None:
    """``case`` returns PyTorch's value on ember, or raises PyTorch's exception type."""
    kind_t, out_t = run(torch, case, arrays)
    kind_e, out_e = run(ember, case, arrays)
    label = what or getattr(case, "__name__", "case")
    if kind_t == "raised":
        assert kind_e == "raised", f"{label}: torch raised {type(out_t).__name__}: {out_t}, ember returned {out_e!r}"
        assert _builtin(type(out_e)) is _builtin(type(out_t)), (
            f"{label}: ember raised {type(out_e).__name__}: {out_e}\ntorch raised {type(out_t).__name__}: {out_t}")
        return
    if kind_e == "raised":
        raise AssertionError(f"{label}: ember raised {type(out_e).__name__}: {out_e}\ntorch returned {out_t!r}") \
            from out_e
    assert_same_value(out_e, out_t, label, rtol)
