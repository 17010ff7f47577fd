"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d, and Unfold/Fold (im2col/col2im)."""
from __future__ import annotations


from ..._tensor import Tensor
from ...amp.autocast_mode import is_autocast_enabled
from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module
from .utils import _ntuple

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Unfold",
           "Fold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


class _ConvNd(Module):
    """What Conv and ConvTranspose layers share: arguments, parameters, init, repr, input checks."""

    _k = 0  # spatial dims

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding, dilation,
                 transposed: bool, output_padding, groups: int, bias: bool, padding_mode: str, device=None,
                 dtype=None) -> None:
        super().__init__()
        k = self._k
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride, dilation = _ntuple(k)(kernel_size), _ntuple(k)(stride), _ntuple(k)(dilation)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(k)(padding)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = _ntuple(k)(output_padding)
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's amounts for non-zero padding modes: last dim first, (before, after) each;
        # 'same' puts the odd one after.
        pads = []
        for i in reversed(range(k)):
            if padding == "same":
                total = dilation[i] * (kernel_size[i] - 1)
                pads += [total // 2, total - total // 2]
            else:
                pads += [0, 0] if padding == "valid" else [padding[i]] * 2
        self._reversed_padding_repeated_twice = pads
        shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(shape + kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=sqrt(5)), b ~ U(+-1/sqrt(fan_in))."""
        init._default_reset_(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, input: Tensor, weight: Tensor) -> None:
        """Raise an error naming this layer for an input it cannot take (``weight`` passed in:
        a parametrized weight is recomputed at every read of ``self.weight``)."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}")
        k, c = self._k, self.in_channels
        shape = tuple(input.shape)
        spatial = _SPATIAL[k]
        if len(shape) not in (k + 1, k + 2):
            hint = ""
            if len(shape) == k:
                hint = f" Add the channel dim with x.unsqueeze({-k - 1})."
            raise RuntimeError(f"{self!r}: expected a {k + 2}D input (N, {c}, {spatial}) or an unbatched {k + 1}D "
                               f"one ({c}, {spatial}), got shape {shape}.{hint}")
        if shape[-k - 1] != c:
            hint = " Check in_channels against the channels the previous layer produces."
            if len(shape) == k + 1:
                hint = (f" A {k + 1}D input is read as unbatched ({c}, {spatial}); for a batch of one-channel "
                        f"inputs add the channel dim with x.unsqueeze(1).")
            raise RuntimeError(f"{self!r}: expected input with {c} channels (shape (N, {c}, {spatial})), got "
                               f"shape {shape}.{hint}")
        if input.dtype != weight.dtype and not is_autocast_enabled(input.device.type):  # autocast casts
            raise RuntimeError(f"{self!r}: expected input of dtype {weight.dtype} (the weight's), got "
                               f"{input.dtype}. Convert the input (x.to({weight.dtype})) or the layer "
                               f"(layer.to({input.dtype})).")


class _Conv(_ConvNd):
    _conv = None  # F.conv1d / conv2d / conv3d

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
                         bias, padding_mode, device, dtype)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        weight = self.weight
        self._check_input(input, weight)
        try:
            return self._conv_forward(input, weight, self.bias)
        except RuntimeError as e:  # e.g. an input smaller than the kernel: say which layer
            raise RuntimeError(f"{self!r}: {e}") from None


class Conv1d(_Conv):
    """1-D convolution over an input (N, C_in, L) or (C_in, L).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: an int or a 1-tuple.
        padding: an int, a 1-tuple, ``'valid'`` or ``'same'``.
        groups: independent channel groups (``in_channels`` for depthwise).
        bias: whether to learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
    Shape:
        (N, C_in, L) -> (N, C_out, L_out), L_out = (L + 2 * padding - dilation * (k - 1) - 1) // stride + 1.
    """
    _k = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over an input (N, C_in, H, W) or (C_in, H, W); arguments as in
    ``Conv1d`` with (h, w) pairs.

    Shape:
        (N, C_in, H, W) -> (N, C_out, H_out, W_out), each spatial size as in ``Conv1d``.
    """
    _k = 2
    _conv = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over an input (N, C_in, D, H, W) or (C_in, D, H, W); arguments as in
    ``Conv1d`` with (d, h, w) triples."""
    _k = 3
    _conv = staticmethod(F.conv3d)


class _ConvTranspose(_ConvNd):
    _conv_transpose = None  # F.conv_transpose1d / 2d / 3d

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that makes the output ``output_size`` (spatial, or with N and C)."""
        if output_size is None:
            return self.output_padding
        k = self._k
        lead = input.dim() - k
        size = tuple(int(s) for s in output_size)
        if len(size) == k + lead:
            size = size[lead:]
        if len(size) != k:
            raise ValueError(f"ConvTranspose{k}D: for {input.dim()}D input, output_size must have {k} or "
                             f"{k + lead} elements (got {len(size)})")
        spatial = tuple(input.shape[lead:])
        smallest = [(i - 1) * s - 2 * p + d * (kk - 1) + 1 for i, s, p, d, kk in
                    zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if any(not lo <= o <= hi for o, lo, hi in zip(size, smallest, largest)):
            raise ValueError(f"requested an output size of {size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {list(spatial)})")
        return tuple(o - m for o, m in zip(size, smallest))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        weight = self.weight
        self._check_input(input, weight)
        output_padding = self._output_padding(input, output_size)
        try:
            return type(self)._conv_transpose(input, weight, self.bias, self.stride, self.padding,
                                              output_padding, self.groups, self.dilation)
        except RuntimeError as e:
            raise RuntimeError(f"{self!r}: {e}") from None


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of Conv1d in its input), e.g. for upsampling.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups, bias, dilation: as in
            ``Conv1d`` (padding: ints only).
        output_padding: extra size added to one side of the output (smaller than stride or
            dilation); ``forward(input, output_size)`` picks it from a requested size instead.
    Shape:
        (N, C_in, L) -> (N, C_out, L_out),
        L_out = (L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
    """
    _k = 1
    _conv_transpose = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution; arguments as in ``ConvTranspose1d`` with (h, w) pairs."""
    _k = 2
    _conv_transpose = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution; arguments as in ``ConvTranspose1d`` with (d, h, w) triples."""
    _k = 3
    _conv_transpose = staticmethod(F.conv_transpose3d)


class Unfold(Module):
    """Extract sliding blocks as columns: (N, C, H, W) -> (N, C * kh * kw, L); see ``F.unfold``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Sum sliding blocks back into an image: (N, C * kh * kw, L) -> (N, C, *output_size); see ``F.fold``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
