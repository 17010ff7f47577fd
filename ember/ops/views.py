"""Views and in-place writes, with PyTorch's gradients (its view + CopySlices model).

A view shares its base's storage and version counter. It records its root base
(``_base``), how it was made (``_view_creation``: None for an ordinary view made with
grad mode on; otherwise why it may not take part in in-place autograd), and the
version at which its ``grad_fn`` was last right (``_view_version``).

Two rules keep every gradient right, whichever tensor is written and whichever is
read afterwards:

- Writing through a view changes the base: the base gets a ``ViewScatter`` node (the
  new values written into the view's region of the old base) and the view becomes
  ``StridedView`` of the new base.
- Any in-place change bumps the shared version, so every other view of the same base
  is stale. A stale view is re-derived from the base's current node the next time it is
  used (``refresh_view``, called from ``Tensor.grad_fn`` and ``Function.apply``).

Where a view sits in its base is its ``Layout``: element offset, shape and strides
inside a C-contiguous base, or (for a base with another memory layout) the flat index
of every element.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend.compat import add_at, contiguous, overlaps
from ..backend.device import data_ptr, xp_of


class Layout:
    """Where a view's elements sit in its base, applied to any array shaped like the base.
    An indexed layout may repeat elements (an expanded view): writing through such a view
    is refused, so it only ever scatters gradients, and repeats add up (``write``)."""

    __slots__ = ("offset", "shape", "strides", "index", "repeats")

    def __init__(self, offset=0, shape=(), strides=(), index=None, repeats=False):
        self.offset, self.strides, self.index, self.repeats = offset, strides, index, repeats
        self.shape = shape if index is None else index.shape

    def read(self, array):
        """The region of ``array`` (a view for a strided layout, a copy for an indexed one)."""
        if self.index is not None:
            return array[np.unravel_index(self.index, array.shape)]
        flat = array.reshape(-1)  # C-contiguous: a view
        item = flat.itemsize
        return xp_of(flat).lib.stride_tricks.as_strided(
            flat[self.offset:], self.shape, tuple(s * item for s in self.strides))

    def write(self, array, value) -> None:
        """``array``'s region = value, in place (+= value where the region repeats elements)."""
        if self.repeats:
            add_at(array, np.unravel_index(self.index, array.shape), value)
        elif self.index is not None:
            array[np.unravel_index(self.index, array.shape)] = value
        else:
            self.read(array)[...] = value


def layout_of(view: Tensor, base: Tensor) -> Layout:
    """The layout of ``view`` inside its root ``base``, from where their memory lies."""
    b, v = base._data, view._data
    item = b.itemsize
    repeats = overlaps(v)
    if b.flags.c_contiguous and not repeats:
        return Layout((data_ptr(v) - data_ptr(b)) // item, v.shape, tuple(s // item for s in v.strides))
    # Another memory layout: label each base element with its flat index, lay the labels
    # out in memory as the base is, and read them back where the view's elements are.
    first = -sum(s * (n - 1) for s, n in zip(b.strides, b.shape) if s < 0) // item
    memory = np.zeros(1 + sum(abs(s) * (n - 1) for s, n in zip(b.strides, b.shape)) // item, np.int64)
    as_strided = np.lib.stride_tricks.as_strided
    as_strided(memory[first:], b.shape, tuple(s // item * 8 for s in b.strides))[...] = \
        np.arange(b.size).reshape(b.shape)
    offset = first + (data_ptr(v) - data_ptr(b)) // item
    labels = as_strided(memory[offset:], v.shape, tuple(s // item * 8 for s in v.strides))
    return Layout(index=np.array(labels), repeats=repeats)


class StridedView(Function):
    """The view at ``layout`` of a tensor shaped like the base."""

    @staticmethod
    def forward(ctx, base, layout):
        ctx.shape, ctx.layout = base._data.shape, layout
        data = base._data
        return layout.read(data if layout.index is not None else contiguous(data))

    @staticmethod
    def backward(ctx, grad):
        zeros = Tensor._make(np.zeros(ctx.shape, dtype=grad._data.dtype, like=grad._data))
        return ViewScatter.apply(zeros, grad, ctx.layout, False), None


class ViewScatter(Function):
    """``base`` with ``value`` written at ``layout``; in place (into base's storage) or on a copy."""

    @staticmethod
    def forward(ctx, base, value, layout, inplace):
        ctx.layout = layout
        out = base._data if inplace else base._data.copy(order="C")
        layout.write(out, value._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gv = None
        if ctx.needs_input_grad[0]:  # the overwritten region of the old base gets no gradient
            zeros = Tensor._make(np.zeros(ctx.layout.shape, dtype=grad._data.dtype, like=grad._data))
            ga = ViewScatter.apply(grad, zeros, ctx.layout, False)
        if ctx.needs_input_grad[1]:
            gv = StridedView.apply(grad, ctx.layout)
        return ga, gv, None, None


class Overwrite(Function):
    """A tensor whose history is replaced by ``value`` (fill_, copy_, random fills): the old
    value gets a zero gradient, ``value`` all of it."""

    @staticmethod
    def forward(ctx, old, value):
        return value._data

    @staticmethod
    def backward(ctx, grad):
        return (grad * 0 if ctx.needs_input_grad[0] else None), grad


def _recorded(fn, *args) -> Tensor:
    """Apply ``fn`` with grad mode on (a view's node is rebuilt whatever the mode)."""
    prev, state.enabled = state.enabled, True
    try:
        return fn.apply(*args)
    finally:
        state.enabled = prev


def refresh_view(view: Tensor) -> None:
    """Re-derive a stale view (its base or a sibling changed in place) from its base."""
    base = view._base
    if view._view_creation is not None:
        if base._requires_grad:
            if state.enabled:  # with grad mode off the view stays stale, and is refused later
                raise RuntimeError(_creation_error(
                    view, "its base or another view of its base has been modified inplace"))
            return
        view._view_version = view._vc[0]
        return
    view._view_version = view._vc[0]
    if not base._requires_grad:
        if view._grad_fn is not None:
            view._grad_fn, view._requires_grad, view._output_nr = None, False, 0
        return
    view._grad_fn = _recorded(StridedView, base, layout_of(view, base))._grad_fn
    view._requires_grad, view._output_nr = True, 0


def _located(view: Tensor, base: Tensor) -> Layout:
    if overlaps(view._data):
        raise RuntimeError(
            f"unsupported operation: more than one element of the written-to tensor (a view of "
            f"shape {list(view.shape)}, e.g. made by expand) refers to a single memory location. "
            "Please clone() the tensor before performing the operation.")
    return layout_of(view, base)


def check_inplace(t: Tensor, values=()) -> None:
    """PyTorch's rules for an in-place write to ``t`` of something computed from ``values``:
    memory that can be written, and with grad mode on no leaf that requires grad, no view of
    one, no view made in no-grad mode or by a multi-output op when the write would be
    recorded. In-place methods check before computing, as PyTorch does."""
    t._check_writeable()  # before any work: an expanded tensor may stand for billions of elements
    if not state.enabled:
        return
    t._check_inplace_allowed()
    base = t._base
    if base is not None and (base._requires_grad or any(
            isinstance(v, Tensor) and v._requires_grad for v in values)):  # only views pay this
        if t._view_creation is not None:
            raise RuntimeError(_creation_error(t, "is being modified inplace"))
        if base._grad_fn is None and base._requires_grad:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation. Wrap the update in `with ember.no_grad():` or clone the leaf first.")


def assign_through_base(view: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``view`` in place and give its base the matching graph node
    (``check_inplace`` has passed)."""
    base = view._base
    layout = _located(view, base)
    old_base = Tensor._make(base._data, base._requires_grad, base._grad_fn, base._output_nr)
    old_base._vc = base._vc
    value = result if result._data.dtype == view._data.dtype else result.to(view.dtype)
    new_base = ViewScatter.apply(old_base, value, layout, True)
    base._grad_fn, base._output_nr, base._requires_grad = new_base._grad_fn, 0, True
    base._vc[0] += 1
    view._grad_fn = StridedView.apply(base, layout)._grad_fn
    view._output_nr, view._requires_grad = 0, True
    view._view_version = base._vc[0]
    return view


def records_inplace(t: Tensor) -> bool:
    """Whether an in-place write to ``t`` must be recorded: it or its base has history."""
    return state.enabled and (t.requires_grad or (t._base is not None and t._base._requires_grad))


def overwrite(t: Tensor, value) -> Tensor:
    """Write a constant (a number, or an array broadcastable to ``t``) into ``t`` in place,
    keeping the graph right when ``t`` or its base has history."""
    if records_inplace(t):
        data = t._data
        return t._assign(Tensor._make(np.broadcast_to(xp_of(data).asarray(value, dtype=data.dtype), data.shape)))
    check_inplace(t)
    t._store(value)
    return t


def mark_view(out: Tensor, base: Tensor, creation=None) -> Tensor:
    """Make ``out``, whose array NumPy made a view of ``base``'s, a view of base's root.
    Views made with grad mode off, or several at once (split, unbind), get ``creation``
    saying so: PyTorch forbids in-place autograd through them."""
    out._vc = base._vc
    out._view_version = base._vc[0]
    if base._base is not None:  # a view of a view is a view of the root, made as its parent was
        base, creation = base._base, creation or base._view_creation
    out._base = base
    out._view_creation = ("no_grad",) if not state.enabled else creation
    return out


def _creation_error(view: Tensor, what: str) -> str:
    kind = view._view_creation
    if kind[0] == "no_grad":
        head = f"A view was created in no_grad mode and {what} with grad mode enabled."
        tail = (" Given that this use case is ambiguous and error-prone, it is forbidden. You can "
                "clarify your code by moving both the view and the inplace either both inside the "
                "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
                "you want the inplace to be tracked).")
    else:
        head = f"Output {kind[2]} of {kind[1]} is a view and {what}."
        tail = (" This view is the output of a function that returns multiple views. Such functions "
                "do not allow the output views to be modified inplace. You should replace the "
                "inplace operation by an out-of-place one.")
    return head + tail
