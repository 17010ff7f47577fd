"""torch.func's differentiation transforms: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian, all computed with reverse mode.

jvp uses the double-backward trick (the vjp ``u -> J^T u`` is linear in ``u``, so its
derivative in the direction ``t`` is ``J t``) and jacfwd is jacrev: same values, one
backward pass per output element.
"""
from __future__ import annotations

import functools
from typing import Callable

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ._pytree import flatten
from ._tracking import grads_or_zeros, release, track, track_args

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


def _split_aux(out, has_aux: bool, fn_name: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn_name}(f, ...)(*args): output of function f should be a tuple: "
                           "(output, aux) if has_aux is True")
    for leaf in flatten(out[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"{fn_name}(f, ..., has_aux=True): Expected the aux output to hold "
                               f"only tensors (in tuples, lists or dicts), got {type(leaf).__name__}")
    return out


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of ``func`` w.r.t. ``argnums``, ``func``'s value);
    with ``has_aux``, (gradient, (value, aux))."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            new_args, leaves, rebuild = track_args(args, argnums, "grad_and_value")
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(out, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out).__name__}")
            if out.numel() != 1 or out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                    "instead?")
            grads = grads_or_zeros(out, leaves)
        grads = release(rebuild(grads), leaves)
        value = release(out, leaves)
        if has_aux:
            return grads, (value, release(aux, leaves))
        return grads, value
    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar ``func`` w.r.t. the arguments
    ``argnums`` (with ``has_aux``: (gradient, aux))."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = gv(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]): ``vjp_fn(cotangents)`` returns one gradient per
    primal (a tuple), and may be called any number of times."""
    with enable_grad():
        prim_leaves, rebuild_primals = flatten(primals)
        tracked = [track(t) for t in prim_leaves]
        out, aux = _split_aux(func(*rebuild_primals(tracked)), has_aux, "vjp")
        out_leaves, _ = flatten(out)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): Expected f to be a function that has only "
                               f"Tensors as outputs, got {type(o).__name__}")

    def vjp_fn(cotangents):
        from ..autograd import grad as autograd_grad
        from ..ops.creation import zeros_like

        cts, _ = flatten(cotangents)
        if len(cts) != len(out_leaves):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree "
                               f"structure of outputs to the function: {len(cts)} cotangents for "
                               f"{len(out_leaves)} outputs")
        for o, c in zip(out_leaves, cts):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {list(c.shape)} "
                                   f"and output has a shape of {list(o.shape)}")
        pairs = [(o, c) for o, c in zip(out_leaves, cts) if o.requires_grad]
        with enable_grad():
            gs = autograd_grad([p[0] for p in pairs], tracked, [p[1] for p in pairs],
                               retain_graph=True, create_graph=True, allow_unused=True) \
                if pairs else (None,) * len(tracked)
            gs = [zeros_like(t) if g is None else g for t, g in zip(tracked, gs)]
        return release(rebuild_primals(gs), tracked)

    result = (release(out, tracked), vjp_fn)
    return result + (release(aux, tracked),) if has_aux else result


def jvp(func: Callable, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), J @ tangents[, aux]), by differentiating a vjp."""
    from ..ops.creation import zeros_like

    if strict:
        raise RuntimeError("jvp(f, primals, tangents): strict=True is not supported")
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples. "
                           "E.g. it should be valid to call f(*primals).")
    prim_leaves, rebuild = flatten(primals)
    tan_leaves, _ = flatten(tangents)
    if len(prim_leaves) != len(tan_leaves):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the "
                           "same python structure")
    for p, t in zip(prim_leaves, tan_leaves):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have "
                               f"the same shape, got {list(p.shape)} and {list(t.shape)}")
    with enable_grad():
        tracked = [track(t) for t in prim_leaves]
        out, aux = _split_aux(func(*rebuild(tracked)), has_aux, "jvp")
        out_leaves, rebuild_out = flatten(out)
        us = [zeros_like(o).requires_grad_(True) for o in out_leaves]
        vjps, dirs = [], []
        for o, u in zip(out_leaves, us):
            if o.requires_grad:
                vjps.append((o * u).sum())
        total = sum(vjps[1:], vjps[0]) if vjps else None
        g = grads_or_zeros(total, tracked) if total is not None else [zeros_like(t) for t in tracked]
        for gi, t in zip(g, tan_leaves):
            if gi.requires_grad:
                dirs.append((gi * t).sum())
        tot = sum(dirs[1:], dirs[0]) if dirs else None
        jv = grads_or_zeros(tot, us) if tot is not None else [zeros_like(u) for u in us]
    private = tracked + us
    result = (release(out, private), release(rebuild_out(jv), private))
    return result + (release(aux, private),) if has_aux else result


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size=None) -> Callable:
    """A function returning the Jacobian of ``func``: per output tensor, per argument in
    ``argnums``, shape ``output.shape + argument.shape``."""
    from ..ops.creation import zeros
    from ..ops.join import stack

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            new_args, leaves, rebuild = track_args(args, argnums, "jacrev")
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "jacrev")
            out_leaves, rebuild_out = flatten(out)
            jacs = []
            for o in out_leaves:
                if not isinstance(o, Tensor):
                    raise RuntimeError("jacrev(f, ...)(*args): Expected f to be a function that has "
                                       f"only Tensors as outputs, got {type(o).__name__}")
                flat = o.reshape(-1)
                rows = [grads_or_zeros(flat[k], leaves) for k in range(flat.shape[0])]
                per_leaf = []
                for i, t in enumerate(leaves):
                    shape = tuple(o.shape) + tuple(t.shape)
                    per_leaf.append(stack([r[i] for r in rows]).reshape(shape) if rows
                                    else zeros(shape, dtype=t.dtype, device=t.device))
                jacs.append(rebuild(per_leaf))
        result = release(rebuild_out(jacs), leaves)
        return (result, release(aux, leaves)) if has_aux else result
    return wrapper


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """The Jacobian like ``jacrev`` (computed in reverse mode: same values)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums=0) -> Callable:
    """A function returning the Hessian of scalar ``func`` w.r.t. ``argnums``."""
    return jacfwd(jacrev(func, argnums), argnums)
