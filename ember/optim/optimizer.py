"""Optimizer: parameter groups, per-parameter state, state_dict, and hooks around step,
state_dict and load_state_dict.

Each algorithm (sgd.py, adam.py, ...) validates its arguments in ``__init__`` and
implements ``_step_group(group)``: the update of one parameter group, written as
in-place array math on ``p._data`` with state tensors created lazily, so no graph
is recorded and no temporaries are made where a buffer can be reused. SGD, Adam,
AdamW, Adadelta and RMSprop run a float32/float64 parameter on the CPU through a
compiled one-pass kernel (``one_pass``, backend/kernels/optim.py) that gives the same
bits as their array math, which stays for every other case.
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

import numpy as np

from .._layout import copy_ordered, flat_view, memory_order, preserve_format, same_layout
from .._tensor import Tensor
from ..autograd.capture import replayable
from ..autograd.grad_mode import enable_grad
from ..backend import dtypes, kernels
from ..backend.compat import as_array, loud, quiet
from ..nn.modules.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

# Hooks around every optimizer's step (all instances, all algorithms), in registration order.
_GLOBAL_STEP_PRE_HOOKS: OrderedDict = OrderedDict()
_GLOBAL_STEP_POST_HOOKS: OrderedDict = OrderedDict()


class _RequiredParameter:
    """The default of a hyper-parameter that every parameter group must set itself."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _with_hooks(step: Callable) -> Callable:
    """Wrap an optimizer's ``step`` to run the registered pre/post hooks around it."""
    if getattr(step, "_with_hooks", False):
        return step

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self._in_step:  # a subclass's step calling super().step(): hooks already ran
            return step(self, *args, **kwargs)
        self._opt_called = True  # read by LRScheduler to warn about a wrong call order
        # As in PyTorch, hooks see the optimizer itself as args[0], and a pre-hook's new
        # args must keep it there.
        args = (self, *args)
        # PyTorch's order: global pre-hooks before the instance's, and after the step the
        # instance's post-hooks before the global ones.
        for hook in [*_GLOBAL_STEP_PRE_HOOKS.values(), *self._step_pre_hooks.values()]:
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{result}.")
                args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for hook in [*self._step_post_hooks.values(), *_GLOBAL_STEP_POST_HOOKS.values()]:
            hook(self, args, kwargs)
        return out

    wrapper._with_hooks = True
    return replayable(wrapper)


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            (parameter groups, each with a ``"params"`` entry and per-group options).
        defaults: the options a group gets when it does not set them itself.
    """

    _in_step = False
    _HOOK_TABLES = ("_step_pre_hooks", "_step_post_hooks", "_state_dict_pre_hooks",
                    "_state_dict_post_hooks", "_load_state_dict_pre_hooks",
                    "_load_state_dict_post_hooks")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_hooks(cls.__dict__["step"])

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        if callable(getattr(params, "parameters", None)) and hasattr(params, "named_modules"):  # a Module
            raise TypeError(f"'{type(params).__name__}' object is not iterable: the optimizer takes "
                            f"the model's parameters, e.g. {type(self).__name__}(model.parameters(), ...)")
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict[str, Any]:
        # Hooks may be lambdas or closures: like PyTorch, pickling keeps only the optimizer's data.
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_hooks()

    def _init_hooks(self) -> None:
        for name in self._HOOK_TABLES:
            setattr(self, name, OrderedDict())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    # ---- parameter groups ------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to optimize, e.g. when unfreezing layers."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error", stacklevel=3)

        seen: set = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    # ---- the update ------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step.

        Args:
            closure: re-evaluates the model and returns the loss (run with gradients enabled).
        Returns:
            the closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        token = quiet()  # an update that meets inf or nan gives it quietly, as PyTorch's do
        try:
            for group in self.param_groups:
                self._step_group(group)
        finally:
            loud(token)
        return loss

    step = _with_hooks(step)

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must implement step() (or _step_group(group) for the update "
            "of one parameter group)")

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each step; it may return new (args, kwargs)."""
        return _add_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        return _add_hook(self._step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` before :meth:`state_dict` builds the dict (first, with
        ``prepend``)."""
        return _add_hook(self._state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on the dict :meth:`state_dict` built; a non-None
        result replaces it."""
        return _add_hook(self._state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable,
                                          prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before :meth:`load_state_dict` reads the dict (a
        shallow copy of the caller's); a non-None result is loaded instead."""
        return _add_hook(self._load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable,
                                           prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` after :meth:`load_state_dict` has loaded the state."""
        return _add_hook(self._load_state_dict_post_hooks, hook, prepend)

    # ---- checkpoints -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [{...}]}``.

        Parameters are replaced by their position across all groups, so the dict can
        be loaded into an optimizer built over other tensors of the same shapes.
        """
        for hook in list(self._state_dict_pre_hooks.values()):
            hook(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": state, "param_groups": groups}
        for hook in list(self._state_dict_post_hooks.values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from :meth:`state_dict`; floating state is cast to each parameter's
        dtype and device (except ``'step'``)."""
        state_dict = state_dict.copy()  # pre-hooks may change the dict, never the caller's
        for hook in list(self._load_state_dict_pre_hooks.values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                             "size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v)
            else:
                state[k] = v
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups
        for hook in list(self._load_state_dict_post_hooks.values()):
            hook(self)


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's step (before the
    optimizer's own pre-hooks); it may return new (args, kwargs)."""
    return _add_hook(_GLOBAL_STEP_PRE_HOOKS, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's step (after the
    optimizer's own post-hooks)."""
    return _add_hook(_GLOBAL_STEP_POST_HOOKS, hook)


def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _cast_state(param: Tensor, value, key=None):
    """A loaded state value on the parameter's device (and dtype, for floating parameters)."""
    if isinstance(value, Tensor):
        if key == "step":
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return value


# ---- helpers shared by the algorithms ----------------------------------------------------
def check_range(ok: bool, what: str, value) -> None:
    """Raise PyTorch's ValueError for an invalid hyper-parameter, e.g. 'Invalid learning rate: -1'."""
    if not ok:
        raise ValueError(f"Invalid {what}: {value}")


def check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    check_range(0.0 <= lr, "learning rate", lr)


def check_betas(betas) -> None:
    for i, beta in enumerate(betas):
        check_range(0.0 <= beta < 1.0, f"beta parameter at index {i}", beta)


def check_differentiable(differentiable: bool) -> None:
    if differentiable:
        raise ValueError(
            "differentiable=True is not supported: ember's optimizers update parameters in place "
            "outside the autograd graph; write the update with tensor ops to differentiate through it")


def scalar(value) -> float:
    """A hyper-parameter as a Python number (a 1-element tensor lr is read out)."""
    return value.item() if isinstance(value, Tensor) else value


def step_tensor(fill: float = 0.0) -> Tensor:
    """A 0-d host counter like PyTorch's ``state['step']`` (float32, or float64 when that is
    the default dtype)."""
    dt = np.float64 if dtypes.get_default_dtype() is dtypes.float64 else np.float32
    return Tensor._make(np.full((), fill, dtype=dt))


def increment(step: Tensor) -> float:
    """Add one to a step counter in place and return its new value."""
    step._data += 1
    step._vc[0] += 1
    return float(step._data)


def state_zeros(p: Tensor) -> Tensor:
    """A zero state buffer with the parameter's shape, dtype and device."""
    return Tensor._make(np.zeros_like(p._data))


def one_pass(p: Tensor, name: str, *states):
    """The one-pass update kernel ``name`` of ``backend/kernels/optim.py`` for ``p`` (its
    parallel one from PARALLEL_FROM elements) with the flat arrays it updates: (kernel,
    parameter, gradient, *states), a state given as None passed as an empty array; or None
    where the array math runs: no compiled kernels, a dtype other than float32/float64, a CUDA
    tensor, or a parameter with gaps (a view) or states laid out otherwise. The arrays are
    flat in the parameter's memory order (row-major, channels-last, ...)."""
    k = kernels.cpu()
    if k is None:
        return None
    param, grad = p._data, p.grad._data
    arrays = [s._data for s in states if s is not None]
    flat = flat_view(param)
    if flat is None or not (kernels.usable(param, grad, *arrays)
                            and all(a.size == param.size and same_layout(a, param) for a in arrays)):
        return None
    if not same_layout(grad, param):
        grad = copy_ordered(grad, memory_order(param, preserve_format))
    return (kernels.optim_update(name, flat.size), flat, flat_view(grad),
            *(flat[:0] if s is None else flat_view(s._data) for s in states))


def grad_of(p: Tensor, maximize: bool, weight_decay: float):
    """The gradient array of ``p`` (negated for maximize) plus L2 weight decay (a new array
    when changed, so ``p.grad`` itself is never modified)."""
    g = p.grad._data
    if maximize:
        g = np.negative(g)
    if weight_decay != 0:
        g = g + weight_decay * p._data
    return g


def adam_moments_(state: dict, p: Tensor, group: dict, lr: float, beta1: float, beta2: float):
    """The part of a step the Adam family shares: count the step, apply weight decay (L2
    into the gradient, or decoupled onto the weights) and update the running moments in
    place. Returns (step, gradient array, exp_avg array, exp_avg_sq array)."""
    step = increment(state["step"])
    weight_decay, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
    if decoupled and weight_decay != 0:
        p._data *= 1 - lr * weight_decay
    g = grad_of(p, group["maximize"], 0 if decoupled else weight_decay)
    exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
    lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    add_scaled_(exp_avg_sq, 1 - beta2, g, g)
    return step, g, exp_avg, exp_avg_sq


def lerp_(start, end, weight: float) -> None:
    """``start += weight * (end - start)`` in place, in the form that is exact at both ends."""
    diff = np.subtract(end, start)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        np.subtract(end, diff, out=start)


def add_scaled_(out, value: float, a, b=None, divide: bool = False) -> None:
    """``out += value * a`` (times ``b``, or divided by ``b``), in place: addcmul_/addcdiv_."""
    tmp = as_array(np.multiply(a, value))  # a 0-d product is a NumPy scalar, which takes no out=
    if b is not None:
        (np.divide if divide else np.multiply)(tmp, b, out=tmp)
    out += tmp
