"""Tensor: a backend array plus what autograd needs to differentiate through it.

The array lives in ``_data`` (a numpy.ndarray on the CPU, a cupy.ndarray on CUDA).
``.data`` is PyTorch's: a tensor that shares the storage but not the graph.
Math methods are the functions of ``ember.ops`` bound as methods (see ops/__init__.py).
"""
from __future__ import annotations

import weakref

import numpy as np

from ._layout import (channels_last, check_memory_format, contiguous_format, copy_in, element_strides, is_contiguous_as,
                      memory_format, preserve_format)
from ._layout import dim_order as layout_dim_order
from .autograd.grad_mode import state
from .backend import dtypes
from .backend.device import CPU, device_of, move, to_device
from .backend.compat import overlaps, writeable


_new = object.__new__


class Size(tuple):
    """The shape of a tensor: a tuple of ints, printed like PyTorch's ``torch.Size``."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class Tensor:
    """A multi-dimensional array that can record the operations applied to it."""

    # A view also has _view_version and _view_creation (set by ops.views.mark_view).
    __slots__ = ("_data", "grad", "_requires_grad", "_grad_fn", "_output_nr", "_vc", "_base",
                 "_view_version", "_view_creation", "_hooks", "__weakref__", "__dict__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to the Tensor's reflected operator

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False):
        # torch.Tensor(2, 3) is an uninitialised 2x3 float tensor; torch.Tensor(data) copies data.
        from ._tensor_types import legacy_new
        src = legacy_new(dtype or dtypes.get_default_dtype(), args, device, "Tensor")
        Tensor._init(self, src._data, requires_grad)

    def _init(self, data, requires_grad=False, grad_fn=None, output_nr=0):
        self._data = data
        self.grad = None
        self._requires_grad = requires_grad
        self._grad_fn = grad_fn
        self._output_nr = output_nr
        self._vc = [0]
        self._base = None
        self._hooks = None

    @staticmethod
    def _make(data, requires_grad=False, grad_fn=None, output_nr=0) -> "Tensor":
        """Wrap a backend array without copying it (the ops' fast path). NumPy scalars,
        which NumPy returns for 0-d results, become 0-d arrays. A static method: every op
        result passes here, and a class method's binding costs a fifth of a small op."""
        if type(data) is not np.ndarray and isinstance(data, np.generic):
            data = np.asarray(data)
        t = _new(Tensor)
        t._data = data
        t.grad = None
        t._requires_grad = requires_grad
        t._grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]
        t._base = None
        t._hooks = None
        return t

    # ---- metadata ------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return CPU if type(self._data) is np.ndarray else device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return dtypes.is_floating_array(self._data.dtype)

    def is_contiguous(self, memory_format=None) -> bool:
        return is_contiguous_as(self._data, memory_format)

    def stride(self, dim: int | None = None):
        """The step in elements between neighbours along each dim (or along ``dim``)."""
        strides = element_strides(self._data)
        return strides if dim is None else strides[self._wrap_dim(dim)]

    def dim_order(self, *, ambiguity_check=False) -> tuple:
        """The dims from outermost to innermost in memory: (0, 1, 2, 3) for row-major, (0, 2, 3, 1)
        for channels-last. With ``ambiguity_check`` (True, or a list of memory formats exactly
        one of which the tensor must be in), a RuntimeError where the order is not unique."""
        formats = ambiguity_check if isinstance(ambiguity_check, list) else []
        if not isinstance(ambiguity_check, bool) and not (
                isinstance(ambiguity_check, list) and all(isinstance(f, memory_format) for f in formats)):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
        shape, strides = self._data.shape, element_strides(self._data)
        check = ambiguity_check is True or isinstance(ambiguity_check, list)
        several = any(a == b for a, b in zip(strides, strides[1:])) or 1 in shape
        if check and several and sum(is_contiguous_as(self._data, f) for f in formats) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the "
                               "given memory formats.")
        if len(shape) < 2:
            return tuple(range(len(shape)))
        row_major = is_contiguous_as(self._data, contiguous_format)
        last = len(shape) == 4 and is_contiguous_as(self._data, channels_last)
        if row_major != last:  # one of the two formats alone: its order
            return (0, 2, 3, 1) if last else tuple(range(len(shape)))
        order, ambiguous = layout_dim_order(shape, strides)
        if check and ambiguous:
            raise RuntimeError("The tensor does not have unique dim order.")
        return order

    def storage_offset(self) -> int:
        """Where this tensor's first element lies in its storage, in elements (non-zero for
        views that start inside another tensor)."""
        from .backend.device import data_ptr
        a = root = self._data
        while isinstance(root.base, type(a)):
            root = root.base
        return (data_ptr(a) - data_ptr(root)) // a.itemsize

    def _wrap_dim(self, dim: int, ndim: int | None = None) -> int:
        n = self._data.ndim if ndim is None else ndim
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        if not isinstance(dim, (int, np.integer)) or not lo <= dim <= hi:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
        return int(dim) % max(n, 1)

    # ---- autograd ------------------------------------------------------------------
    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf). A view whose base changed in
        place since is re-derived from the base first, as in PyTorch."""
        if self._base is not None and self._vc[0] != self._view_version:
            self._refresh_view()
        return self._grad_fn

    def _refresh_view(self) -> None:
        from .ops.views import refresh_view
        refresh_view(self)

    @property
    def requires_grad(self) -> bool:
        if self._base is not None and self._vc[0] != self._view_version:
            self._refresh_view()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if value and not (self._data.dtype.kind == "c" or dtypes.is_floating_array(self._data.dtype)):
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(got {self.dtype}; convert with .float() first)")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, outside the graph."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data if isinstance(value, Tensor) else value

    def detach(self) -> "Tensor":
        """A new tensor on the same storage (and version counter), cut from the graph."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None and self._base._requires_grad and self._view_creation is None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. (This tensor is a view of "
                f"shape {list(self.shape)} of a tensor that requires grad.)")
        self._grad_fn, self._requires_grad, self._output_nr = None, False, 0
        return self

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad."""
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node._out_hooks is None:
                node._out_hooks = {}
            hooks = node._out_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` each time backward has accumulated this leaf's ``.grad`` (as
        soon as its gradient is complete, before the rest of the pass: optimizer-in-backward
        and DistributedDataParallel's reductions start there). Returns a handle with remove()."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self.__dict__.setdefault("_post_accumulate_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            node = self.grad_fn
            if node._retained is None:
                node._retained = {}
            node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return bool(node is not None and node._retained and self._output_nr in node._retained)

    # ---- in place ------------------------------------------------------------------
    def _assign(self, result: "Tensor") -> "Tensor":
        """Make this tensor hold ``result``: same storage, version bumped, result's graph.
        Every in-place op ends here, so the view and leaf rules live here once."""
        base = self._base
        if base is not None and self._vc[0] != self._view_version:
            self._refresh_view()
        recording = state.enabled and (result._requires_grad or self._requires_grad
                                       or (base is not None and base._requires_grad))
        if recording:
            from .ops.views import check_inplace
            check_inplace(self, (result,))
            if result._grad_fn is not None and result._grad_fn._saved:
                result._grad_fn._keep_value_of(self)
        data = result._data
        if data.shape != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(data.shape)}")
        if data.dtype != self._data.dtype and not np.can_cast(data.dtype, self._data.dtype, "same_kind"):
            raise RuntimeError(
                f"result type {dtypes.from_numpy_dtype(data.dtype)} can't be cast to the desired "
                f"output type {self.dtype}")
        if recording:
            from .ops.views import Overwrite, assign_through_base
            if base is not None:
                return assign_through_base(self, result)  # the base changed too: it gets the new graph
            if not result._requires_grad:  # a constant replaces a value with history
                old = Tensor._make(self._data, True, self._grad_fn, self._output_nr)
                result = Overwrite.apply(old, result)
        if data is not self._data:
            self._store(data)
        else:
            self._vc[0] += 1
        if recording:
            self._grad_fn, self._output_nr, self._requires_grad = result._grad_fn, result._output_nr, True
        return self

    def _store(self, value) -> None:
        """Write ``value`` (broadcast) into this tensor's elements and bump the version."""
        self._check_writeable()
        if writeable(self._data):
            self._data[...] = value
        else:  # a NumPy view of an expanded array, itself one-to-one: write through the root
            from .ops.views import layout_of
            layout_of(self, self._base).write(self._base._data, value)
        self._vc[0] += 1

    def _check_writeable(self) -> None:
        """Refuse in-place writes to memory shared by several elements (expand) or read-only."""
        if writeable(self._data):
            return
        if overlaps(self._data):
            raise RuntimeError(
                f"unsupported operation: more than one element of the written-to tensor (shape "
                f"{list(self.shape)}, e.g. made by expand) refers to a single memory location. "
                "Please clone() the tensor before performing the operation.")
        if self._base is None or not writeable(self._base._data):
            raise RuntimeError(f"in-place write to a tensor of shape {list(self.shape)} whose memory "
                               "is read-only (it wraps a read-only array): clone() it first")

    def zero_(self) -> "Tensor":
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        """Fill with ``value`` (a number or a 0-d tensor) in place."""
        if isinstance(value, Tensor):
            if value._data.ndim:
                raise RuntimeError(
                    f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions.")
            if state.enabled and value._requires_grad:
                from .ops.creation import zeros_like
                return self._assign(zeros_like(self) + value)
            value = value._data.astype(self._data.dtype)  # as a cast converts it (wrapping)
        else:
            value = dtypes.checked_scalar(value, self.dtype, "fill_")  # must fit, as in PyTorch
        from .ops.views import overwrite
        return overwrite(self, value)

    def copy_(self, src, non_blocking: bool = False) -> "Tensor":
        """Copy ``src`` (broadcast, cast, moved across devices) into this tensor in place."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
        from .ops.elementwise import cast
        from .ops.shape import expand, to_device
        from .ops.views import overwrite
        try:
            value = expand(cast(to_device(src, self.device), self.dtype), self._data.shape)
        except RuntimeError:
            raise RuntimeError(
                f"copy_: the size of src {list(src.shape)} must be broadcastable to {list(self.shape)}") from None
        if state.enabled and value._requires_grad:
            return self._assign(value.clone() if value._data is self._data else value + 0)
        return overwrite(self, value._data)

    def _check_inplace_allowed(self) -> None:
        if state.enabled and self._grad_fn is None and self._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Wrap the update in `with ember.no_grad():` or work on a copy (x = x.clone()).")

    # ---- conversion ----------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """Cast and/or move: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``;
        ``memory_format=`` lays the result out in that format (a copy where it is not yet)."""
        device, dtype, copy = parse_to_args(args, kwargs)
        fmt = kwargs.get("memory_format")
        check_memory_format(fmt, self._data.ndim, "to")
        from .ops.elementwise import cast
        from .ops.shape import contiguous, to_device
        out = self
        if device is not None:
            out = to_device(out, device)
        if dtype is not None:
            out = cast(out, dtypes.to_dtype(dtype))
        if copy and out is self:
            out = self.clone(memory_format=fmt or preserve_format)
        elif fmt is not None and fmt is not preserve_format and not is_contiguous_as(out._data, fmt):
            out = contiguous(out, fmt)
        return out

    def type(self, dtype=None, non_blocking: bool = False):
        """The legacy type name ("ember.FloatTensor"), or a cast to ``dtype``: a dtype, a
        legacy type (ember.LongTensor) or its name ("torch.LongTensor" too)."""
        if dtype is None:
            return f"ember.{'cuda.' if self.is_cuda else ''}{self.dtype.kernel_name}Tensor"
        from ._tensor_types import parse_type
        dtype, device = parse_type(dtype)
        return self.to(device, dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        """This tensor cast to ``other``'s dtype (and moved to its device), like
        ``self.type(other.type())``."""
        return self.to(other.device, other.dtype)

    def cpu(self, memory_format=None) -> "Tensor":
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> "Tensor":
        return self.to(to_device(device if device is not None else "cuda"), memory_format=memory_format)

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def bfloat16(self) -> "Tensor":
        return self.to(dtypes.bfloat16)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def short(self) -> "Tensor":
        return self.to(dtypes.int16)

    def char(self) -> "Tensor":
        return self.to(dtypes.int8)

    def byte(self) -> "Tensor":
        return self.to(dtypes.uint8)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool_)

    def numpy(self, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shared with the tensor when it lives on the CPU). A bfloat16
        tensor gives an array of ml_dtypes' bfloat16 dtype (PyTorch raises TypeError there)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first.")
            return move(self._data, CPU)
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = move(self._data, CPU)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return move(self._data, CPU).tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self._data.reshape(()))

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars "
                             f"(got shape {list(self.shape)}; index it or reduce it first)")
        return self.item()

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol):
        # Pickling (DataLoader workers, multiprocessing) carries data and requires_grad only.
        return (_rebuild, (move(self._data, CPU), str(self.device), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.")
        out = type(self).__new__(type(self))
        Tensor._init(out, copy_in(self._data, preserve_format), self._requires_grad)  # its layout too
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        out.__dict__.update({k: v for k, v in self.__dict__.items()})
        memo[id(self)] = out
        return out


from .autograd import function as _function  # noqa: E402  (needs Tensor, defined above)

_function.Tensor, _function._make = Tensor, Tensor._make


def parse_to_args(args: tuple, kwargs: dict) -> tuple:
    """(device, dtype, copy) from ``to``'s PyTorch forms: ``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(tensor)``, and keywords (Tensor.to and Module.to share it)."""
    kwargs = dict(kwargs)
    device, dtype, copy = kwargs.pop("device", None), kwargs.pop("dtype", None), kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, dtypes.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif a is not None:
            device = a
    return device, dtype, copy


def _rebuild(array, device, requires_grad):
    t = Tensor._make(move(array, to_device(device)))
    t._requires_grad = requires_grad
    return t


class _RemovableHandle:
    """Returned by register_hook: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
