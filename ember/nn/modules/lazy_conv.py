"""LazyConv1d/2d/3d and LazyConvTranspose1d/2d/3d: ``in_channels`` read from the first input."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import UninitializedParameter
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .lazy import LazyModuleMixin

__all__ = ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]


class _LazyConvMixin(LazyModuleMixin):
    """Builds the layer with in_channels=0 and placeholder parameters, then sizes the weight
    (and bias) from the channels of the first input, (N, C, *) or unbatched (C, *)."""

    def _make_lazy(self, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if not self.has_uninitialized_params():
            # materialized by load_state_dict: the channels come from the loaded weight
            w = self.weight.shape
            self.in_channels = w[0] if self.transposed else w[1] * self.groups
            return
        k = self._k
        if input.dim() not in (k + 1, k + 2):
            raise RuntimeError(f"Expected {k + 1}D (unbatched) or {k + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        self.in_channels = input.shape[1] if input.dim() == k + 2 else input.shape[0]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        with no_grad():
            self.weight.materialize(shape)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


def _lazy_conv(base):
    class LazyConv(_LazyConvMixin, base):
        cls_to_become = base

        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                     bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
            # bias=False here: the placeholders below replace the real parameters
            super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                             device, dtype)
            self.out_channels = out_channels
            self._make_lazy(bias, device, dtype)

    return LazyConv


def _lazy_conv_transpose(base):
    class LazyConvTranspose(_LazyConvMixin, base):
        cls_to_become = base

        def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                     groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                     dtype=None) -> None:
            super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                             padding_mode, device, dtype)
            self.out_channels = out_channels
            self._make_lazy(bias, device, dtype)

    return LazyConvTranspose


def _named(cls, name: str):
    cls.__name__ = cls.__qualname__ = name
    cls.__doc__ = f"A {cls.cls_to_become.__name__} whose in_channels is read from the first input; after " \
                  f"that call it is a plain {cls.cls_to_become.__name__}."
    return cls


LazyConv1d = _named(_lazy_conv(Conv1d), "LazyConv1d")
LazyConv2d = _named(_lazy_conv(Conv2d), "LazyConv2d")
LazyConv3d = _named(_lazy_conv(Conv3d), "LazyConv3d")
LazyConvTranspose1d = _named(_lazy_conv_transpose(ConvTranspose1d), "LazyConvTranspose1d")
LazyConvTranspose2d = _named(_lazy_conv_transpose(ConvTranspose2d), "LazyConvTranspose2d")
LazyConvTranspose3d = _named(_lazy_conv_transpose(ConvTranspose3d), "LazyConvTranspose3d")
