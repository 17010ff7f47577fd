"""LazyBatchNorm1d/2d/3d and LazyInstanceNorm1d/2d/3d: ``num_features`` read from the first input."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...backend import dtypes
from ...ops.creation import tensor
from ..parameter import UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                            InstanceNorm3d)

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class _LazyNormBase(LazyModuleMixin):
    """Builds the layer with num_features=0 and no state, then puts placeholders where the
    affine parameters and running statistics go; their size is the first input's channel count."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=dtypes.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _channels(self, input: Tensor) -> int:
        return input.shape[1]

    def initialize_parameters(self, input: Tensor) -> None:
        if not self.has_uninitialized_params():
            # materialized by load_state_dict: the size comes from the loaded state
            loaded = self.weight if self.affine else self.running_mean
            if loaded is not None:
                self.num_features = loaded.shape[0]
            return
        self._check_input_dim(input)
        self.num_features = self._channels(input)
        with no_grad():
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None:
                    t.materialize((self.num_features,))
            self.reset_parameters()


class _LazyInstanceNorm(_LazyNormBase):
    def _channels(self, input: Tensor) -> int:
        # (C, *spatial) unbatched or (N, C, *spatial)
        return input.shape[input.dim() - self._spatial - 1]


def _lazy(mixin, base, name: str):
    cls = type(name, (mixin, base), {"cls_to_become": base, "__module__": __name__,
                                     "__doc__": f"A {base.__name__} whose num_features is read from the first "
                                                f"input; after that call it is a plain {base.__name__}."})
    return cls


LazyBatchNorm1d = _lazy(_LazyNormBase, BatchNorm1d, "LazyBatchNorm1d")
LazyBatchNorm2d = _lazy(_LazyNormBase, BatchNorm2d, "LazyBatchNorm2d")
LazyBatchNorm3d = _lazy(_LazyNormBase, BatchNorm3d, "LazyBatchNorm3d")
LazyInstanceNorm1d = _lazy(_LazyInstanceNorm, InstanceNorm1d, "LazyInstanceNorm1d")
LazyInstanceNorm2d = _lazy(_LazyInstanceNorm, InstanceNorm2d, "LazyInstanceNorm2d")
LazyInstanceNorm3d = _lazy(_LazyInstanceNorm, InstanceNorm3d, "LazyInstanceNorm3d")
