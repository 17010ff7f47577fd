"""Parameter and Buffer: tensors that a Module registers when they are assigned to it."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._tensor import Tensor
from ..backend import dtypes
from ..backend.device import CPU, move, resolve, to_device

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]


def _source(data: Tensor | None, kind: str) -> Tensor:
    if data is None:
        from ..ops.creation import empty
        return empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"{kind}(data) expects a Tensor, got {type(data).__name__} "
                        f"(wrap it first: {kind}(ember.tensor(data)))")
    return data


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: assigning one to a Module registers it.

    It shares storage with ``data`` and requires grad unless told otherwise.
    Args:
        data: the initial values (an empty tensor when None).
        requires_grad: whether the optimizer should update it.
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        data = _source(data, "Parameter")
        Tensor._init(self, data._data)
        self._vc = data._vc
        if requires_grad:
            self.requires_grad = True  # the setter refuses non-float dtypes, as PyTorch does

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (move(self._data, CPU), str(self.device), self._requires_grad))


def _rebuild_parameter(array, device, requires_grad):
    p = Parameter.__new__(Parameter)
    Tensor._init(p, move(array, to_device(device)), requires_grad)
    return p


class Buffer(Tensor):
    """A tensor that a Module registers as a buffer (state saved in state_dict, not trained).

    Args:
        data: the values (shared, not copied).
        persistent: whether the buffer is part of the module's state_dict.
    """

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        data = _source(data, "Buffer")
        Tensor._init(self, data._data, data._requires_grad)
        self._vc = data._vc
        self.persistent = persistent


class _Unmaterialized:
    """The array slot of a lazy parameter: it knows its dtype and device, and any other
    use (shape, math) raises."""

    __slots__ = ("dtype", "device")

    def __init__(self, dtype: np.dtype, device):
        self.dtype, self.device = dtype, device

    def __getattr__(self, name: str):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
            "in `load_state_dict` when trying to load an uninitialized parameter into an initialized one. "
            "Call `forward` to initialize the parameters before accessing their attributes.")


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (lazy modules such as ``LazyLinear``).

    ``materialize(shape)`` gives it storage and turns it into a plain Parameter, keeping
    the object (so optimizers created before the first forward still hold it).
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        dt = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
        Tensor._init(self, _Unmaterialized(dt.np, resolve(device)), requires_grad)

    @property
    def device(self):
        return self._data.device

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate (uninitialised) storage of ``shape`` and become a Parameter."""
        from ..ops.creation import empty
        dt = self.dtype if dtype is None else dtypes.to_dtype(dtype)
        self._data = empty(tuple(shape), dtype=dt, device=device if device is not None else self.device)._data
        self.__class__ = self.cls_to_become

    def _retarget(self, fn: Callable[[Tensor], Tensor]) -> None:
        """Record the dtype and device that ``fn`` (e.g. ``t.double()``) would give this parameter."""
        from ..ops.creation import empty
        probe = fn(empty(0, dtype=self.dtype, device=self.device))
        self._data = _Unmaterialized(probe._data.dtype, probe.device)

    def detach(self) -> "UninitializedParameter":
        return self

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    def __deepcopy__(self, memo) -> "UninitializedParameter":
        out = UninitializedParameter(self._requires_grad, self.device, self.dtype)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (UninitializedParameter, (self._requires_grad, str(self.device), self.dtype))


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet (lazy modules such as ``LazyBatchNorm1d``);
    ``materialize(shape)`` turns it into a plain Tensor, keeping the object."""

    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        UninitializedParameter.__init__(self, requires_grad, device, dtype)
        self.persistent = persistent

    # the same lazy storage as UninitializedParameter
    device = UninitializedParameter.device
    materialize = UninitializedParameter.materialize
    _retarget = UninitializedParameter._retarget
    detach = UninitializedParameter.detach

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"

    def __deepcopy__(self, memo) -> "UninitializedBuffer":
        out = UninitializedBuffer(self._requires_grad, self.device, self.dtype, self.persistent)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (UninitializedBuffer, (self._requires_grad, str(self.device), self.dtype, self.persistent))


def is_lazy(value) -> bool:
    """Whether ``value`` is a parameter or buffer still waiting for its shape."""
    return isinstance(value, (UninitializedParameter, UninitializedBuffer))
