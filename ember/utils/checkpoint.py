"""Activation checkpointing: run a piece of the model without keeping its intermediate
results, and run it again during backward to get its gradients.

``checkpoint(fn, *args)`` runs ``fn`` once to find the leaf tensors it reads (parameters,
tensors it closes over), keeps only its inputs, and returns outputs whose single graph node
stands for all of ``fn``. Backward reruns ``fn`` with the random-number state of the first
run (so dropout draws the same masks) and differentiates it with respect to the inputs and
those leaves, so gradients equal those without checkpointing, through ``backward()`` and
``autograd.grad`` alike.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable

from .._tensor import Tensor
from ..autograd import grad as autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..autograd.graph import leaf_tensors
from ..backend.random import get_rng_state, set_rng_state

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]


def noop_context_fn():
    """The default ``context_fn``: no context around either run."""
    return contextlib.nullcontext(), contextlib.nullcontext()


class _Segment:
    """What backward needs to run the segment again: the function, its arguments with the
    tensors taken out, the random state and the outputs' layout."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, rng_state, context_fn) -> None:
        self.function, self.kwargs, self.rng_state, self.context_fn = function, kwargs, rng_state, context_fn
        self.args = list(args)
        self.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def run(self, tensors) -> Any:
        args = list(self.args)
        for i, t in zip(self.tensor_positions, tensors):
            args[i] = t
        return self.function(*args, **self.kwargs)


def _tensor_outputs(out) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, Tensor)]
    raise TypeError(f"checkpoint: the checkpointed function must return a Tensor or a tuple/list of "
                    f"values, got {type(out).__name__}")


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, segment: _Segment, outputs: list, n_inputs: int, *tensors):
        ctx.segment, ctx.n_inputs = segment, n_inputs
        ctx.save_for_backward(*tensors[:n_inputs])
        ctx.leaves = tensors[n_inputs:]
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        segment = ctx.segment
        create_graph = is_grad_enabled()
        # For a graph of the gradient (double backward) the rerun starts from the inputs
        # themselves, so the gradient stays connected to what produced them.
        inputs = list(ctx.saved_tensors) if create_graph else \
            [t.detach().requires_grad_(t.requires_grad) for t in ctx.saved_tensors]
        current_state = get_rng_state()
        _, recompute_context = segment.context_fn()
        try:
            if segment.rng_state is not None:
                set_rng_state(segment.rng_state)
            with enable_grad(), recompute_context:
                outputs = _tensor_outputs(segment.run(inputs))
        finally:
            set_rng_state(current_state)
        pairs = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad and g is not None]
        wrt = [t for t in inputs if t.requires_grad] + list(ctx.leaves)
        if not pairs or not wrt:
            return (None, None, None) + (None,) * (len(inputs) + len(ctx.leaves))
        found = iter(autograd_grad([o for o, _ in pairs], wrt, [g for _, g in pairs], allow_unused=True,
                                   create_graph=create_graph))
        input_grads = [next(found) if t.requires_grad else None for t in inputs]
        return (None, None, None, *input_grads, *found)


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate results; they are
    computed again during backward (with the same random numbers when ``preserve_rng_state``,
    the default), trading compute for memory.

    Args:
        function: the piece of the model (a module or any callable).
        use_reentrant: pass it explicitly (``False`` is recommended). With ``True``, keyword
            arguments other than ``preserve_rng_state`` are refused, and when no input tensor
            needs a gradient a warning says the gradients will be None, as in PyTorch.
        context_fn: returns two context managers, entered around the first run and the rerun.
    """
    if use_reentrant is None:
        warnings.warn("ember.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended; without it, use_reentrant=True is assumed.",
                      stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if use_reentrant:
        if context_fn is not noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not is_grad_enabled():
        return function(*args, **kwargs)
    if use_reentrant and not any(t.requires_grad for t in tensors):
        # PyTorch's reentrant checkpoint differentiates through its tensor inputs only.
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        with no_grad():
            return function(*args, **kwargs)

    segment = _Segment(function, args, kwargs, get_rng_state() if preserve else None, context_fn)
    detached = [t.detach().requires_grad_(t.requires_grad) for t in tensors]
    forward_context, _ = context_fn()
    # One recorded run, to find the leaves the segment reads; its graph is dropped on return.
    with forward_context:
        out = segment.run(detached)
    outputs = _tensor_outputs(out)
    leaves = leaf_tensors([o.grad_fn for o in outputs if o.grad_fn is not None], {id(t) for t in detached})
    results = _CheckpointFunction.apply(segment, [o.detach() for o in outputs], len(tensors), *tensors, *leaves)
    results = iter(results if isinstance(results, tuple) else (results,))
    if isinstance(out, Tensor):
        return next(results)
    return type(out)(next(results) if isinstance(o, Tensor) else o for o in out)


def checkpoint_sequential(functions, segments: int, input: Tensor, use_reentrant: bool | None = None, **kwargs):
    """Run a ``Sequential`` (or a list of modules / functions) in ``segments`` checkpointed
    chunks; the last chunk runs normally."""
    if use_reentrant is None:
        warnings.warn("ember.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
                      "passed explicitly. use_reentrant=False is recommended; without it, "
                      "use_reentrant=True is assumed.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))

    def run_function(start: int, end: int, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn.modules.container import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
