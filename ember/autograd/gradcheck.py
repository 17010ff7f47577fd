"""Finite-difference checks of gradients (torch.autograd.gradcheck / gradgradcheck)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..backend.device import CPU, move


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical Jacobians differ."""


def _tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _outputs(func, inputs) -> list:
    from .._tensor import Tensor
    return [o for o in _tuple(func(*inputs)) if isinstance(o, Tensor) and o.is_floating_point()]


def _host64(t) -> np.ndarray:
    """A tensor's values as a flat float64 NumPy array, wherever the tensor lives."""
    return np.asarray(move(t._data, CPU), np.float64).ravel()


def _numerical(func, inputs, wrt, eps) -> list:
    """J[i][k, j]: d output k (flattened, all outputs) / d element j of input i."""
    def flat_outputs():
        outs = _outputs(func, inputs)
        return np.concatenate([_host64(o) for o in outs]) if outs else np.zeros(0)

    jac = []
    for t in wrt:
        a = t._data
        cols = []
        for j in range(a.size):
            at = np.unravel_index(j, a.shape)  # element j in C order, in place whatever a's layout
            orig = a[at].item()
            a[at] = orig + eps
            plus = flat_outputs()
            a[at] = orig - eps
            minus = flat_outputs()
            a[at] = orig
            cols.append((plus - minus) / (2 * eps))
        jac.append(np.stack(cols, axis=1) if cols else np.zeros((flat_outputs().size, 0)))
    return jac


def _analytical(func, inputs, wrt) -> list:
    from . import grad
    from ..ops.creation import zeros_like
    outs = _outputs(func, inputs)
    sizes = [o.numel() for o in outs]
    total = sum(sizes)
    jac = [np.zeros((total, t.numel())) for t in wrt]
    row = 0
    for o, n in zip(outs, sizes):
        for k in range(n):
            go = zeros_like(o)
            go._data[np.unravel_index(k, go._data.shape)] = 1  # in place whatever the layout
            gs = grad(o, wrt, go, retain_graph=True, allow_unused=True) if o.requires_grad else [None] * len(wrt)
            for i, g in enumerate(gs):
                if g is not None:
                    jac[i][row + k] = _host64(g)
        row += n
    return jac


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **unused) -> bool:
    """Compare the gradients of ``func`` at ``inputs`` with central finite differences.

    Inputs that require grad should be float64 (float32 is too coarse for the default
    tolerances). Returns True, or raises GradcheckError naming the input and the worst entry.
    """
    from .._tensor import Tensor
    inputs = _tuple(inputs)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for t in wrt:
        if t.dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input of dtype {t.dtype} is not float64; the check may fail "
                          "from rounding alone")
    numerical = _numerical(func, inputs, wrt, eps)
    analytical = _analytical(func, inputs, wrt)
    for i, (n, a) in enumerate(zip(numerical, analytical)):
        if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            diff = np.abs(a - n) if n.shape == a.shape else None
            where = "" if diff is None or not diff.size else \
                f"; worst at (output {np.unravel_index(diff.argmax(), diff.shape)}): analytical " \
                f"{a.flat[diff.argmax()]:.6g} vs numerical {n.flat[diff.argmax()]:.6g}"
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {i}{where}\n"
                f"numerical:\n{n}\nanalytical:\n{a}")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  **unused) -> bool:
    """gradcheck of the gradient itself: checks second derivatives of ``func``."""
    from .._tensor import Tensor
    from . import grad
    from ..ops.creation import randn
    inputs = _tuple(inputs)
    wrt_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=o.dtype).requires_grad_() for o in outs]
    grad_outputs = list(_tuple(grad_outputs))
    n_in = len(inputs)

    def first_derivative(*args):
        ins, gos = args[:n_in], args[n_in:]
        res = _outputs(func, ins)
        wrt = [ins[i] for i in wrt_idx]
        gs = grad(res, wrt, list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
