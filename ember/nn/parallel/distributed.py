"""DistributedDataParallel: one model replica per process, gradients averaged across processes.

Construction broadcasts rank 0's parameters and buffers. Each parameter gets a gradient hook;
the hooks copy gradients into flat buckets (about ``bucket_cap_mb`` each, in reverse parameter
order as PyTorch fills them) and post one all-reduce per bucket as soon as it and the buckets
before it are full (in the same order on every rank, which MPI requires).

ember's engine finishes each leaf (its hooks, then accumulation) as soon as its gradient is
complete, so buckets fill and their all-reduces start while the rest of backward runs. The
engine has no end-of-pass callback (PyTorch's queue_callback): so the hook of the last
parameter to become ready waits for every bucket and writes the averaged gradients into the
``.grad`` of the parameters before it (already accumulated), and returns its own averaged
gradient in place of the local one (its ``.grad`` cleared first, so accumulation stores that
value as it is). This relies on the engine running each leaf's hooks right before accumulating
that leaf, one leaf after another: ``_finish`` checks it, so a change there is an error, not a
wrong average. What is averaged is the accumulated ``.grad``, so gradients accumulated under
``no_sync()`` are averaged by the next synchronised backward, as in PyTorch.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ..._tensor import Tensor
from ...backend.device import xp_of
from ...autograd.capture import graph_break
from ...autograd.grad_mode import no_grad, state as grad_state
from ...autograd.graph import leaf_tensors
from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's first bucket is small so reduction starts early


class _Bucket:
    def __init__(self, indices: list[int], dtype: np.dtype, sizes: list[int]):
        self.indices = indices
        self.dtype = dtype
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.numel = self.offsets[-1]


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` leaves every process with the gradients averaged over
    all processes (so one optimizer step per process keeps the replicas equal).

    Args:
        module: the model (CPU parameters).
        forward_sync_buffers: copy rank 0's buffers (e.g. BatchNorm statistics) to all ranks at the start
            of each forward that follows a gradient-synchronising one (PyTorch's rule; default True).
        broadcast_buffers: the deprecated spelling (False also leaves buffers out of the initial copy).
        init_sync: copy rank 0's parameters (and buffers) at construction.
        process_group: the group to average over (default: the default group).
        bucket_cap_mb: bucket size in MiB (default 25).
        find_unused_parameters: find, after each forward, the parameters the output does not depend
            on, so that backward does not wait for their gradients (they count as zero; a parameter
            unused on every rank keeps its ``.grad``).
        device_ids, output_device, dim, gradient_as_bucket_view, static_graph, check_reduction,
            param_to_hook_all_reduce, skip_all_reduce_unused_params, bucket_cap_mb_list, batched_grad_copy:
            accepted for PyTorch scripts; they change nothing here.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list=None,
                 batched_grad_copy: bool = False, forward_sync_buffers: bool | None = None):
        super().__init__()
        from ...distributed.process_group import resolve
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module to wrap, got {type(module).__name__}")
        self.process_group = resolve(process_group, "DistributedDataParallel")
        if self.process_group is None:
            raise ValueError("DistributedDataParallel: this rank is not a member of process_group")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        for name, value in (("mixed_precision", mixed_precision), ("device_mesh", device_mesh),
                            ("delay_all_reduce_named_params", delay_all_reduce_named_params)):
            if value is not None:
                raise NotImplementedError(f"DistributedDataParallel: {name}= is not supported by ember")
        if broadcast_buffers is not None:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. IMPORTANT: unlike "
                          "`broadcast_buffers=False`, `forward_sync_buffers=False` still syncs buffers at init.",
                          FutureWarning, stacklevel=2)
        # PyTorch's rule: forward_sync_buffers wins; the deprecated broadcast_buffers=False also skips them at init
        if forward_sync_buffers is not None:
            self.forward_sync_buffers, init_buffers = forward_sync_buffers, True
        else:
            self.forward_sync_buffers = init_buffers = broadcast_buffers is None or bool(broadcast_buffers)
        self.broadcast_buffers = self.forward_sync_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._params = [p for p in module.parameters() if p.requires_grad]
        if not self._params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        devices = {t.device for t in list(module.parameters()) + list(module.buffers())}
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel: the module's parameters and buffers are on "
                             f"{', '.join(sorted(map(str, devices)))}; ember's DDP takes a module on one device")
        # the engine of the group's backend for that device: None for MPI (CPU), NCCL's for CUDA (made here)
        self._engine = self.process_group.engine(self._params[:1], "DistributedDataParallel")
        if init_sync:
            self._sync_module_states(init_buffers)
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets, self._where = self._make_buckets(cap)
        self._pass = None
        for i, p in enumerate(self._params):
            p.register_hook(self._make_hook(i))

    # ---- construction ---------------------------------------------------------------
    def _sync_module_states(self, buffers: bool) -> None:
        """Rank 0's parameters (and buffers) everywhere (a checked broadcast each: a model that differs
        between ranks is an error naming the ranks)."""
        from ...distributed.collectives import broadcast
        src = self.process_group.ranks[0]
        with no_grad():
            for t in list(self.module.parameters()) + (list(self.module.buffers()) if buffers else []):
                broadcast(t, src, self.process_group)

    def _make_buckets(self, cap: int):
        from ...distributed._mpi import reduce_dtype as mpi_dtype
        reduce_dtype = mpi_dtype if self._engine is None else self._engine.reduce_dtype
        buckets, where = [], {}
        open_ = {}  # dtype -> (indices, sizes, bytes)
        limit = {}
        order = list(range(len(self._params)))[::-1]
        for i in order:
            p = self._params[i]
            dtype = reduce_dtype(p._data.dtype)
            indices, sizes, nbytes = open_.setdefault(dtype, ([], [], [0]))
            indices.append(i)
            sizes.append(p._data.size)
            nbytes[0] += p._data.size * dtype.itemsize
            if nbytes[0] >= limit.get(dtype, min(cap, _FIRST_BUCKET_BYTES)):
                buckets.append(_Bucket(indices, dtype, sizes))
                limit[dtype] = cap
                del open_[dtype]
        for dtype, (indices, sizes, _) in open_.items():
            buckets.append(_Bucket(indices, dtype, sizes))
        for b, bucket in enumerate(buckets):
            for k, i in enumerate(bucket.indices):
                where[i] = (b, k)
        return buckets, where

    # ---- forward --------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside only accumulate local gradients; the first
        synchronised backward after averages the accumulated ``.grad``."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def forward(self, *inputs, **kwargs):
        # its buffer broadcast and backward bookkeeping are Python state a replay would skip
        graph_break("DistributedDataParallel's forward communicates; compile the inner module")
        if self._pass is not None and self._pass.started and not self._pass.finished:
            self._unfinished_error()
        if self.forward_sync_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        output = self.module(*inputs, **kwargs)
        self._pass = None
        # as PyTorch: the next forward copies rank 0's buffers only if this one will synchronise gradients
        self.require_forward_param_sync = grad_state.enabled and self.require_backward_grad_sync
        if self.require_forward_param_sync:
            self._pass = _Pass(self)
            if self.find_unused_parameters:
                used = _reachable_leaves(output)
                for i, p in enumerate(self._params):
                    if id(p) not in used:
                        self._pass.mark_unused(i)
        return output

    def _sync_buffers(self) -> None:
        """One broadcast of every buffer's bytes from the group's first rank."""
        from ...distributed import _mpi
        from ...distributed.work import describe
        buffers = [b for b in self.module.buffers()]
        if not buffers:
            return
        g = self.process_group
        if self._engine is not None:
            from ...distributed.collectives import broadcast
            for b in buffers:
                broadcast(b, g.ranks[0], g)
            return
        flat = np.concatenate([_mpi.as_bytes(np.ascontiguousarray(b._data)) for b in buffers])
        _mpi.wait([g.comm.Ibcast(flat, root=0)], g.timeout, describe(g, "DistributedDataParallel buffer broadcast"))
        if g.rank() != 0:
            offset = 0
            for b in buffers:
                n = b._data.nbytes
                b._store(flat[offset:offset + n].view(b._data.dtype).reshape(b._data.shape))
                offset += n

    def _unfinished_error(self):
        from ...distributed.work import describe
        missing = sorted(set(range(len(self._params))) - self._pass.ready)
        names = {id(p): n for n, p in self.module.named_parameters()}
        listed = ", ".join(names.get(id(self._params[i]), str(i)) for i in missing[:10])
        self._pass = None
        raise RuntimeError(
            f"{describe(self.process_group, 'DistributedDataParallel')}: Expected to have finished reduction in the "
            "prior iteration before starting a new one. This error indicates that your module has parameters that "
            "were not used in producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by making "
            "sure all `forward` function outputs participate in calculating loss. Parameters that did not receive "
            f"a gradient on this rank: {listed}")

    def _make_hook(self, index: int):
        def ddp_grad_hook(grad):
            p = self._pass
            if p is None or p.finished:
                return None
            return p.grad_ready(index, grad)
        return ddp_grad_hook


class _Pass:
    """The reduction state of one forward/backward pair."""

    def __init__(self, ddp: DistributedDataParallel):
        self.ddp = ddp
        xp = xp_of(ddp._params[0]._data)
        self.flats = [xp.empty(b.numel, dtype=b.dtype) for b in ddp._buckets]
        self.filled = [0] * len(ddp._buckets)
        self.ready: set[int] = set()
        self.before: dict = {}  # index -> (.grad, its version) when its hook ran
        self.unused: set[int] = set()
        self.works: list = []  # one per launched bucket
        self.launched = 0
        self.started = False
        self.finished = False

    def _slot(self, index: int) -> np.ndarray:
        b, k = self.ddp._where[index]
        bucket = self.ddp._buckets[b]
        return self.flats[b][bucket.offsets[k]:bucket.offsets[k + 1]]

    def _put(self, index: int, total: np.ndarray | None) -> None:
        slot = self._slot(index)
        if total is None:
            slot[...] = 0
        else:  # PyTorch divides before summing
            xp_of(slot).divide(total.reshape(-1), self.ddp.process_group.size(), out=slot, casting="unsafe")
        self.ready.add(index)
        b = self.ddp._where[index][0]
        self.filled[b] += 1
        g = self.ddp.process_group
        from ...distributed._mpi import mpi
        from ...distributed.process_group import ReduceOp
        from ...distributed.work import Work
        name = "DistributedDataParallel gradient all_reduce"
        while self.launched < len(self.flats) and self.filled[self.launched] == len(self.ddp._buckets[self.launched].indices):
            flat = self.flats[self.launched]
            if self.ddp._engine is not None:
                self.works.append(self.ddp._engine.all_reduce(flat, ReduceOp.SUM, name))
            else:
                self.works.append(Work([g.comm.Iallreduce(mpi().IN_PLACE, flat, mpi().SUM)], g, name))
            self.launched += 1

    def mark_unused(self, index: int) -> None:
        grad = self.ddp._params[index].grad
        self.unused.add(index)
        self._put(index, None if grad is None else grad._data)

    def grad_ready(self, index: int, grad: Tensor):
        if index in self.ready:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {index} received a gradient twice in one backward (or was "
                "marked unused by find_unused_parameters and still got one); reused parameters across backward "
                "passes of one forward are not supported")
        self.started = True
        param = self.ddp._params[index]
        self.before[index] = (param.grad, None if param.grad is None else param.grad._vc[0])
        total = grad._data if param.grad is None else param.grad._data + grad._data
        self._put(index, total)
        if len(self.ready) < len(self.ddp._params):
            return None  # accumulated locally now, overwritten by the average when the last one is ready
        self._finish(index)
        param.grad = None
        return Tensor._make(self._value(index))

    def _value(self, index: int) -> np.ndarray:
        p = self.ddp._params[index]
        return self._slot(index).reshape(p._data.shape).astype(p._data.dtype)

    def _finish(self, last: int) -> None:
        from ...distributed import _mpi
        from ...distributed.work import describe
        g = self.ddp.process_group
        for work in self.works:
            work.wait()
        self.finished = True
        globally_used = set(range(len(self.ddp._params)))
        if self.unused:
            used = np.array([i not in self.unused for i in range(len(self.ddp._params))], dtype=np.uint8)
            _mpi.wait([g.comm.Iallreduce(_mpi.mpi().IN_PLACE, used, _mpi.mpi().MAX)], g.timeout,
                      describe(g, "DistributedDataParallel unused-parameter map"))
            globally_used = {i for i in range(len(used)) if used[i]}
        for i, p in enumerate(self.ddp._params):
            if i == last or i not in globally_used:
                continue
            if i in self.before and self.before[i] == (p.grad, None if p.grad is None else p.grad._vc[0]):
                # the average would be overwritten by the local gradient accumulated after it
                raise RuntimeError(
                    "DistributedDataParallel: the gradient of a parameter whose hook already ran was not yet "
                    "accumulated when the last one ran; this relies on the autograd engine running each leaf's "
                    "hooks right before accumulating that leaf, one leaf after another")
            value = self._value(i)
            if p.grad is None:
                p.grad = Tensor._make(value)
            else:
                p.grad._data = value
                p.grad._vc[0] += 1


def _reachable_leaves(output) -> set[int]:
    """ids of the leaf tensors the tensors in ``output`` (nested in tuples, lists, dicts) depend on."""
    leaves, nodes = set(), []

    def collect(o):
        if isinstance(o, Tensor):
            if o.grad_fn is None:
                leaves.add(id(o))
            else:
                nodes.append(o.grad_fn)
        elif isinstance(o, (list, tuple)):
            for x in o:
                collect(x)
        elif isinstance(o, dict):
            for x in o.values():
                collect(x)
    collect(output)
    return leaves | {id(t) for t in leaf_tensors(nodes)}

