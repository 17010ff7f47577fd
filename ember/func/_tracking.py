"""What the func transforms share: fresh differentiable copies of the arguments they
differentiate, gradients with zeros for unused inputs, and results cut loose from
the transform's private graph.

A transform differentiates with ``create_graph=True`` so that it composes: an argument
that already requires a gradient (an outer transform's variable, or the user's) is
aliased with ``view_as``, keeping its history, so outer transforms and ``backward()``
see through the inner one. Results that depend on nothing but the transform's own
fresh leaves are detached, as PyTorch's transforms return plain tensors then.
"""
from __future__ import annotations

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ._pytree import flatten


def normalize_argnums(argnums, n_args: int, fn_name: str) -> tuple[int, ...]:
    single = isinstance(argnums, int)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(a, int) for a in nums):
        raise RuntimeError(f"{fn_name}: argnums must be int or Tuple[int, ...], got {argnums!r}")
    out = []
    for a in nums:
        if not -n_args <= a < n_args:
            raise RuntimeError(f"{fn_name}: Got argnums={argnums}, but only {n_args} positional "
                               "inputs were given")
        out.append(a % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{fn_name}: argnums must be unique, got {argnums!r}")
    return tuple(out)


def track(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise RuntimeError(f"Expected the differentiated arguments to be Tensors (or nested "
                           f"tuples/lists/dicts of them), got {type(x).__name__}")
    if x.requires_grad and is_grad_enabled():
        return x.view_as(x)
    return x.detach().requires_grad_(True)


def track_args(args: tuple, argnums, fn_name: str):
    """(new args, tracked leaves, rebuild) where rebuild(per-leaf values) gives the
    structure PyTorch returns for ``argnums``: that argument's tree for an int, a tuple
    of trees for a tuple."""
    nums = normalize_argnums(argnums, len(args), fn_name)
    new_args = list(args)
    leaves, builders, sizes = [], [], []
    for a in nums:
        arg_leaves, rebuild = flatten(args[a])
        tracked = [track(t) for t in arg_leaves]
        new_args[a] = rebuild(tracked)
        leaves += tracked
        builders.append(rebuild)
        sizes.append(len(tracked))

    def rebuild(values: list):
        trees, at = [], 0
        for b, n in zip(builders, sizes):
            trees.append(b(values[at:at + n]))
            at += n
        return trees[0] if isinstance(argnums, int) else tuple(trees)

    return tuple(new_args), leaves, rebuild


def grads_or_zeros(output: Tensor, inputs: list, grad_output=None) -> list:
    """d(output)/d(inputs) with graph, zeros where an input is unused."""
    from ..autograd import grad
    from ..ops.creation import zeros_like

    if output.requires_grad:
        gs = grad([output], inputs, None if grad_output is None else [grad_output],
                  retain_graph=True, create_graph=True, allow_unused=True)
    else:
        gs = (None,) * len(inputs)
    return [zeros_like(t) if g is None else g for t, g in zip(inputs, gs)]


def release(tree, private: list):
    """``tree`` with every tensor whose graph reaches no leaf but ``private`` detached."""
    ids = {id(t) for t in private}
    leaves, rebuild = flatten(tree)
    return rebuild([t.detach() if isinstance(t, Tensor) and t.requires_grad and
                    not _reaches_other_leaf(t, ids) else t for t in leaves])


def _reaches_other_leaf(t: Tensor, private_ids: set) -> bool:
    node = t.grad_fn
    if node is None:
        return id(t) not in private_ids
    stack, seen = [node], {id(node)}
    while stack:
        for edge in stack.pop()._edges:
            if not edge:  # None (input needs no grad) or False (not a tensor)
                continue
            nxt = edge[0]
            if isinstance(nxt, Tensor):
                if id(nxt) not in private_ids:
                    return True
            elif id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
    return False
