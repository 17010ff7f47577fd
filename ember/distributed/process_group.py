"""Process groups: init_process_group and its queries, new_group, ReduceOp, barrier.

Every process talks through MPI. Started by an MPI launcher (``python -m
ember.distributed.run`` with torchrun's flags, or ``mpiexec``), a job's ranks are already one
MPI world. Started otherwise, with torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT, or a ``tcp://`` init_method), each process is an MPI singleton, and ``_join``
connects them into one world through MPI's dynamic-process calls, meeting at MASTER_PORT; it
does the same for the jobs of a launcher run once per node, torchrun's way. A single process
started without a launcher is a world of size 1.
"""
from __future__ import annotations

import datetime
import enum
import os

from . import _failure, _join, _mpi

__all__ = ["Backend", "GroupMember", "ProcessGroup", "ReduceOp", "barrier", "destroy_process_group",
           "get_backend", "get_global_rank", "get_node_local_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
           "get_world_size", "init_process_group", "is_available",
           "is_initialized", "is_mpi_available", "is_torchelastic_launched", "monitored_barrier", "is_gloo_available", "is_nccl_available", "new_group"]

default_pg_timeout = datetime.timedelta(minutes=30)  # PyTorch's default for CPU groups


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce`` combine the ranks' tensors."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


class Backend(str):
    """Backend names: "mpi"; "gloo" (PyTorch's CPU backend) runs on MPI too; "nccl" for CUDA tensors."""
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"
    default_device_backend_map = {"cpu": "gloo", "cuda": "nccl"}


class ProcessGroup:
    """A set of ranks with its own MPI communicator (collectives in one group never match
    collectives in another), and the backend that runs each device type's tensors: CPU tensors
    on that MPI communicator, CUDA tensors on an NCCL communicator made at their first collective."""

    def __init__(self, comm, ranks: list[int], backend: str, timeout: float, devices: dict[str, str]):
        self.comm = comm
        self.ranks = ranks  # global ranks, in group-rank order
        self.backend = backend  # the name get_backend reports
        self.timeout = timeout
        self.devices = devices  # device type -> backend name
        self.engines = {}  # device type -> NcclEngine, once made

    def engine(self, tensors, op: str):
        """The NcclEngine running ``tensors`` (all on one device), or None when MPI runs them.
        The first call for a device type is collective (it makes the NCCL communicator)."""
        kinds = {t.device for t in tensors}
        if len(kinds) > 1:
            raise RuntimeError(f"{op}: the tensors are on {', '.join(sorted(map(str, kinds)))}; one collective "
                               "takes tensors of one device")
        device = kinds.pop()
        name = self.devices.get(device.type)
        if name is None:
            raise RuntimeError(
                f"{op}: No backend type associated with device type {device.type}: this group runs "
                f"{self.backend!r} ({', '.join(f'{d}: {b}' for d, b in self.devices.items())}). Move the tensor "
                f"with .to(...), or create the group with backend='cpu:gloo,cuda:nccl' (or None) for both")
        if name != Backend.NCCL:
            return None
        engine = self.engines.get(device.type)
        if engine is None:
            from . import _nccl
            engine = _nccl.attach(self, device.type, _nccl.nccl_module(), _nccl.CupyArrays(), device)
        engine.check_device(tensors[0], op)
        return engine

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def group_rank(self, global_rank: int, op: str) -> int:
        """The rank in this group of the process with ``global_rank``."""
        try:
            return self.ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"{op}: global rank {global_rank} is not part of the group (ranks "
                             f"{self.ranks})") from None

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class GroupMember:
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` is what ``new_group``
    returns to ranks left out of it."""
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


_groups: list[ProcessGroup] = []


def is_available() -> bool:
    """Whether ember.distributed can run here (mpi4py is installed)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_gloo_available() -> bool:
    return is_available()  # "gloo" runs on MPI for CPU tensors


def is_nccl_available() -> bool:
    """Whether CUDA tensors can run here (CuPy with NCCL, and a GPU)."""
    from . import _nccl
    return _nccl.is_available()


def is_initialized() -> bool:
    """Whether the default process group exists."""
    return GroupMember.WORLD is not None


def _timeout_seconds(timeout) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    raise TypeError(f"init_process_group: timeout must be a datetime.timedelta, got {type(timeout).__name__}")


def _check_backend(backend) -> tuple[str, dict[str, str]]:
    """(the name get_backend reports, device type -> backend), as PyTorch reads ``backend``:
    None runs CPU tensors on gloo and CUDA tensors on NCCL; "cpu:gloo,cuda:nccl" names each."""
    if backend is None:
        return Backend.UNDEFINED, dict(Backend.default_device_backend_map)
    name = str(backend).lower()
    devices = {}
    for part in name.split(","):
        device, _, b = part.strip().rpartition(":")
        if b not in ("mpi", "gloo", "nccl") or device not in ("", "cpu", "cuda"):
            raise ValueError(f"init_process_group: unknown backend {backend!r}; ember runs 'mpi' and 'gloo' "
                             "(MPI, for CPU tensors), 'nccl' (CUDA tensors, through CuPy), or per device as "
                             "'cpu:gloo,cuda:nccl'")
        for d in [device] if device else ["cuda"] if b == "nccl" else ["cpu"]:
            if b == "nccl" and d != "cuda" or b != "nccl" and d != "cpu":
                raise ValueError(f"init_process_group(backend={backend!r}): {b} does not run {d} tensors here "
                                 "(CPU tensors: mpi or gloo; CUDA tensors: nccl)")
            devices[d] = b
    if "nccl" in devices.values():
        from . import _nccl
        _nccl.nccl_module()  # NCCL named explicitly: refuse now, as PyTorch does, when it cannot run
    return name, devices


def init_process_group(backend=None, init_method=None, timeout=None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group: every process of the job calls this once.

    Under an MPI launcher, rank and size come from MPI, and ``world_size``, ``rank``, WORLD_SIZE
    and RANK, when given, must agree with them. Otherwise they are this process's place in the
    world that the processes form at MASTER_ADDR:MASTER_PORT (see the module docstring).
    """
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    name, devices = _check_backend(backend)
    seconds = _timeout_seconds(timeout)
    if init_method is not None and not str(init_method).startswith(("env://", "tcp://", "file://")):
        raise ValueError(f"init_process_group: unsupported init_method {init_method!r} (env://, tcp:// or file://)")
    if store is not None:
        raise NotImplementedError("init_process_group(store=...): ember's MPI groups need no store; omit it")
    size = world_size if world_size > 0 else _env_int("WORLD_SIZE", 1)
    launched = _mpi.under_mpi_launcher()
    if str(init_method).startswith("file://") and not launched and size > 1:
        raise ValueError("init_process_group: processes started without a launcher meet at an address: use "
                         "init_method='env://' (MASTER_ADDR, MASTER_PORT) or 'tcp://host:port' instead of file://")
    own_rank = rank if rank >= 0 else _env_int("RANK", 0 if launched or size == 1 else None)
    meet = _join.meeting(own_rank, size, init_method)
    # A failure from here on (a node that never joins, a rank that disagrees) ends the job at once;
    # the launcher's RANK (MPI's own rank under a bare mpiexec) is this process's rank in the world.
    _failure.install(next((int(os.environ[v]) for v in ("RANK",) + _mpi.LAUNCHER_RANK_VARS if v in os.environ),
                          own_rank))
    world = _join.world(seconds, meet)  # COMM_WORLD, or the parts joined into one
    for what, asked, actual in (("world_size", world_size, world.Get_size()), ("rank", rank, world.Get_rank()),
                                ("WORLD_SIZE", int(os.environ.get("WORLD_SIZE", -1)), world.Get_size()),
                                ("RANK", int(os.environ.get("RANK", -1)), world.Get_rank())):
        if asked >= 0 and asked != actual:
            raise ValueError(f"init_process_group: {what}={asked} disagrees with MPI, which started this "
                             f"process as rank {world.Get_rank()} of {world.Get_size()}")
    comm = world.Dup()  # the user's own MPI calls on COMM_WORLD never match ember's collectives
    GroupMember.WORLD = ProcessGroup(comm, list(range(comm.Get_size())), name, seconds, devices)


def _env_int(var: str, default: int | None) -> int:
    """An integer environment variable; PyTorch's env:// error when it is missing and has no default."""
    if var in os.environ:
        return int(os.environ[var])
    if default is None:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: environment variable {var} "
                         "expected, but not set")
    return default


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Release ``group`` (default: the default group and every group made from it)."""
    if group is None or group is GroupMember.WORLD:
        for g in _groups + ([GroupMember.WORLD] if GroupMember.WORLD is not None else []):
            g.comm.Free()
        _groups.clear()
        GroupMember.WORLD = None
        _failure.uninstall()
    elif isinstance(group, ProcessGroup):
        group.comm.Free()
        _groups.remove(group)


def default_group(op: str) -> ProcessGroup:
    """The default group, or PyTorch's error when init_process_group was not called."""
    if GroupMember.WORLD is None:
        raise ValueError(f"{op}: Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return GroupMember.WORLD


def resolve(group, op: str) -> ProcessGroup | None:
    """The ProcessGroup to run ``op`` on; None on a rank that is not a member of ``group``."""
    world = default_group(op)
    if group is None or group is GroupMember.WORLD:
        return world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"{op}: group must be a ProcessGroup from new_group(), got {type(group).__name__}")
    return group


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (-1 if it is not a member)."""
    g = resolve(group, "get_rank")
    return -1 if g is None else g.rank()


def get_world_size(group=None) -> int:
    """The number of processes in ``group`` (-1 if this process is not a member)."""
    g = resolve(group, "get_world_size")
    return -1 if g is None else g.size()


def get_process_group_ranks(group) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    g = resolve(group, "get_process_group_ranks")
    if g is None:
        raise ValueError("get_process_group_ranks: this rank is not a member of the group")
    return list(g.ranks)


def get_global_rank(group, group_rank: int) -> int:
    """The global rank of the member ``group_rank`` of ``group``."""
    ranks = get_process_group_ranks(group)
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"get_global_rank: group rank {group_rank} is not part of the group (size {len(ranks)})")
    return ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    """The rank in ``group`` of the process with ``global_rank``."""
    g = resolve(group, "get_group_rank")
    if g is None:
        raise ValueError("get_group_rank: this rank is not a member of the group")
    return g.group_rank(global_rank, "get_group_rank")


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its node (the launcher's LOCAL_RANK), else ``fallback_rank``."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, assuming you are not running in a multi-device context and "
                       "want the code to run locally instead.")


def is_torchelastic_launched() -> bool:
    """Whether a torchrun-style launcher (torchrun, ember.distributed.run) started this process."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


def get_backend(group=None) -> str:
    g = resolve(group, "get_backend")
    return default_group("get_backend").backend if g is None else g.backend


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None):
    """A group of the given global ``ranks``: every process of the default group must call it
    (in the same order relative to other new_group calls), members or not."""
    world = default_group("new_group")
    size = world.size()
    ranks = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    bad = [r for r in ranks if not 0 <= r < size]
    if bad or len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of the default group (0..{size - 1})")
    MPI = _mpi.mpi()
    me = world.rank()
    color = 0 if me in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, ranks.index(me) if me in ranks else 0)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    seconds = world.timeout if timeout is None else _timeout_seconds(timeout)
    name, devices = (world.backend, world.devices) if backend is None else _check_backend(backend)
    group = ProcessGroup(comm, ranks, name, seconds, dict(devices))
    _groups.append(group)
    return group


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of ``group`` reaches the barrier."""
    from .work import Work
    g = resolve(group, "barrier")
    if g is None:
        return None
    if g.devices.get("cpu") not in ("mpi", "gloo"):  # NCCL only: as PyTorch, an all_reduce of one element
        from ._nccl import barrier_work
        work = barrier_work(g)
    else:
        work = Work([g.comm.Ibarrier()], g, "barrier")
    return work if async_op else work.wait()


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """A barrier that, when ranks fail to arrive within ``timeout``, raises on the group's first rank
    naming them (the first one, or all with ``wait_all_ranks``)."""
    import numpy as np
    g = resolve(group, "monitored_barrier")
    if g is None:
        return
    seconds = g.timeout if timeout is None else _timeout_seconds(timeout)
    tag = 31_337  # a tag of its own: never matched by the user's sends
    token = np.zeros(1, np.uint8)
    if g.rank() != 0:  # report to the first rank, then wait for its release
        g.comm.Send(token, dest=0, tag=tag)
        _mpi.wait([g.comm.Irecv(token, source=0, tag=tag)], seconds, f"[rank {g.ranks[g.rank()]}] monitored_barrier")
        return
    pending = {r: g.comm.Irecv(np.zeros(1, np.uint8), source=r, tag=tag) for r in range(1, g.size())}
    try:
        _mpi.wait(list(pending.values()), seconds, "monitored_barrier")
    except RuntimeError:
        late = [g.ranks[r] for r, req in pending.items() if not req.Test()]
        for r, req in pending.items():  # a late rank's report then counts for the next monitored_barrier
            if g.ranks[r] in late:
                req.Cancel()
                req.Wait()
        shown = late if wait_all_ranks else late[:1]
        raise RuntimeError(f"[Rank {g.ranks[0]}]: Ranks {', '.join(map(str, shown))} failed to pass monitoredBarrier "
                           f"in {int(seconds * 1000)} ms") from None
    for r in range(1, g.size()):
        g.comm.Send(token, dest=r, tag=tag)
