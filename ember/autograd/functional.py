"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp of a Python function.

Every quantity comes from reverse mode (``autograd.grad``): a Jacobian takes one backward
pass per output element, and forward-mode products (jvp, hvp) use the double-backward
trick: the vjp ``u -> J^T u`` is linear in ``u``, so differentiating it with respect to
``u`` in the direction ``v`` gives ``J v``.

Results follow PyTorch's nesting: a tensor where the function took (or returned) a
tensor, a tuple where it took (or returned) a tuple; a Jacobian of tuple outputs and
tuple inputs is indexed ``[output][input]``. Without ``create_graph`` every result is
detached; with it, results stay differentiable with respect to the inputs.
"""
from __future__ import annotations

from typing import Callable

from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _as_tuple(x, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    from .._tensor import Tensor

    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors"
            got = f"the given {arg_name} has type {type(x)}" if not is_tuple else \
                f"the element {i} of {arg_name} has type {type(t)}"
            raise TypeError(f"{where} but {got}.")
    return is_tuple, items


def _outputs_as_tuple(out, fn_name: str) -> tuple[bool, tuple]:
    return _as_tuple(out, "outputs of the user-provided function", fn_name)


def _prepare_inputs(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh differentiable inputs: aliases keeping the caller's graph when
    ``create_graph`` (so results differentiate back to the originals), detached copies
    of the storage otherwise."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                 for t in inputs)


def _finish(results: tuple, create_graph: bool) -> tuple:
    return tuple(r if create_graph or r is None else r.detach() for r in results)


def _nest(items: tuple, is_tuple: bool):
    return items if is_tuple else items[0]


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, fn_name: str,
           out_index: int | None = None) -> tuple:
    """autograd.grad with unused inputs as zeros (or, with ``strict``, an error)."""
    from . import grad
    from ..ops.creation import zeros_like

    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if outs:
        result = grad(outs, inputs, gos, retain_graph=True, create_graph=create_graph,
                      allow_unused=True)
    else:
        result = (None,) * len(inputs)
    full = []
    for i, (t, g) in enumerate(zip(inputs, result)):
        if g is None:
            if strict:
                which = "the outputs" if out_index is None else f"Output {out_index}"
                raise RuntimeError(
                    f"{fn_name}: {which} of the user-provided function is independent of input "
                    f"{i}. This is not allowed in strict mode.")
            g = zeros_like(t)
        full.append(g)
    return tuple(full)


def _check_v(v, outputs: tuple, fn_name: str, what: str) -> tuple:
    from ..ops.creation import ones_like

    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn_name}: the vector v can only be None if the {what} is a single Tensor with "
                f"a single element (got {len(outputs)} tensor(s) of shapes "
                f"{[list(o.shape) for o in outputs]}); pass v=... of the same shape.")
        return (ones_like(outputs[0]),)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(outputs):
        raise RuntimeError(f"{fn_name}: v has {len(vs)} tensors, expected {len(outputs)} "
                           f"(one per {what} tensor)")
    for i, (a, b) in enumerate(zip(vs, outputs)):
        if a.shape != b.shape:
            raise RuntimeError(
                f"{fn_name}: mismatch in shape: v[{i}] has a shape of {list(a.shape)} and the "
                f"{what}[{i}] has a shape of {list(b.shape)}")
    return vs


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        ins = _prepare_inputs(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _outputs_as_tuple(out, "vjp")
        vs = _check_v(v, outs, "vjp", "output of the user-provided function")
        res = _grads(outs, ins, vs, create_graph, strict, "vjp")
    return _nest(_finish(outs, create_graph), is_out_tuple), _nest(_finish(res, create_graph), is_in_tuple)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    from ..ops.creation import zeros_like

    is_in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
    vs = _check_v(v, ins, "jvp", "input")
    with enable_grad():
        ins = _prepare_inputs(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _outputs_as_tuple(out, "jvp")
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        vjps = _grads(outs, ins, us, True, strict, "jvp")
        res = _grads(vjps, us, vs, create_graph, False, "jvp")
    return _nest(_finish(outs, create_graph), is_out_tuple), _nest(_finish(res, create_graph), is_out_tuple)


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output o and input i, a tensor of shape
    ``o.shape + i.shape``. ``vectorize`` is accepted and changes nothing (one backward
    pass per output element either way)."""
    from ..ops.creation import zeros
    from ..ops.join import stack

    if strategy not in ("reverse-mode", "forward-mode"):
        raise AssertionError(f'jacobian: expected strategy to be either "forward-mode" or '
                             f'"reverse-mode", got {strategy!r}')  # PyTorch's exception type
    if strategy == "forward-mode":
        if not vectorize:
            raise NotImplementedError("jacobian: computing the Jacobian in forward-mode is only "
                                      "implemented for vectorize=True (as in PyTorch)")
        if create_graph:
            raise NotImplementedError("jacobian: forward-mode with create_graph=True is not "
                                      "supported (as in PyTorch); use strategy='reverse-mode'")
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        ins = _prepare_inputs(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _outputs_as_tuple(out, "jacobian")
        jac = []
        for oi, o in enumerate(outs):
            flat = o.reshape(-1)
            rows = [[] for _ in ins]
            for k in range(flat.shape[0]):
                grads = _grads((flat[k],), ins, (None,), create_graph, strict, "jacobian", oi)
                for r, g in zip(rows, grads):
                    r.append(g)
            per_input = []
            for t, r in zip(ins, rows):
                shape = tuple(o.shape) + tuple(t.shape)
                per_input.append(stack(r).reshape(shape) if r else
                                 zeros(shape, dtype=t.dtype, device=t.device))
            jac.append(_finish(tuple(per_input), create_graph))
    if is_out_tuple:
        return tuple(_nest(j, is_in_tuple) for j in jac)
    return _nest(jac[0], is_in_tuple)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: ``[i][j]`` has shape ``inputs[i].shape + inputs[j].shape``."""
    is_in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def scalar_func(*xs):
        out = func(*xs)
        is_tuple, outs = _outputs_as_tuple(out, "hessian")
        if is_tuple:
            raise RuntimeError("hessian: the function given to hessian should return a single "
                               f"Tensor, got a tuple of {len(outs)}")
        if out.numel() != 1:
            raise RuntimeError("hessian: the Tensor returned by the function given to hessian "
                               f"should contain a single element, got shape {list(out.shape)}")
        return out.reshape(())

    def gradient(*xs):
        return jacobian(scalar_func, xs if is_in_tuple else xs[0], create_graph=True, strict=strict)

    return jacobian(gradient, ins if is_in_tuple else ins[0], create_graph, strict, vectorize,
                    outer_jacobian_strategy)


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H): the vector-Hessian product of a scalar function."""
    return _vhp(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v). The Hessian of a twice-differentiable function is symmetric,
    so this is the vhp's transpose, computed the same way."""
    return _vhp(func, inputs, v, create_graph, strict, "hvp")


def _vhp(func, inputs, v, create_graph: bool, strict: bool, fn_name: str):
    is_in_tuple, ins = _as_tuple(inputs, "inputs", fn_name)
    vs = _check_v(v, ins, fn_name, "input")
    with enable_grad():
        ins = _prepare_inputs(ins, create_graph)
        out = func(*ins)
        is_out_tuple, outs = _outputs_as_tuple(out, fn_name)
        if is_out_tuple or outs[0].numel() != 1:
            raise RuntimeError(f"{fn_name}: the function given to {fn_name} should return a single "
                               "Tensor with a single element")
        grads = _grads(outs, ins, (None,), True, strict, fn_name)
        res = _grads(grads, ins, vs, create_graph, strict, fn_name)
    return _finish(outs, create_graph)[0], _nest(_finish(res, create_graph), is_in_tuple)
