"""vmap: map a function over a batch dimension of its inputs."""
from __future__ import annotations

import functools
from typing import Callable

from .._tensor import Tensor
from ..backend import random as _random
from ._pytree import broadcast_prefix, flatten

__all__ = ["vmap"]


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *,
         chunk_size=None) -> Callable:
    """Vectorize ``func`` over a dimension of its inputs (``torch.func.vmap``).

    ember runs ``func`` once per batch element, on the inputs indexed along ``in_dims``,
    and stacks the results along ``out_dims``; so any ember code maps correctly, at the
    cost of a Python loop over the batch. Nesting and composition with the grad
    transforms (``vmap(grad(loss), in_dims=(None, 0, 0))``) work the same way.

    Args:
        in_dims: per positional argument, the dimension to map (``None``: not mapped); an
            int applies to every argument, a nested tuple/list/dict matches an argument's
            structure.
        out_dims: where the batch dimension goes in each output (int, or one per output;
            ``None``: the output is not batched, and the first element's is returned).
        randomness: "error" (random ops inside raise), "different" (each element draws
            its own numbers) or "same" (every element draws the same numbers).
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        leaves, rebuild = flatten(args)
        dims = _arg_dims(in_dims, args)
        size = _batch_size(leaves, dims, in_dims)
        results = []
        state = _random.get_rng_state()
        for b in range(size):
            if randomness == "same":
                _random.set_rng_state(state)
            sliced = [x.select(d, b) if d is not None else x for x, d in zip(leaves, dims)]
            results.append(func(*rebuild(sliced), **kwargs))
            if randomness == "error" and _random.get_rng_state() != state:
                _random.set_rng_state(state)
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please either "
                    "use the 'same' or 'different' randomness flags on vmap or perform the "
                    "randomness operation out of vmap")
        return _stack_results(results, out_dims)
    return wrapper


def _arg_dims(in_dims, args: tuple) -> list:
    if isinstance(in_dims, (tuple, list)):
        if len(in_dims) != len(args):
            raise ValueError(
                f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): in_dims is not compatible with the "
                f"structure of `inputs`. in_dims has structure of length {len(in_dims)} but inputs "
                f"has {len(args)} positional arguments")
        dims = [d for p, a in zip(in_dims, args) for d in broadcast_prefix(p, a, "in_dims")]
    elif in_dims is None or isinstance(in_dims, int):
        dims = broadcast_prefix(in_dims, args, "in_dims")
    else:
        raise ValueError(f"vmap(f, in_dims={in_dims!r}, ...): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got "
                         f"{type(in_dims).__name__}")
    return dims


def _batch_size(leaves: list, dims: list, in_dims) -> int:
    sizes = []
    for i, (x, d) in enumerate(zip(leaves, dims)):
        if d is None:
            continue
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={d} for an "
                             f"input but the input is of type {type(x).__name__}. We cannot vmap "
                             "over non-Tensor arguments, please use None as the respective in_dim")
        if x.dim() == 0 or not -x.dim() <= d < x.dim():
            raise ValueError(f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={d} for some "
                             f"input, but that input is a Tensor of dimensionality {x.dim()} so "
                             f"expected in_dim to satisfy -{x.dim()} <= in_dim < {x.dim()}.")
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError(f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): at least one input must be "
                         "mapped over (got no Tensor inputs with a non-None in_dim)")
    if len(set(sizes)) != 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, "
                         f"got sizes {sizes} for the mapped dimension")
    if sizes[0] == 0:
        raise ValueError("vmap: the mapped dimension has size 0; ember runs the function once per "
                         "batch element, so it needs at least one")
    return sizes[0]


def _stack_results(results: list, out_dims):
    from ..ops.join import stack

    per_elem = [flatten(r) for r in results]
    leaves0, rebuild = per_elem[0]
    if isinstance(out_dims, (tuple, list)) and not isinstance(results[0], (tuple, list)):
        if len(out_dims) != 1:
            raise ValueError(f"vmap: out_dims={out_dims!r} has {len(out_dims)} entries but the "
                             "function returned a single value")
        out_dims = out_dims[0]
    dims = broadcast_prefix(out_dims, results[0], "out_dims")
    stacked = []
    for i, d in enumerate(dims):
        items = [p[0][i] for p in per_elem]
        if d is None:
            stacked.append(items[0])
            continue
        if not isinstance(items[0], Tensor):
            raise ValueError(f"vmap: `{type(items[0]).__name__}` is not a Tensor: vmap can only "
                             "return Tensors (or nested tuples/lists/dicts of them) where out_dims "
                             "is not None")
        stacked.append(stack(items, dim=d))
    return rebuild(stacked)
