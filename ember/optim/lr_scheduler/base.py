"""LRScheduler: the base of the schedulers that set ``group['lr']`` once per step."""
from __future__ import annotations

import types
import warnings
from typing import Any

from ..._tensor import Tensor
from ...autograd.capture import replayable
from ..optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


def format_param(name: str, optimizer: Optimizer, param) -> list:
    """One value per parameter group: a list is checked for length, a scalar repeated
    (tensors copied, so groups never share one)."""
    n = len(optimizer.param_groups)
    if isinstance(param, (list, tuple)):
        if len(param) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. {name} has "
                f"{len(param)} values, param_groups has {n}.")
        values = list(param)
    else:
        values = [param] * n
    return [v.clone() if isinstance(v, Tensor) else v for v in values]


def group_values(optimizer: Optimizer, key: str) -> list:
    """``group[key]`` of every group (tensors copied, so callers never alias the optimizer's)."""
    return [g[key].clone() if isinstance(g[key], Tensor) else g[key] for g in optimizer.param_groups]


def set_group_value(group: dict, key: str, value) -> None:
    """Set ``group[key]``, in place when it is a tensor (a tensor lr stays the same object)."""
    if isinstance(group[key], Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


def set_momentum(group: dict, momentum: float, use_beta1: bool) -> None:
    """Set the momentum of a group: ``betas[0]`` for Adam-like optimizers, else ``momentum``."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def check_momentum_support(optimizer: Optimizer) -> bool:
    """Whether the optimizer's momentum is ``betas[0]``; raises if it has no momentum at all."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in optimizer.defaults


def lambdas_state(lr_lambdas: list) -> list:
    """What a state_dict keeps of lr lambdas: the ``__dict__`` of callable objects (functions
    and lambdas are not saved)."""
    return [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy() for fn in lr_lambdas]


class LRScheduler:
    """Base class of learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Subclasses implement :meth:`get_lr`; :meth:`step` advances ``last_epoch`` and writes
    the new rates into the optimizer's groups. Constructing a scheduler performs its
    first step (``last_epoch`` becomes 0) and records each group's ``initial_lr``.

    Args:
        optimizer: the optimizer whose learning rates are scheduled.
        last_epoch: index of the last epoch seen; -1 starts a new schedule, other values
            resume one (the groups must then have ``initial_lr``).
    """

    _is_initial = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:  # ember.compile replays a scheduler's step as one op
            cls.step = replayable(cls.__dict__["step"])

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                lr = group["lr"]
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "scheduler with last_epoch >= 0. Load the optimizer's state_dict first, or "
                        "start a new schedule with last_epoch=-1.")
        self.base_lrs: list = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the scheduler's first step."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Every attribute of the scheduler except the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list:
        """The learning rates the last step set, one per parameter group."""
        return self._last_lr

    def get_lr(self) -> list:
        """The learning rates for the current ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    @replayable
    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one epoch (call it after ``optimizer.step()``)."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. You should call "
                "them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`. "
                "Failure to do this will result in skipping the first value of the learning rate "
                "schedule.", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            set_group_value(group, "lr", lr)
        self._last_lr = group_values(self.optimizer, "lr")


# The name older PyTorch code subclasses.
_LRScheduler = LRScheduler
