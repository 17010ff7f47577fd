"""Automatic differentiation: the graph (Function), the backward engine, grad modes."""
from __future__ import annotations

from typing import Sequence

from .function import Function
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .variable import Variable

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "gradcheck", "gradgradcheck", "GradcheckError",
           "Variable", "forward_ad", "functional", "graph"]


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _root_grads(outputs: list, grads: list) -> list:
    from .._tensor import Tensor
    from ..backend.device import xp_of
    from ..ops.creation import full_like

    if grads and len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} gradients for {len(outputs)} outputs")
    out = []
    for i, t in enumerate(outputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn. "
                "Did you compute it inside `no_grad()`, or forget requires_grad=True on the inputs?")
        g = grads[i] if grads else None
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got shape "
                    f"{list(t.shape)}); pass gradient=... or reduce it first, e.g. loss.sum()")
            g = Tensor._make(xp_of(t._data).ones(t._data.shape, dtype=t._data.dtype))
        elif not isinstance(g, Tensor):
            g = full_like(t, g)
        elif g._data.shape != t._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and output[{i}] "
                f"has a shape of {list(t.shape)}.")
        elif g._data.dtype != t._data.dtype:
            if (g._data.dtype.kind == "c") != (t._data.dtype.kind == "c"):
                raise RuntimeError(
                    f"For complex Tensors, both grad_output and output are required to have the same dtype. "
                    f"Mismatch in dtype: grad_output[{i}] has a dtype of {g.dtype} and output[{i}] has a dtype "
                    f"of {t.dtype}.")
            g = g.to(t.dtype)  # as PyTorch's engine: every node gets gradients of its output's dtype
        out.append(g)
    return out


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    from .engine import run_backward

    outputs = _as_list(tensors)
    grads = _root_grads(outputs, _as_list(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_list(inputs) or None
    run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple:
    """Return d(outputs)/d(inputs) without touching ``.grad`` (torch.autograd.grad)."""
    from .engine import run_backward
    from ..ops.creation import zeros_like

    outs = _as_list(outputs)
    ins: Sequence = _as_list(inputs)
    for i, t in enumerate(ins):
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    grads = _root_grads(outs, _as_list(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    result = run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                          accumulate=False, allow_unused=allow_unused)
    if materialize_grads:
        result = tuple(zeros_like(t) if g is None else g for t, g in zip(ins, result))
    return result


from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402  (uses grad above)
from . import forward_ad, functional, graph, profiler  # noqa: E402,F401
