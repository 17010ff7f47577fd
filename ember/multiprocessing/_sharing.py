"""Tensors in shared memory: ``Tensor.share_memory_()``, ``Tensor.is_shared()`` and how a
shared tensor crosses a process boundary.

A shared tensor's array lives in a memory-mapped anonymous file (``memfd_create``; where
that is missing, a file in /dev/shm or the temp folder that is unlinked the moment it is
created). The file therefore has no name that could leak: the kernel frees the memory when
the last process holding a mapping or a descriptor of it lets go, even one killed by SIGKILL.

Crossing processes:

* fork: the child inherits the mapping, which stays shared (MAP_SHARED).
* spawn / forkserver / a ``Queue``: multiprocessing pickles with ``ForkingPickler``; a
  reducer registered there for shared tensors sends the file descriptor (duplicated into the
  receiver by multiprocessing's ``DupFd``) and where the tensor lies in the file, never the
  data. The receiver maps the same memory, so its in-place updates are the sender's.
  Tensors that are not shared pickle by value as before, and plain ``pickle`` is unchanged.

Each mapping keeps one descriptor open (closed when the mapping is collected) so that a
receiver can pass the tensor on in turn.
"""
from __future__ import annotations

import mmap
import os
import sys
import tempfile
import weakref
from multiprocessing import reduction

import numpy as np

from .._tensor import Tensor

__all__ = ["share_memory_", "is_shared"]


class _SharedMap(mmap.mmap):
    """A shared mapping of a whole anonymous file, with a descriptor of that file."""

    def __new__(cls, fd: int, size: int):
        self = super().__new__(cls, fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.fd = os.dup(fd)
        self.size = size
        weakref.finalize(self, os.close, self.fd)
        return self

    def address(self) -> int:
        # The temporary array's export of the buffer ends with it, so the mapping can close later.
        return np.frombuffer(self, dtype=np.uint8, count=1).__array_interface__["data"][0]


def _anonymous_file(size: int) -> int:
    """A descriptor of a new file of ``size`` bytes that has no name anywhere."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ember-shared", os.MFD_CLOEXEC)
    else:
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        fd, path = tempfile.mkstemp(prefix="ember-shared-", dir=folder)
        os.unlink(path)
    try:
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _root_map(array) -> _SharedMap | None:
    """The shared mapping that ``array``'s memory belongs to, or None."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # how NumPy holds some buffers
        base = base.obj
    return base if isinstance(base, _SharedMap) else None


def _register(cls: type) -> None:
    # ForkingPickler looks reducers up by exact type, so Parameter and other subclasses
    # are registered as their first instance is shared (registering again is harmless).
    reduction.ForkingPickler.register(cls, _reduce)


def _base_in_use(t: Tensor) -> bool:
    """Whether a tensor in ``t``'s chain of bases is referenced by anything but its view."""
    base = t._base
    while base is not None:
        if sys.getrefcount(base) > 3:  # the view's slot, this frame's variable, getrefcount's argument
            return True
        base = base._base
    return False


def share_memory_(self: Tensor) -> Tensor:
    """Move this tensor's elements into shared memory (in place; a no-op if already there or
    on CUDA). Processes that receive the tensor afterwards (fork, spawn, or a Queue) see the
    same memory, so their in-place updates are seen here.

    The tensor gets a new array: tensors made from it before the call (views, ``.data``,
    ``detach()``) keep the old memory. Share first, then take views, as
    ``Module.share_memory()`` does for parameters and buffers.
    """
    if self.device.type != "cpu" or _root_map(self._data) is not None:
        return self
    if self._base is not None:
        if _base_in_use(self):
            raise RuntimeError(
                f"share_memory_(): this tensor (shape {list(self.shape)}) is a view of another tensor that is "
                "still in use; moving only the view into shared memory would separate the two. Call "
                "share_memory_() on the base tensor before taking views, or on a clone() of the view.")
        self._base = None  # the base (e.g. the arange behind arange(6).view(2, 3)) is gone but for this view
    old = self._data
    size = max(old.nbytes, 1)  # a mapping cannot be empty
    fd = _anonymous_file(size)
    try:
        shared = _SharedMap(fd, size)
    finally:
        os.close(fd)
    array = np.ndarray(old.shape, old.dtype, buffer=shared)
    array[...] = old
    self._data = array
    _register(type(self))
    return self


def is_shared(self: Tensor) -> bool:
    """Whether the tensor's memory is shared between processes (always True on CUDA, as in PyTorch)."""
    return self.device.type == "cuda" or _root_map(self._data) is not None


def _reduce(t: Tensor):
    shared = _root_map(t._data)
    if shared is None:
        return t.__reduce_ex__(2)  # by value, as plain pickling does
    array = t._data
    offset = array.__array_interface__["data"][0] - shared.address()
    state = (array.shape, array.strides, array.dtype.str, offset, t._requires_grad)
    return (_rebuild_shared, (type(t), reduction.DupFd(shared.fd), shared.size, state))


def _rebuild_shared(cls: type, dup, size: int, state: tuple) -> Tensor:
    shape, strides, dtype, offset, requires_grad = state
    fd = dup.detach()
    try:
        shared = _SharedMap(fd, size)
    finally:
        os.close(fd)
    array = np.ndarray(shape, np.dtype(dtype), buffer=shared, offset=offset, strides=strides)
    t = cls.__new__(cls)
    Tensor._init(t, array, requires_grad)
    _register(cls)
    return t
