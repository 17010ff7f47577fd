"""``torch.testing``: assert_close (tolerances per dtype, PyTorch's messages) and make_tensor."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ._tensor import Tensor
from .backend import dtypes

__all__ = ["assert_close", "make_tensor"]

# torch.testing's default (rtol, atol) per dtype; integers and bool compare exactly.
_TOLERANCES = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}
_SCALAR_TOL = _TOLERANCES["float32"]


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg=None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close:
    ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Tensors, NumPy arrays, Python numbers and (nested) sequences and mappings of them are
    compared; shapes, and unless turned off dtypes and devices, must match. ``rtol``/``atol``
    default to the dtype's tolerances (exact for integers). ``msg`` (a string, or a callable
    taking the default message) replaces the message.
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    _compare(actual, expected, (), dict(rtol=rtol, atol=atol, equal_nan=equal_nan,
                                        check_device=check_device, check_dtype=check_dtype, msg=msg))


def _compare(actual, expected, path: tuple, opts: dict) -> None:
    if isinstance(actual, (str, bytes)) or isinstance(expected, (str, bytes)):
        if actual != expected:
            _fail(f"{actual!r} != {expected!r}", path, opts)
        return
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match: {sorted(map(str, actual))} != "
                  f"{sorted(map(str, expected))}", path, opts)
        for key in actual:
            _compare(actual[key], expected[key], path + (key,), opts)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path, opts)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), opts)
        return
    a_tensor, e_tensor = _tensor_like(actual), _tensor_like(expected)
    if a_tensor and e_tensor:
        _compare_tensors(actual, expected, path, opts)
    elif not a_tensor and not e_tensor and _is_number(actual) and _is_number(expected):
        _compare_scalars(actual, expected, path, opts)
    else:
        raise TypeError(f"No comparison pair was able to handle inputs of type {_type_name(actual)} "
                        f"and {_type_name(expected)}.")


def _compare_tensors(actual, expected, path: tuple, opts: dict) -> None:
    if isinstance(actual, Tensor) and isinstance(expected, Tensor) and opts["check_device"] \
            and actual.device != expected.device:
        _fail(f"The values for attribute 'device' do not match: {actual.device} != "
              f"{expected.device}.", path, opts)
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: ember.Size({list(a.shape)}) != "
              f"ember.Size({list(e.shape)}).", path, opts)
    a_dt, e_dt = dtypes.from_numpy_dtype(a.dtype), dtypes.from_numpy_dtype(e.dtype)
    if opts["check_dtype"] and a_dt != e_dt:
        _fail(f"The values for attribute 'dtype' do not match: {a_dt} != {e_dt}.", path, opts)
    rtol, atol = _tolerances(opts, a_dt, e_dt)
    # Compared in the promoted dtype (as PyTorch does with check_dtype=False), in float64 for
    # the differences so integer subtraction cannot wrap.
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=opts["equal_nan"])
    close |= (a64 == e64)  # equal infinities
    if close.all():
        return
    exact = rtol == 0 and atol == 0
    # the reported differences are computed in the promoted floating dtype, as PyTorch does
    work = np.result_type(a.dtype, e.dtype)
    work = work if work.kind == "f" else dtypes.get_default_dtype().np
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.array(np.abs(a64 - e64)).astype(work)  # np.array: 0-d stays an array
        rel_diff = np.array(abs_diff / np.abs(e64).astype(work))
    abs_diff[close], rel_diff[close] = 0, 0
    bad, total = int((~close).sum()), close.size
    i_abs, i_rel = _argmax(abs_diff), _argmax(rel_diff)
    integral = a.dtype.kind in "iub" and e.dtype.kind in "iub"
    abs_val = int(abs_diff[i_abs]) if integral else float(abs_diff[i_abs])
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {bad} / {total} ({100 * bad / total:.1f}%)",
             f"Greatest absolute difference: {abs_val} at index {i_abs}"
             + ("" if exact else f" (up to {atol} allowed)"),
             f"Greatest relative difference: {float(rel_diff[i_rel])} at index {i_rel}"
             + ("" if exact else f" (up to {rtol} allowed)")]
    _fail("\n".join(lines), path, opts)


def _compare_scalars(actual, expected, path: tuple, opts: dict) -> None:
    if opts["check_dtype"] and type(actual) is not type(expected):
        _fail(f"The (d)types do not match: {type(actual)} != {type(expected)}.", path, opts)
    if isinstance(actual, (bool, int)) and isinstance(expected, (bool, int)):
        rtol, atol = (0.0, 0.0) if opts["rtol"] is None else (opts["rtol"], opts["atol"])
    else:
        rtol, atol = _SCALAR_TOL if opts["rtol"] is None else (opts["rtol"], opts["atol"])
    if isinstance(actual, complex) or isinstance(expected, complex):
        a, e = complex(actual), complex(expected)
    else:  # kept int when both are, so the difference prints as PyTorch's does
        a, e = actual, expected
    if a == e or abs(a - e) <= atol + rtol * abs(e) or (
            opts["equal_nan"] and _isnan(complex(a)) and _isnan(complex(e))):
        return
    diff = abs(a - e)
    rel = diff / abs(e) if e != 0 else math.inf
    exact = rtol == 0 and atol == 0
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "",
             f"Expected {expected} but got {actual}.",
             f"Absolute difference: {diff}" + ("" if exact else f" (up to {atol} allowed)"),
             f"Relative difference: {rel}" + ("" if exact else f" (up to {rtol} allowed)")]
    _fail("\n".join(lines), path, opts)


def _tolerances(opts: dict, a_dt, e_dt) -> tuple:
    if opts["rtol"] is not None:
        return opts["rtol"], opts["atol"]
    # the looser of the two dtypes' tolerances, as PyTorch picks them
    pairs = [_TOLERANCES.get(d.name, (0.0, 0.0)) for d in (a_dt, e_dt)]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _fail(message: str, path: tuple, opts: dict):
    if path:
        message += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
    msg = opts["msg"]
    if callable(msg):
        message = msg(message)
    elif msg is not None:
        message = msg
    raise AssertionError(message)


def _argmax(diff: np.ndarray) -> tuple:
    flat = np.where(np.isnan(diff), np.inf, diff).argmax() if diff.size else 0
    return tuple(int(i) for i in np.unravel_index(flat, diff.shape))


def _array(x) -> np.ndarray:
    return np.asarray(x.detach().cpu()._data if isinstance(x, Tensor) else x)


def _tensor_like(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _type_name(x) -> str:
    return "<class 'ember.Tensor'>" if isinstance(x, Tensor) else str(type(x))


def _is_number(x) -> bool:
    return isinstance(x, (bool, int, float, complex, np.number, np.bool_))


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _isnan(z: complex) -> bool:
    return math.isnan(z.real) or math.isnan(z.imag)


def make_tensor(*shape, dtype, device=None, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from [low, high) (PyTorch's defaults:
    [-9, 9) for floats and signed integers, [0, 10) for uint8, {False, True} for bool)."""
    from .ops.creation import tensor
    from .backend.random import rng
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dtype = dtypes.to_dtype(dtype)
    np_dtype = dtype.np
    gen = rng(None)
    if np_dtype.kind == "b":
        data = gen.integers(0, 2, size=shape).astype(bool)
    else:
        lo = (0 if np_dtype.kind == "u" else -9) if low is None else low
        hi = 10 if high is None else high
        if np_dtype.kind == "f":
            data = gen.uniform(lo, hi, size=shape)
        else:
            data = gen.integers(math.ceil(lo), math.ceil(hi), size=shape)
        if exclude_zero:
            # zeros become the smallest positive value of the dtype's range, as PyTorch does
            data = np.where(data == 0, np.finfo(np_dtype).tiny if np_dtype.kind == "f" else 1, data)
    out = tensor(np.asarray(data).astype(np_dtype), device=device)
    if noncontiguous and out.numel() > 1:
        out = out.repeat_interleave(2, dim=-1)[..., ::2]
    return out.requires_grad_(requires_grad) if requires_grad else out
