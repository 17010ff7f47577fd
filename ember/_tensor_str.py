"""Tensor printing in PyTorch's format: ``tensor([[1., 2.]], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

from .backend import dtypes
from .backend.device import CPU, move


def _element_formatter(arr: np.ndarray):
    """PyTorch's choice: integral floats as '1.', a wide range in scientific notation,
    otherwise 4 decimals."""
    if arr.dtype == np.bool_:
        return lambda v: "True" if v else "False"
    if arr.dtype.kind != "f":
        return str
    finite = np.abs(arr[np.isfinite(arr)].astype(np.float64))
    nonzero = finite[finite != 0]
    if finite.size and np.all(finite == np.round(finite)):
        if finite.max() > 1e8:
            return lambda v: f"{v:.4e}"
        return lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8 or nonzero.min() < 1e-4):
        return lambda v: f"{v:.4e}"
    return lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)


def _format_array(arr: np.ndarray, indent: int) -> str:
    fmt = _element_formatter(arr)
    width = max((len(fmt(v)) for v in arr.reshape(-1)[:2000]), default=0)
    kind = "bool" if arr.dtype == np.bool_ else ("float_kind" if arr.dtype.kind == "f" else "int")
    return np.array2string(arr, separator=", ", formatter={kind: lambda v: fmt(v).rjust(width)},
                           prefix=" " * indent, threshold=1000, edgeitems=3, max_line_width=80)


def tensor_repr(t) -> str:
    arr = move(t._data, CPU)
    # bfloat16 is printed by its exact float32 values
    body = _format_array(arr.astype(np.float32) if arr.dtype == dtypes.bfloat16.np else arr, len("tensor("))
    suffix = []
    if t.device != CPU:
        suffix.append(f"device='{t.device}'")
    default_for_values = {np.dtype(np.int64), np.dtype(np.bool_), dtypes.get_default_dtype().np,
                          dtypes.to_complex(dtypes.get_default_dtype()).np}
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
