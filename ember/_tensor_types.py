"""PyTorch's legacy tensor types (``ember.FloatTensor``, ``LongTensor``, ...).

They are constructors and dtype tests, not Tensor subclasses (as in PyTorch):
``FloatTensor(2, 3)`` is an uninitialised float32 tensor, ``LongTensor([1, 2])`` holds
data, and ``isinstance(t, FloatTensor)`` is true for a float32 CPU tensor.
"""
from __future__ import annotations

from ._tensor import Size, Tensor
from .backend import dtypes

__all__ = ["BFloat16Tensor", "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
           "IntTensor", "LongTensor", "ShortTensor"]


def legacy_new(dtype, args: tuple, device=None, name: str = "new") -> Tensor:
    """PyTorch's ``Tensor.new`` rules: no argument -> empty; ints or a Size -> an
    uninitialised tensor of that shape; a sequence or array -> a copy converted to ``dtype``;
    a tensor -> itself (storage shared), which must already have ``dtype``."""
    from .ops.creation import empty, tensor
    if not args:
        return empty(0, dtype=dtype, device=device)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and isinstance(args[0], Size)):
        return empty(*args, dtype=dtype, device=device)
    if len(args) > 1:
        raise TypeError(f"{name}(): expected sizes (ints) or one sequence of data, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype is not dtype:
            raise TypeError(f"{name}(): expected a {dtype} tensor but got {data.dtype} (convert it "
                            f"first with .to({dtype}))")
        return data.detach()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name}(): invalid data type '{type(data).__name__}'")
    if not (hasattr(data, "__len__") or hasattr(data, "shape")):
        raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
    return tensor(data, dtype=dtype, device=device)


class _LegacyTensorType(type):
    """The metaclass of the legacy types: calling one builds a Tensor, ``isinstance`` tests
    the dtype (and that the tensor is on the CPU, as ``torch.FloatTensor`` means)."""

    def __call__(cls, *args, device=None) -> Tensor:
        return legacy_new(cls.dtype, args, device, cls.__name__)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'ember.{cls.__name__}'>"


def _legacy_type(d) -> type:
    name = d.kernel_name + "Tensor"
    return _LegacyTensorType(name, (), {"dtype": d, "__module__": "ember",
                                        "__doc__": f"Legacy constructor of {d} CPU tensors."})


HalfTensor = _legacy_type(dtypes.float16)
BFloat16Tensor = _legacy_type(dtypes.bfloat16)
FloatTensor = _legacy_type(dtypes.float32)
DoubleTensor = _legacy_type(dtypes.float64)
CharTensor = _legacy_type(dtypes.int8)
ShortTensor = _legacy_type(dtypes.int16)
IntTensor = _legacy_type(dtypes.int32)
LongTensor = _legacy_type(dtypes.int64)
ByteTensor = _legacy_type(dtypes.uint8)
BoolTensor = _legacy_type(dtypes.bool_)

BY_NAME = {t.__name__: t for t in (HalfTensor, BFloat16Tensor, FloatTensor, DoubleTensor, CharTensor, ShortTensor,
                                   IntTensor, LongTensor, ByteTensor, BoolTensor)}


def parse_type(spec, op: str = "type"):
    """(dtype, device or None) named by ``Tensor.type``'s argument: a dtype, a legacy type,
    or its name ("torch.FloatTensor", "ember.cuda.LongTensor", ...)."""
    if isinstance(spec, _LegacyTensorType):
        return spec.dtype, "cpu"
    if isinstance(spec, str):
        prefix, _, name = spec.rpartition(".")
        if prefix in ("torch", "ember", "torch.cuda", "ember.cuda") and name in BY_NAME:
            return BY_NAME[name].dtype, ("cuda" if prefix.endswith("cuda") else "cpu")
        raise ValueError(f"invalid type: '{spec}'")
    return dtypes.to_dtype(spec), None
