"""torch.autograd.graph: saved-tensor hooks (saved_tensors_hooks, save_on_cpu) and Node.

While a ``saved_tensors_hooks`` context is active, every tensor a node saves for
backward (``ctx.save_for_backward``, in built-in ops and user Functions alike) is
passed to ``pack_hook`` when the forward records the node, and only what it returns
is kept; reading ``ctx.saved_tensors`` passes that to ``unpack_hook``, once per read.
The unpacked tensor is re-attached to the saved tensor's place in the graph (its
grad_fn, or its leaf), so double backward still differentiates through it.
``Function.apply`` pays one global check for this: ``function.SAVED_HOOKS`` is None
while no hooks are active.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

from . import function as _function
from .function import AccumulateGrad, Function
from .grad_mode import state

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "Node"]


def leaf_tensors(nodes, skip: set[int] = frozenset()) -> list:
    """The leaf tensors the graph behind ``nodes`` reaches, once each, in the order a
    depth-first walk finds them, leaving out those whose id is in ``skip``."""
    leaves, seen_nodes, seen_leaves = [], set(), set(skip)
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for edge in node._edges:
            if not edge:
                continue
            target = edge[0]
            if isinstance(target, Function):
                stack.append(target)
            elif id(target) not in seen_leaves:
                seen_leaves.add(id(target))
                leaves.append(target)
    return leaves

_active: list = []          # the hooks contexts entered, innermost last
_disabled: list = []        # messages of active disable_saved_tensors_hooks contexts


class _NodeMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, (Function, AccumulateGrad))


class Node(metaclass=_NodeMeta):
    """The type of autograd graph nodes: ``isinstance(t.grad_fn, Node)`` holds for every
    node (ember's nodes are applied ``Function`` instances and ``AccumulateGrad``)."""


class saved_tensors_hooks:
    """Context manager: pack every tensor saved for backward with ``pack_hook`` and
    unpack it with ``unpack_hook`` when backward reads it. Nested contexts: the
    innermost applies."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _disabled:
            raise RuntimeError(_disabled[-1])
        _active.append(self)
        _function.SAVED_HOOKS = self
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)
        _function.SAVED_HOOKS = _active[-1] if _active else None

    def pack(self, node, saved: list, results: list) -> tuple:
        """``saved`` (Function._resolve_saved's entries) with every tensor packed."""
        from .._tensor import Tensor

        out = []
        for t, counter, version in saved:
            if t is None:
                out.append((t, counter, version))
            elif isinstance(t, int):  # the node's own output: re-attached to the node on unpack
                out.append((PackedSaved(self, results[t], None, t), counter, version))
            else:
                assert isinstance(t, Tensor)
                out.append((PackedSaved(self, t, t, t._output_nr), counter, version))
        node.__dict__.pop("_out_arrays", None)  # outputs are kept only as packed, if at all
        return tuple(out)


class PackedSaved:
    """What a node keeps for one saved tensor while hooks were active."""

    __slots__ = ("hooks", "packed", "requires_grad", "grad_fn", "output_nr", "leaf", "source")

    def __init__(self, hooks: saved_tensors_hooks, tensor, original, output_nr: int):
        self.hooks = hooks
        self.output_nr = output_nr
        # an input's place in the graph; None for the node's own output (the node itself)
        self.requires_grad = tensor._requires_grad
        self.grad_fn = original._grad_fn if original is not None else None
        self.leaf = original if original is not None and original._requires_grad \
            and original._grad_fn is None else None
        self.source = weakref.ref(original) if original is not None else None
        prev, state.enabled = state.enabled, False  # ops in a hook record nothing (and save nothing)
        try:
            self.packed = hooks.pack_hook(tensor)
        finally:
            state.enabled = prev

    def unpack(self, node):
        from .._tensor import Tensor

        prev, state.enabled = state.enabled, False
        try:
            value = self.hooks.unpack_hook(self.packed)
        finally:
            state.enabled = prev
        if not isinstance(value, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(value).__name__} (saved by {node.name()})")
        if not self.requires_grad:
            return Tensor._make(value._data)
        if self.leaf is not None:
            return value if value is self.leaf else _Unpacked.apply(self.leaf, value.detach())
        grad_fn = node if self.source is None else self.grad_fn
        return Tensor._make(value._data, True, grad_fn, self.output_nr)

    def keep_value_of(self, t, entry: tuple) -> tuple:
        """``t`` is about to be overwritten in place by the node that saved it: pack a
        copy of its current value instead (the Function._keep_value_of rule)."""
        from .._tensor import Tensor

        if self.source is None or self.source() is not t:
            return entry
        copy = Tensor._make(t._data.copy(), t._requires_grad, t._grad_fn, t._output_nr)
        packed = PackedSaved(self.hooks, copy, copy, copy._output_nr)
        packed.leaf = self.leaf  # the copy stands for the same leaf
        return (packed, None, 0)


class _Unpacked(Function):
    """An unpacked value standing for a saved leaf: gradients flow to the leaf."""

    @staticmethod
    def forward(ctx, leaf, value):
        return value._data

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors in CPU memory and move them back to their device when backward
    reads them (on a CPU tensor both moves are no-ops)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack(t):
            return t.device, t.cpu()

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Context manager in which entering ``saved_tensors_hooks`` raises
    ``RuntimeError(error_message)``."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        _disabled.append(self.error_message)
        return self

    def __exit__(self, *exc) -> None:
        _disabled.remove(self.error_message)


_function.PACKED_TYPE = PackedSaved
