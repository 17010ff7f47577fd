"""Differentiable collectives (``torch.distributed.nn.functional``)."""
from __future__ import annotations

from ...autograd.function import Function
from ..process_group import ReduceOp


class _AllReduce(Function):
    @staticmethod
    def forward(ctx, op, group, tensor):
        from ..collectives import all_reduce as all_reduce_
        ctx.op, ctx.group = op, group
        out = tensor.clone()
        all_reduce_(out, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        from ..collectives import all_reduce as all_reduce_
        if ctx.op is not ReduceOp.SUM:
            raise RuntimeError(f"all_reduce: the gradient of ReduceOp.{ctx.op.name} is not implemented (only SUM)")
        # every rank's output depended on this rank's input: the gradients of all outputs add up
        out = grad.clone()
        all_reduce_(out, op=ReduceOp.SUM, group=ctx.group)
        return None, None, out


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """The reduction of ``tensor`` over the ranks, as a new tensor; its gradient is all-reduced back."""
    return _AllReduce.apply(op, group, tensor)
