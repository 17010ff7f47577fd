"""Shape and layout: views (reshape, permute, expand, ...), copies and device moves.

Views share storage with their input, as in PyTorch: the result keeps the input's
version counter and records it as ``_base``.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.device import move, to_device as _to_device

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "unsqueeze", "squeeze",
           "expand_copy", "broadcast_to", "clone", "flatten", "t"]


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    if np.may_share_memory(out._data, base._data):
        out._vc = base._vc
        out._base = base if base._base is None else base._base
    return out


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def infer_shape(shape: tuple, numel: int, op: str, src: tuple) -> tuple:
    """Resolve one -1 in ``shape`` and check the element count matches."""
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if int(np.prod(shape)) != numel:
        raise RuntimeError(
            f"{op}: shape '{list(shape)}' is invalid for input of size {numel} (input shape {list(src)})")
    return shape


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (a view when the layout allows it)."""
    shape = infer_shape(_shape_arg(shape), input._data.size, "reshape", input._data.shape)
    return _as_view(Reshape.apply(input, shape), input)


def view(input: Tensor, *shape) -> Tensor:
    """reshape() that refuses to copy, as PyTorch's view() does."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        return input.to(shape[0])  # view(dtype) is not supported beyond same-size casts
    target = infer_shape(_shape_arg(shape), input._data.size, "view", input._data.shape)
    if not input._data.flags.c_contiguous and target != input._data.shape:
        try:
            probe = input._data.view()
            probe.shape = target  # raises when a copy would be needed
        except AttributeError:
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (input shape "
                f"{list(input.shape)}, target {list(target)}): at least one dimension spans across "
                "two contiguous subspaces. Use .reshape(...) instead.") from None
    return reshape(input, target)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return a._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(ctx.inverse), None


def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}")
    dims = tuple(input._wrap_dim(d) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    return _as_view(Permute.apply(input, dims), input)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    if n == 0:
        return input
    d0, d1 = input._wrap_dim(dim0), input._wrap_dim(dim1)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, dims)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = input._wrap_dim(dim, input._data.ndim + 1)
    shape = input._data.shape[:d] + (1,) + input._data.shape[d:]
    return _as_view(Reshape.apply(input, shape), input)


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        dims = [i for i, s in enumerate(shape) if s == 1]
    else:
        dims = [input._wrap_dim(d) for d in ((dim,) if isinstance(dim, int) else dim)]
        dims = [d for d in dims if shape[d] == 1]
    if not dims:
        return input
    new = tuple(s for i, s in enumerate(shape) if i not in dims)
    return _as_view(Reshape.apply(input, new), input)


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the gradient back to the input's shape


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view; -1 keeps a dimension's size."""
    sizes = _shape_arg(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension ({i})")
            s = cur
        elif cur is not None and cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
        target.append(s)
    target = tuple(target)
    if target == shape:
        return input
    return _as_view(Expand.apply(input, target), input)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    return expand(input, tuple(size))


expand_copy = broadcast_to


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own storage; gradients flow back to the input."""
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    return input if input._data.flags.c_contiguous else Clone.apply(input)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    s, e = input._wrap_dim(start_dim), input._wrap_dim(end_dim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return reshape(input, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, device):
        ctx.src = a.device
        return move(a._data, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.src), None


def to_device(input: Tensor, device) -> Tensor:
    dev = _to_device(device)
    return input if input.device == dev else ToDevice.apply(input, dev)


TENSOR_METHODS = {name: globals()[name] for name in __all__ if name != "expand_copy"}
TENSOR_METHODS.update(view=view, expand=expand, expand_as=expand_as, contiguous=contiguous)
INPLACE: list = []
