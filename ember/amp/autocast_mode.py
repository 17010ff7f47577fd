"""autocast: ops run in the dtype PyTorch's op lists give them while a region is active.

One dispatch point: a public op whose name appears in `op_lists.POLICIES` is wrapped once,
at its definition, by ``@autocast_op(name)``. While no autocast region is active the
wrapper costs one check of a thread-local flag; inside one, the op's floating tensor arguments on the
region's device type are cast (differentiably, so gradients return to each parameter in
its own dtype) before the op runs, and ops the op calls internally are left alone, as
PyTorch's dispatcher does. The state is per thread, as PyTorch's.
"""
from __future__ import annotations

import functools
import threading
import warnings

from .._tensor import Tensor
from ..backend import dtypes
from .op_lists import FP32, LISTED, LOWER, POLICIES, REFUSE

__all__ = ["autocast", "autocast_op", "is_autocast_available", "is_autocast_enabled",
           "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype"]

_DEVICE_TYPES = ("cpu", "cuda")
# PyTorch's defaults: bfloat16 on the CPU, float16 on CUDA; both dtypes on either device
# (bfloat16 on CUDA where ember.cuda.is_bf16_supported(): CuPy 14 or later).
_SUPPORTED = {"cpu": (dtypes.bfloat16, dtypes.float16), "cuda": (dtypes.bfloat16, dtypes.float16)}
class _State(threading.local):
    """Autocast's switches, per thread as PyTorch's are (an autocast region in one thread
    leaves another's ops in their own dtypes); a new thread starts with autocast off."""

    active = False  # any device type enabled, and not inside an autocast op already

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}


_state = _State()


def _refresh() -> None:
    _state.active = _state.enabled["cpu"] or _state.enabled["cuda"]


def snapshot():
    """Autocast's switches as one value, None while it is off (ember.compile records it
    with each captured op and restores it on replay)."""
    e = _state.enabled
    if not (e["cpu"] or e["cuda"]):
        return None
    return (_state.active, e["cpu"], e["cuda"], _state.dtype["cpu"], _state.dtype["cuda"])


def restore(switches) -> None:
    """Set autocast's switches to what ``snapshot`` returned."""
    if switches is None:
        _state.enabled["cpu"] = _state.enabled["cuda"] = _state.active = False
        return
    _state.active, _state.enabled["cpu"], _state.enabled["cuda"], _state.dtype["cpu"], \
        _state.dtype["cuda"] = switches


def _check_device_type(device_type, what: str = "autocast") -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"{what}: expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in _DEVICE_TYPES:
        raise RuntimeError(
            f"User specified an unsupported autocast device_type '{device_type}'; ember's "
            f"autocast supports 'cpu' and 'cuda'")
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast has op lists for ``device_type``."""
    return device_type in _DEVICE_TYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (CUDA's state when None, as in PyTorch)."""
    return _state.enabled[_check_device_type("cuda" if device_type is None else device_type,
                                       "is_autocast_enabled")]


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    _state.enabled[_check_device_type(device_type, "set_autocast_enabled")] = bool(enabled)
    _refresh()


def get_autocast_dtype(device_type: str) -> dtypes.dtype:
    """The dtype "lower precision" ops run in under ``device_type``'s autocast."""
    return _state.dtype[_check_device_type(device_type, "get_autocast_dtype")]


def set_autocast_dtype(device_type: str, dtype) -> None:
    _state.dtype[_check_device_type(device_type, "set_autocast_dtype")] = _lower_dtype(dtype)


def _lower_dtype(dtype) -> dtypes.dtype:
    if isinstance(dtype, dtypes.dtype):
        return dtype
    raise TypeError(f"autocast: dtype must be an ember dtype such as ember.bfloat16 or ember.float16, "
                    f"got {dtype!r}")


class autocast:
    """Run the ops of a region (or of a decorated function) in mixed precision.

    Args:
        device_type: "cpu" or "cuda"; only tensors on that device type are cast.
        dtype: the lower-precision dtype: on "cpu" ember.bfloat16 (the default) or
            ember.float16; on "cuda" ember.float16 (the default) or ember.bfloat16 (with
            CuPy 14 or later, as ember.cuda.is_bf16_supported() says).
        enabled: False turns autocast off inside the region (nested regions too).
        cache_enabled: accepted for PyTorch's signature; ember casts a weight at each use,
            which gives the same values (PyTorch's cache only saves the repeated cast).
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        self.device = _check_device_type(device_type)
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else _lower_dtype(dtype)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: expected enabled to be a bool, got {type(enabled).__name__}")
        if enabled and device_type == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. "
                              "Disabling")
                enabled = False
            elif self.fast_dtype is dtypes.bfloat16 and not cuda.is_bf16_supported():
                raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to "
                                   "float16 (ember computes bfloat16 on CUDA with CuPy 14 or later: pip "
                                   "install 'cupy-cuda12x>=14').")
        if enabled and self.fast_dtype not in _SUPPORTED[device_type]:
            names = " and ".join(str(d) for d in _SUPPORTED[device_type])
            warnings.warn(
                f"In {device_type.upper()} autocast, but the target dtype is not supported. "
                f"Disabling autocast.\n{device_type.upper()} Autocast only supports dtype of "
                f"{names} currently (got {self.fast_dtype}).")
            enabled = False
        self._enabled = enabled

    def __enter__(self):
        self._prev = (_state.enabled[self.device], _state.dtype[self.device])
        _state.enabled[self.device] = self._enabled
        _state.dtype[self.device] = self.fast_dtype
        _refresh()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        _state.enabled[self.device], _state.dtype[self.device] = self._prev
        _refresh()

    def __call__(self, func):
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)
        return decorated


# ---- the dispatch point -------------------------------------------------------------------
def autocast_op(name: str):
    """Decorate the public op ``name`` so autocast regions apply its listed policy.

    Ops listed on no device type are returned unwrapped (factories may apply this to every
    op they build). An out= wrapper keeps its unwrapped form for Tensor methods
    (``_without_out``): that form gets the policy too, and an explicit ``out=`` or
    ``dtype=`` makes the call ineligible, as in PyTorch.
    """
    def wrap(fn):
        if name not in LISTED:
            return fn

        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not _state.active:
                return fn(*args, **kwargs)
            return _dispatch(name, fn, args, kwargs)

        if hasattr(fn, "_without_out"):
            op._without_out = wrap(fn._without_out)
        return op
    return wrap


def _first_tensor(values):
    for v in values:
        if isinstance(v, Tensor):
            return v
        if isinstance(v, (list, tuple)):
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _eligible(v, device_type: str) -> bool:
    return (isinstance(v, Tensor) and v.dtype.is_floating_point and v.dtype is not dtypes.float64
            and v.device.type == device_type)


def _widest(values, device_type: str, widest):
    for v in values:
        if isinstance(v, (list, tuple)):
            widest = _widest(v, device_type, widest)
        elif _eligible(v, device_type) and (widest is None or v.dtype.itemsize > widest.itemsize):
            widest = v.dtype
    return widest


def _cast(v, target: dtypes.dtype, device_type: str):
    if isinstance(v, (list, tuple)) and not isinstance(v, Tensor):
        return type(v)(_cast(x, target, device_type) for x in v)
    if _eligible(v, device_type) and v.dtype is not target:
        return v.to(target)
    return v


def _dispatch(name: str, fn, args: tuple, kwargs: dict):
    target = _target(name, args, kwargs)
    if target is not None:
        device_type = target[1]
        args = tuple(_cast(a, target[0], device_type) for a in args)
        kwargs = {k: _cast(v, target[0], device_type) for k, v in kwargs.items()}
    # The op's own inner ops run as written, as under PyTorch's dispatcher, whether or not
    # this call was cast: an out= call or an op another device type lists keeps its dtypes.
    _state.active = False
    try:
        return fn(*args, **kwargs)
    finally:
        _refresh()


def _target(name: str, args: tuple, kwargs: dict):
    """(dtype, device type) the op's inputs are cast to, or None when the call is ineligible."""
    if kwargs.get("out") is not None or kwargs.get("dtype") is not None:
        return None
    first = _first_tensor((*args, *kwargs.values()))
    if first is None:
        return None
    device_type = first.device.type
    policy = POLICIES[device_type].get(name) if _state.enabled.get(device_type) else None
    if policy is None:
        return None
    if policy == REFUSE:
        raise RuntimeError(
            f"ember.nn.functional.{name} and ember.nn.BCELoss are unsafe to autocast.\nMany "
            f"models use a sigmoid layer right before the binary cross entropy layer.\nIn this "
            f"case, combine the two layers using ember.nn.functional.binary_cross_entropy_with_logits"
            f"\nor ember.nn.BCEWithLogitsLoss. binary_cross_entropy_with_logits and BCEWithLogits "
            f"are\nsafe to autocast.")
    if policy == LOWER:
        return _state.dtype[device_type], device_type
    if policy == FP32:
        return dtypes.float32, device_type
    widest = _widest((*args, *kwargs.values()), device_type, None)
    return None if widest is None else (widest, device_type)
