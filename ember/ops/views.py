"""In-place writes through views, with gradients (PyTorch's CopySlices).

When an in-place op changes a view of a tensor whose history matters, the base
tensor itself changed, so the base gets a new graph node: ``ViewScatter`` writes
the new values into the view's region of the base's storage (no copy), and the
view is re-derived from the new base with ``StridedView``. A view is located in
its base by its "layout": element offset, shape and element strides inside the
base's C-contiguous storage.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..backend.device import data_ptr


def layout_of(view: Tensor, base: Tensor):
    """(offset, shape, strides) of ``view`` inside ``base``, both in elements, or None when
    ``base`` is not C-contiguous (the layout would not describe a fresh array of its shape)."""
    b, v = base._data, view._data
    if not b.flags.c_contiguous:
        return None
    item = b.itemsize
    offset = (data_ptr(v) - data_ptr(b)) // item
    return offset, v.shape, tuple(s // item for s in v.strides)


def _strided(array, base_shape, layout):
    """The region ``layout`` of a C-contiguous array shaped like the base (a view)."""
    offset, shape, strides = layout
    flat = np.ascontiguousarray(array).reshape(-1)
    item = flat.itemsize
    return np.lib.stride_tricks.as_strided(flat[offset:], shape, tuple(s * item for s in strides))


class StridedView(Function):
    """The view at ``layout`` of a tensor shaped like the base."""

    @staticmethod
    def forward(ctx, base, layout):
        ctx.shape, ctx.layout = base._data.shape, layout
        return _strided(base._data, base._data.shape, layout)

    @staticmethod
    def backward(ctx, grad):
        zeros = Tensor._make(np.zeros(ctx.shape, dtype=grad._data.dtype, like=grad._data))
        return ViewScatter.apply(zeros, grad, ctx.layout, False), None


class ViewScatter(Function):
    """``base`` with ``value`` written at ``layout``; in place (into base's storage) or on a copy."""

    @staticmethod
    def forward(ctx, base, value, layout, inplace):
        ctx.layout = layout
        out = base._data if inplace else base._data.copy()
        _strided(out, out.shape, layout)[...] = value._data
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gv = None
        if ctx.needs_input_grad[0]:  # the overwritten region of the old base gets no gradient
            offset, shape, _ = ctx.layout
            zeros = Tensor._make(np.zeros(shape, dtype=grad._data.dtype, like=grad._data))
            ga = ViewScatter.apply(grad, zeros, ctx.layout, False)
        if ctx.needs_input_grad[1]:
            gv = StridedView.apply(grad, ctx.layout)
        return ga, gv, None, None


def assign_through_base(view: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``view`` in place and give its base the matching graph node."""
    base = view._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap the update in `with ember.no_grad():` or clone the leaf first.")
    layout = layout_of(view, base)
    if layout is None or any(st == 0 and n > 1 for n, st in zip(layout[1], layout[2])):
        raise RuntimeError(
            f"in-place operation on a view of shape {tuple(view.shape)} whose elements do not map "
            "one-to-one onto a contiguous base (e.g. an expanded tensor): write it out of place "
            "(y = x.clone()) before the change")
    old_base = Tensor._make(base._data, base._requires_grad, base.grad_fn, base._output_nr)
    old_base._vc = base._vc
    value = result if result._data.dtype == view._data.dtype else result.to(view.dtype)
    new_base = ViewScatter.apply(old_base, value, layout, True)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
    base._vc[0] += 1
    view.grad_fn = StridedView.apply(base, layout).grad_fn
    view._output_nr, view._requires_grad = 0, True
    return view
