"""``ember.distributed``: torch.distributed's API; CPU tensors on MPI (mpi4py), CUDA tensors on NCCL (CuPy).

Start a job with ``python -m ember.distributed.run --nproc-per-node N script.py`` (torchrun's
flags); in the script, ``init_process_group("gloo")`` then collectives, DistributedDataParallel
and DistributedSampler as with PyTorch. mpi4py is imported only when a group is created.
"""
from .collectives import (
    all_gather, all_gather_into_tensor, all_reduce, all_to_all, all_to_all_single, broadcast, gather, reduce,
    reduce_scatter, reduce_scatter_tensor, scatter,
)
from .objects import all_gather_object, broadcast_object_list, gather_object, scatter_object_list
from .point_to_point import P2POp, batch_isend_irecv, irecv, isend, recv, send
from .process_group import (
    Backend, GroupMember, ProcessGroup, ReduceOp, barrier, destroy_process_group, get_backend, get_global_rank,
    get_group_rank, get_node_local_rank, get_process_group_ranks, get_rank, get_world_size, init_process_group,
    is_available, is_gloo_available, is_initialized, is_mpi_available, is_nccl_available, is_torchelastic_launched,
    monitored_barrier, new_group,
)
from .work import Work

group = GroupMember  # torch.distributed.group.WORLD

__all__ = ["Backend", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv", "broadcast",
           "broadcast_object_list", "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank",
           "get_group_rank", "get_node_local_rank", "get_process_group_ranks", "get_rank",
           "get_world_size", "group", "init_process_group", "irecv", "is_available", "is_gloo_available",
           "is_initialized", "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv",
           "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send"]
