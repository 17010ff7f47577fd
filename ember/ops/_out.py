"""``out=``: writing an op's result into a given tensor, by PyTorch's rules, for every op.

``@with_out(rule)`` gives a public function an ``out=`` keyword. The op runs as usual and
its result is written into ``out``, which is returned:
- with grad mode on, an input or ``out`` that requires grad is an error (out= ops are not
  differentiable);
- an ``out`` of another shape is resized (with PyTorch's deprecation warning unless it was
  empty); a resized ``out`` gets new storage, as when PyTorch must grow it;
- dtypes follow the op's ``rule``: "cast" (arithmetic, mean, ...: the result is cast when
  its kind, bool < integer < floating, is not above out's), "exact" (matmul, max with dim,
  argmax: out's dtype must be the result's), "input" (amax/amin: out's dtype must be the
  input's), "accumulate" (sum/prod: out's dtype is the dtype the op accumulates in),
  "cat" (as "cast", with cat's TypeError).
Tensor methods and operators are bound to the function without the wrapper (``plain``),
so they pay nothing for it.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import state
from ..backend import dtypes
from ..backend.device import device_of
from .views import overwrite

# PyTorch's C type names, which its "Expected out tensor to have dtype" errors use.
_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
            "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char",
            "bool": "bool"}


def _requires_grad(args) -> bool:
    for a in args:
        if isinstance(a, Tensor):
            if a.requires_grad:
                return True
        elif isinstance(a, (list, tuple)) and _requires_grad(a):
            return True
    return False


def check_out(out, op: str, inputs=()) -> None:
    """The checks made before the op runs: out's type, and no autograd through out=."""
    for t in (out if isinstance(out, (tuple, list)) else (out,)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(t).__name__}")
    if state.enabled and _requires_grad((out, *inputs)):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _check_dtype(out: Tensor, result: Tensor, op: str, rule: str, input_dtype) -> None:
    have, want = out.dtype, result.dtype
    if have is want:
        return
    if rule in ("cast", "cat"):
        if want._kind <= have._kind:
            return
        if rule == "cat":
            raise TypeError(f"{op}(): input types can't be cast to the desired output type {have.kernel_name}")
        raise RuntimeError(f"{op}(): result type {want.kernel_name} can't be cast to the desired output "
                           f"type {have.kernel_name}")
    if rule == "input":
        raise RuntimeError(f"{op}(): Expected the dtype for input and out to match, but got "
                           f"{input_dtype.kernel_name} for input's dtype and {have.kernel_name} for out's dtype.")
    raise RuntimeError(f"{op}(): Expected out tensor to have dtype {_C_NAMES[want.name]}, but got "
                       f"{_C_NAMES[have.name]} instead")


def write(out: Tensor, result: Tensor, op: str, rule: str = "cast", input_dtype=None,
          warn_resize: bool = True) -> Tensor:
    """Write ``result`` into ``out`` (resized and cast as the rule allows) and return ``out``."""
    _check_dtype(out, result, op, rule, input_dtype)
    if out.device != result.device:
        raise RuntimeError(f"{op}(): expected the out tensor to be on {result.device}, but it is on "
                           f"{out.device} (move it, or make the inputs, on one device)")
    value = result._data
    if out._data.shape != value.shape:
        if warn_resize and out._data.size != 0:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                f"which does not match the required output shape {list(result.shape)}. This behavior "
                "is deprecated, and in a future release outputs will not be resized unless they have "
                "zero elements. Pass an out tensor of the result's shape, or one with zero elements "
                "(ember.empty(0)) to have it sized without this warning.", UserWarning, stacklevel=3)
        _resize(out, value.shape)
    return overwrite(out, value.astype(out._data.dtype, copy=False))


def _resize(out: Tensor, shape: tuple) -> None:
    """Give ``out`` new storage of ``shape``: it is no longer a view of anything."""
    xp = np if type(out._data) is np.ndarray else device_of(out._data).xp
    out._data = xp.empty(shape, dtype=out._data.dtype)
    out._base = None
    out._vc = [out._vc[0] + 1]


def with_out(rule: str = "cast"):
    """Give a public op an ``out=`` keyword (see the module docstring for the rules)."""
    def wrap(fn):
        op = fn.__name__

        @functools.wraps(fn)
        def op_with_out(*args, out=None, **kwargs):
            if out is None:
                return fn(*args, **kwargs)
            check_out(out, op, (*args, *kwargs.values()))
            if rule == "accumulate":
                if kwargs.get("dtype") is None:
                    kwargs["dtype"] = out.dtype
                elif dtypes.to_dtype(kwargs["dtype"]) is not out.dtype:
                    raise RuntimeError(
                        f"{op}(): Expected out tensor to have dtype {_C_NAMES[dtypes.to_dtype(kwargs['dtype']).name]}, "
                        f"but got {_C_NAMES[out.dtype.name]} instead")
            result = fn(*args, **kwargs)
            if isinstance(result, tuple):  # (values, indices): each out must match exactly
                if not isinstance(out, (tuple, list)) or len(out) != len(result):
                    raise TypeError(f"{op}(): argument 'out' must be a tuple of {len(result)} tensors")
                return type(result)(*(write(o, r, op, "exact") for o, r in zip(out, result)))
            if isinstance(out, (tuple, list)):
                raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
            first = args[0] if args else None
            return write(out, result, op, rule, first.dtype if isinstance(first, Tensor) else None)

        op_with_out._without_out = fn
        return op_with_out
    return wrap


def plain(fn):
    """``fn`` without its out= wrapper (methods and operators take no out=)."""
    return getattr(fn, "_without_out", fn)
