"""Hook handles and the autograd nodes behind Module's full backward hooks."""
from __future__ import annotations

import itertools
from collections import OrderedDict

from ..._tensor import Tensor
from ...autograd.function import Function

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``handle.remove()`` unregisters the hook.

    Also a context manager that removes the hook on exit.
    """

    def __init__(self, hooks_dict: OrderedDict, *, extra_dict: OrderedDict | None = None):
        self.id = next(_ids)
        self._dicts = (hooks_dict,) if extra_dict is None else (hooks_dict, extra_dict)

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _Identity(Function):
    """Passes tensors through unchanged; its backward lets ``_BackwardHook`` see the gradients."""

    @staticmethod
    def forward(ctx, hook, on_output, *tensors):
        ctx.set_materialize_grads(False)
        ctx.hook, ctx.on_output = hook, on_output
        return tuple(t._data for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        hook = ctx.hook
        grads = hook.output_grads(grads) if ctx.on_output else hook.input_grads(grads)
        return (None, None) + tuple(grads)


class _BackwardHook:
    """One forward call's view of a module's backward hooks.

    Tensors entering the module and tensors leaving it are routed through ``_Identity``
    nodes. Backward reaches the output node first (the gradients w.r.t. the outputs:
    pre-hooks run there and may replace them) and the input node last (the gradients
    w.r.t. the inputs: full hooks run there and may replace them).
    """

    def __init__(self, module, pre_hooks: list, hooks: list):
        self.module, self.pre_hooks, self.hooks = module, pre_hooks, hooks
        self.grad_output = None
        self.n_inputs = 0
        self.input_slots: list = []

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.input_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._requires_grad]
        if not self.input_slots:
            return args
        outs = _Identity.apply(self, False, *(args[i] for i in self.input_slots))
        new = list(args)
        for i, t in zip(self.input_slots, outs):
            new[i] = t
        return tuple(new)

    def setup_outputs(self, result):
        single = isinstance(result, Tensor)
        items = (result,) if single else result
        if not isinstance(items, tuple):
            return result
        slots = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o._requires_grad]
        if not slots:
            return result
        self.n_outputs, self.output_slots = len(items), slots
        outs = _Identity.apply(self, True, *(items[i] for i in slots))
        new = list(items)
        for i, t in zip(slots, outs):
            new[i] = t
        return new[0] if single else tuple(new)

    def _pack(self, slots: list, grads, n: int) -> tuple:
        full = [None] * n
        for i, g in zip(slots, grads):
            full[i] = g
        return tuple(full)

    def _unpack(self, slots: list, grads: tuple) -> tuple:
        return tuple(grads[i] for i in slots)

    def output_grads(self, grads: tuple) -> tuple:
        grad_output = self._pack(self.output_slots, grads, self.n_outputs)
        for hook in self.pre_hooks:
            new = hook(self.module, grad_output)
            if new is not None:
                grad_output = _check_grads(new, len(grad_output), "backward pre hook")
        self.grad_output = grad_output
        if not self.input_slots:  # nothing upstream needs a gradient: the hooks run now
            self._run_hooks((None,) * self.n_inputs)
        return self._unpack(self.output_slots, grad_output)

    def input_grads(self, grads: tuple) -> tuple:
        grad_input = self._run_hooks(self._pack(self.input_slots, grads, self.n_inputs))
        return self._unpack(self.input_slots, grad_input)

    def _run_hooks(self, grad_input: tuple) -> tuple:
        for hook in self.hooks:
            new = hook(self.module, grad_input, self.grad_output)
            if new is not None:
                grad_input = _check_grads(new, len(grad_input), "backward hook")
        return grad_input


def _check_grads(new, n: int, kind: str) -> tuple:
    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    if len(new) != n:
        raise RuntimeError(f"{kind} returned an invalid number of grads, expected {n}, but got {len(new)}")
    return new
