"""Affine layers: Identity, Linear (y = x W^T + b) and Bilinear (y = x1^T A x2 + b)."""
from __future__ import annotations

import math
from typing import Any

from ..._tensor import Tensor
from ...amp.autocast_mode import is_autocast_enabled
from ...autograd.grad_mode import no_grad
from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "LazyLinear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed classifier head);
    any constructor arguments are ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: whether to learn an additive bias.
    Shape:
        input (*, in_features) -> output (*, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: W ~ kaiming_uniform_(a=sqrt(5)), b ~ U(+-1/sqrt(fan_in))."""
        init._default_reset_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        weight = self.weight
        try:
            shape, dtype = input._data.shape, input._data.dtype
        except AttributeError:
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(input).__name__}") from None
        # under autocast the op casts mismatched floating dtypes itself
        if not shape or shape[-1] != self.in_features or (
                dtype != weight._data.dtype and not is_autocast_enabled(input.device.type)):
            raise RuntimeError(self._input_error(input))
        return F.linear(input, weight, self.bias)

    def _input_error(self, input: Tensor) -> str:
        shape = tuple(input.shape)
        if input.dtype != self.weight.dtype:
            return (f"{self!r}: expected input of dtype {self.weight.dtype} (the weight's), got "
                    f"{input.dtype}. Convert the input (x.to({self.weight.dtype})) or the layer "
                    f"(layer.to({input.dtype})).")
        msg = f"{self!r}: expected input with last dimension {self.in_features}, got shape {shape}."
        if len(shape) > 2 and math.prod(shape[1:]) == self.in_features:
            return msg + " Did you mean to flatten it first (nn.Flatten())?"
        return msg + " Check in_features against the size of the previous layer's output."

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear layer whose ``in_features`` is read from the first input's last dimension;
    after that call it is a plain Linear."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)  # the parameters below replace the placeholder ones
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        else:  # materialized by load_state_dict
            self.in_features = self.weight.shape[1]


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k for each output feature k.

    Args:
        in1_features, in2_features: sizes of the two inputs' last dimensions.
        out_features: size of the output's last dimension.
        bias: whether to learn an additive bias.
    Shape:
        input1 (*, in1_features), input2 (*, in2_features) -> output (*, out_features).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W and b ~ U(+-1/sqrt(in1_features)), as PyTorch."""
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
