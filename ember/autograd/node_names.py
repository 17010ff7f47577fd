"""PyTorch's names of graph nodes (``type(t.grad_fn).__name__``) for ember's primitives.

A primitive ``Foo`` makes ``FooBackward0`` nodes unless PyTorch names the node of the
same computation otherwise, listed here. Where one primitive serves several PyTorch
overloads (mean is a Sum with a divisor, ``x ** 2`` a Mul), the public function applies
``Primitive.node("PyTorchName")`` instead.
"""
from __future__ import annotations

_RENAMED = {
    "MatMul": "MmBackward0",
    "Linear": "AddmmBackward0",
    "Reshape": "ViewBackward0",
    "GetItem": "IndexBackward0",
    "CumSum": "CumsumBackward0",
    "CumProd": "CumprodBackward0",
    "LogSumExp": "LogsumexpBackward0",
    "Variance": "VarBackward0",
    "Cast": "ToCopyBackward0",
    "ToDevice": "ToCopyBackward0",
    "Clamp": "ClampBackward1",
    "CrossEntropy": "NllLossBackward0",  # cross_entropy's last node in PyTorch is nll_loss
    "BatchNorm": "NativeBatchNormBackward0",
    "GroupedNorm": "NativeLayerNormBackward0",
    "Conv": "ConvolutionBackward0",
    "ConvTranspose": "ConvolutionBackward0",
    "ConstantPad": "ConstantPadNdBackward0",
    "StridedView": "AsStridedBackward0",
    "ViewScatter": "CopySlices",
    "Unfold": "Im2ColBackward0",
    "Fold": "Col2ImBackward0",
    "CompiledFunction": "CompiledFunctionBackward",  # ember.compile's fused runs
}


def node_name(cls: type) -> str:
    """The node name of a Function subclass: PyTorch's for ember's own primitives,
    ``<Name>Backward`` for a user's Function (as PyTorch names custom nodes)."""
    if cls.__module__.startswith("ember."):
        return _RENAMED.get(cls.__name__, cls.__name__ + "Backward0")
    return cls.__name__ + "Backward"
