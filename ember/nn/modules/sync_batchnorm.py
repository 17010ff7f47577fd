"""SyncBatchNorm: batch norm whose batch statistics cover the whole batch of every process."""
from __future__ import annotations

from ...autograd.capture import graph_break
from ...autograd.grad_mode import no_grad
from ...ops.join import cat
from .normalization import _BatchNorm, _dims_error


class SyncBatchNorm(_BatchNorm):
    """Batch norm over the concatenation of every process's batch (``torch.nn.SyncBatchNorm``).

    In training with a process group of more than one process, the per-channel mean and variance
    are all-reduced (two passes: the mean, then the squared deviations from it); the gradient flows
    back through the same all-reductions, so it is the gradient of batch norm over the global
    batch. Otherwise (evaluation, or no process group) it is plain batch norm.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise _dims_error("at least 2D", input)

    def _check_non_zero_input_channels(self, input) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input):
        from ... import distributed as dist
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        sync = self.training and dist.is_initialized() and dist.get_world_size(self.process_group) > 1
        if not sync:
            return super().forward(input)
        graph_break("SyncBatchNorm all-reduces its statistics in Python")
        from ...distributed.nn.functional import all_reduce
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            factor = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        dims = [0] + list(range(2, input.dim()))
        shape = [1, input.size(1)] + [1] * (input.dim() - 2)
        local = input.new_tensor([input.numel() // input.size(1)])
        totals = all_reduce(cat([input.sum(dims), local.to(input.dtype)]), group=self.process_group)
        count = totals[-1]
        mean = totals[:-1] / count
        centred = input - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(dims), group=self.process_group) / count
        out = centred * (var + self.eps).rsqrt().reshape(shape)
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            with no_grad():
                n = count.item()
                self.running_mean.mul_(1 - factor).add_(mean.detach() * factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (factor * n / max(n - 1, 1)))
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm*D replaced by a SyncBatchNorm holding the same parameters
        and running statistics (the module itself if it is one)."""
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            output = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                         process_group)
            if module.affine:
                with no_grad():
                    output.weight = module.weight
                    output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output

