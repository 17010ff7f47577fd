"""Tensor printing in PyTorch's format: ``tensor([[1., 2.]], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

from .backend import dtypes
from .backend.device import CPU, move


def _format_array(arr: np.ndarray, indent: int) -> str:
    if arr.dtype == np.bool_:
        fmt = {"bool": lambda v: "True" if v else "False"}
    elif arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)] if arr.size else arr
        integral = finite.size == 0 or np.all(finite == np.round(finite))
        big = finite.size and (np.abs(finite).max() >= 1e8 or
                               (np.abs(finite[finite != 0]).min() < 1e-4 if np.any(finite != 0) else False))
        if big:
            fmt = {"float_kind": lambda v: f"{v:.4e}"}
        elif integral:
            fmt = {"float_kind": lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)}
        else:
            fmt = {"float_kind": lambda v: f"{v:.4f}"}
    else:
        fmt = None
    return np.array2string(arr, separator=", ", formatter=fmt, prefix=" " * indent,
                           threshold=1000, edgeitems=3, max_line_width=80)


def tensor_repr(t) -> str:
    arr = move(t._data, CPU)
    body = _format_array(arr, len("tensor("))
    suffix = []
    if t.device != CPU:
        suffix.append(f"device='{t.device}'")
    default_for_values = {np.dtype(np.int64), np.dtype(np.bool_), dtypes.get_default_dtype().np}
    if arr.size == 0 or arr.dtype not in default_for_values:
        if arr.size == 0 and arr.shape != (0,):
            suffix.append(f"size={tuple(arr.shape)}")
        if arr.dtype not in default_for_values or arr.size == 0 and arr.dtype != dtypes.get_default_dtype().np:
            suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + suffix) + ")"
