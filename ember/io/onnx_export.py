"""ONNX export of ember models (the ``onnx`` package builds and checks the graph).

The model is traced: it runs once on the example input, in eval mode and without autograd,
while forward hooks record every call of a supported layer and which tensors flow between
them. Each layer becomes ONNX nodes whose weights are initializers. Supported layers:

* ``Linear``, ``Conv1d``, ``Conv2d`` (zero padding), ``Identity``, ``Dropout`` (identity);
* ``ReLU``, ``Sigmoid``, ``Tanh``, ``GELU``, ``LeakyReLU``, ``Softmax``, ``LogSoftmax``;
* ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` to 1x1, ``Flatten``;
* ``BatchNorm1d``, ``BatchNorm2d`` (with running statistics);
* ``LSTM``, ``GRU``, ``RNN`` called without initial states (also multi-layer, bidirectional,
  ``batch_first``): ONNX's LSTM, GRU and RNN operators, gates reordered from ember's
  (i, f, g, o) to ONNX's (i, o, f, c) for LSTM and (r, z, n) to (z, r, h) for GRU.

Containers (``Sequential``, ``ModuleList``, user modules) are traced through. In a custom
``forward``, these operations on traced tensors are recorded too: ``+``, ``-``, ``*``, ``@``
(and ``add``, ``sub``, ``mul``, ``matmul``), ``relu`` (also ``F.relu``), ``flatten``, and
indexing by ints and slices (``out[:, -1]``); the model's own parameters and buffers and
Python numbers may be operands. A tensor computed by anything else (another operator, an
unsupported layer) stops the export with an error naming where it was used.
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from .. import nn
from .._tensor import Tensor
from ..autograd import no_grad
from ..backend.device import CPU, move
from ._files import atomic_write
from .._optional import require

__all__ = ["export"]


def _onnx():
    return require("onnx", "ember.onnx.export")


class _Graph:
    """The ONNX graph under construction: nodes, initializers and the name of each tensor."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[int, str] = {}
        self._keep: list[Tensor] = []  # keeps traced tensors alive so their ids stay theirs
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def bind(self, t: Tensor, name: str) -> None:
        self._keep.append(t)
        self.names[id(t)] = name

    def name_of(self, t, where: str) -> str:
        if isinstance(t, Tensor) and id(t) in self.names:
            return self.names[id(t)]
        raise RuntimeError(
            f"ember.onnx.export: {where} received a tensor that no supported layer computed (an operator "
            "in a custom forward, or an unsupported layer). Export supports models whose forward passes "
            "tensors between supported layers; see ember.io.onnx_export for the list.")

    def const(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def param(self, t: Tensor | None, hint: str) -> str:
        return self.const(move(t.detach()._data, CPU), hint)

    def node(self, op: str, inputs: Sequence[str], hint: str, n_out: int = 1, **attrs) -> list[str]:
        outputs = [self.fresh(hint) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outputs, name=self.fresh(op), **attrs))
        return outputs


def _pair(v, n: int) -> list[int]:
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def _linear(g: _Graph, m: nn.Linear, x: str, path: str) -> str:
    w = g.const(move(m.weight.detach()._data, CPU).T, f"{path}.weight_t")
    (y,) = g.node("MatMul", [x, w], path)
    if m.bias is not None:
        (y,) = g.node("Add", [y, g.param(m.bias, f"{path}.bias")], path)
    return y


def _conv(g: _Graph, m, x: str, path: str) -> str:
    n = len(m.kernel_size)
    if m.padding_mode != "zeros":
        raise RuntimeError(f"ember.onnx.export: {path} ({type(m).__name__}) uses padding_mode="
                           f"{m.padding_mode!r}; only 'zeros' exports")
    if isinstance(m.padding, str):
        begin, end = [], []
        for k, d in zip(m.kernel_size, m.dilation):
            total = d * (k - 1) if m.padding == "same" else 0
            begin.append(total // 2)
            end.append(total - total // 2)
    else:
        begin = end = list(m.padding)
    inputs = [x, g.param(m.weight, f"{path}.weight")]
    if m.bias is not None:
        inputs.append(g.param(m.bias, f"{path}.bias"))
    (y,) = g.node("Conv", inputs, path, kernel_shape=list(m.kernel_size), strides=_pair(m.stride, n),
                  pads=list(begin) + list(end), dilations=_pair(m.dilation, n), group=m.groups)
    return y


def _pool(g: _Graph, m, x: str, path: str) -> str:
    kernel = _pair(m.kernel_size, 2)
    stride = _pair(m.stride if m.stride is not None else m.kernel_size, 2)
    pads = _pair(m.padding, 2) * 2
    if isinstance(m, nn.MaxPool2d):
        if m.return_indices:
            raise RuntimeError(f"ember.onnx.export: {path} (MaxPool2d) has return_indices=True, which does not export")
        (y,) = g.node("MaxPool", [x], path, kernel_shape=kernel, strides=stride, pads=pads,
                      dilations=_pair(m.dilation, 2), ceil_mode=int(m.ceil_mode))
        return y
    if m.divisor_override is not None:
        raise RuntimeError(f"ember.onnx.export: {path} (AvgPool2d) has divisor_override set, which does not export")
    (y,) = g.node("AveragePool", [x], path, kernel_shape=kernel, strides=stride, pads=pads,
                  ceil_mode=int(m.ceil_mode), count_include_pad=int(m.count_include_pad))
    return y


def _batch_norm(g: _Graph, m, x: str, path: str) -> str:
    if m.running_mean is None:
        raise RuntimeError(f"ember.onnx.export: {path} ({type(m).__name__}) has no running statistics "
                           "(track_running_stats=False), so its eval output depends on the batch")
    c = m.num_features
    dtype = move(m.running_mean._data, CPU).dtype
    scale = g.param(m.weight, f"{path}.weight") if m.affine else g.const(np.ones(c, dtype), f"{path}.weight")
    bias = g.param(m.bias, f"{path}.bias") if m.affine else g.const(np.zeros(c, dtype), f"{path}.bias")
    (y,) = g.node("BatchNormalization", [x, scale, bias, g.param(m.running_mean, f"{path}.running_mean"),
                                         g.param(m.running_var, f"{path}.running_var")], path, epsilon=m.eps)
    return y


def _gelu(g: _Graph, m: nn.GELU, x: str, path: str, dtype) -> str:
    def c(v):
        return g.const(np.array(v, dtype=dtype), f"{path}.const")

    if m.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        (cube,) = g.node("Pow", [x, c(3.0)], path)
        (inner,) = g.node("Add", [x, g.node("Mul", [cube, c(0.044715)], path)[0]], path)
        (t,) = g.node("Tanh", [g.node("Mul", [inner, c(math.sqrt(2 / math.pi))], path)[0]], path)
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        (t,) = g.node("Erf", [g.node("Div", [x, c(math.sqrt(2.0))], path)[0]], path)
    (half_x,) = g.node("Mul", [x, c(0.5)], path)
    (y,) = g.node("Mul", [half_x, g.node("Add", [t, c(1.0)], path)[0]], path)
    return y


def _flatten(g: _Graph, x: str, path: str, start_dim: int, end_dim: int, in_shape: tuple) -> str:
    n = max(len(in_shape), 1)
    start, end = start_dim % n, end_dim % n
    # 0 keeps an input dimension (so the batch size stays dynamic); the merged one is -1;
    # dimensions after it move, so they are given by size.
    shape = [0] * start + [-1] + list(in_shape[end + 1:])
    (y,) = g.node("Reshape", [x, g.const(np.array(shape, dtype=np.int64), f"{path}.shape")], path)
    return y


_LSTM_ORDER = [0, 3, 1, 2]  # ember (i, f, g, o) -> ONNX (i, o, f, c)
_GRU_ORDER = [1, 0, 2]      # ember (r, z, n) -> ONNX (z, r, h)


def _recurrent(g: _Graph, m, x: str, path: str, args: tuple, output) -> None:
    name = type(m).__name__
    if len(args) > 1 and args[1] is not None:
        raise RuntimeError(f"ember.onnx.export: {path} ({name}) was called with initial states; export "
                           "supports recurrent layers called on the input alone (zero initial states)")
    if args[0].dim() != 3:
        raise RuntimeError(f"ember.onnx.export: {path} ({name}) got an unbatched {args[0].dim()}-D input; "
                           "export supports batched 3-D inputs")
    if getattr(m, "proj_size", 0):
        raise RuntimeError(f"ember.onnx.export: {path} (LSTM) has proj_size > 0, which ONNX's LSTM lacks")
    if isinstance(m, nn.LSTM):
        op, order, gates, extra = "LSTM", _LSTM_ORDER, 4, {}
    elif isinstance(m, nn.GRU):
        op, order, gates, extra = "GRU", _GRU_ORDER, 3, {"linear_before_reset": 1}
    else:
        op, order, gates = "RNN", [0], 1
        extra = {"activations": ["Relu" if m.nonlinearity == "relu" else "Tanh"] * (2 if m.bidirectional else 1)}
    dirs = 2 if m.bidirectional else 1
    hs = m.hidden_size
    if m.batch_first:
        (x,) = g.node("Transpose", [x], path, perm=[1, 0, 2])

    def gate_rows(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w[i * hs:(i + 1) * hs] for i in order], axis=0)

    hidden, cells = [], []
    for layer in range(m.num_layers):
        ws, rs, bs = [], [], []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih = move(getattr(m, f"weight_ih{sfx}").detach()._data, CPU)
            ws.append(gate_rows(w_ih))
            rs.append(gate_rows(move(getattr(m, f"weight_hh{sfx}").detach()._data, CPU)))
            if m.bias:
                bs.append(np.concatenate([gate_rows(move(getattr(m, f"bias_{k}{sfx}").detach()._data, CPU))
                                          for k in ("ih", "hh")]))
            else:
                bs.append(np.zeros(2 * gates * hs, dtype=w_ih.dtype))
        inputs = [x, g.const(np.stack(ws), f"{path}.W{layer}"), g.const(np.stack(rs), f"{path}.R{layer}"),
                  g.const(np.stack(bs), f"{path}.B{layer}")]
        outs = g.node(op, inputs, f"{path}.l{layer}", n_out=3 if op == "LSTM" else 2, hidden_size=hs,
                      direction="bidirectional" if dirs == 2 else "forward", **extra)
        # Y is (seq, dirs, batch, hidden): the next layer and the output want (seq, batch, dirs*hidden).
        (y,) = g.node("Transpose", [outs[0]], path, perm=[0, 2, 1, 3])
        (x,) = g.node("Reshape", [y, g.const(np.array([0, 0, -1], dtype=np.int64), f"{path}.shape")], path)
        hidden.append(outs[1])
        if op == "LSTM":
            cells.append(outs[2])
    y = x
    if m.batch_first:
        (y,) = g.node("Transpose", [x], path, perm=[1, 0, 2])
    out, state = output
    g.bind(out, y)

    def stacked(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else g.node("Concat", parts, path, axis=0)[0]

    if op == "LSTM":
        g.bind(state[0], stacked(hidden))
        g.bind(state[1], stacked(cells))
    else:
        g.bind(state, stacked(hidden))


_SIMPLE = {nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh"}
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_SUPPORTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Identity, nn.Dropout, nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU,
              nn.LeakyReLU, nn.Softmax, nn.LogSoftmax, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
              nn.Flatten, nn.BatchNorm1d, nn.BatchNorm2d, nn.LSTM, nn.GRU, nn.RNN)


def _emit(g: _Graph, m, path: str, args: tuple, output) -> None:
    """Add the nodes for one call of layer ``m`` (named ``path``) and name its output."""
    where = f"layer '{path}' ({type(m).__name__})"
    if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)):
        _recurrent(g, m, g.name_of(args[0], where), path, args, output)
        return
    if len(args) != 1 or not isinstance(output, Tensor):
        raise RuntimeError(f"ember.onnx.export: {where} must take one tensor and return one tensor")
    x = g.name_of(args[0], where)
    dtype = move(args[0]._data, CPU).dtype
    if isinstance(m, (nn.Identity, nn.Dropout)):
        y = x
    elif isinstance(m, nn.Linear):
        y = _linear(g, m, x, path)
    elif isinstance(m, (nn.Conv1d, nn.Conv2d)):
        y = _conv(g, m, x, path)
    elif type(m) in _SIMPLE:
        (y,) = g.node(_SIMPLE[type(m)], [x], path)
    elif isinstance(m, nn.LeakyReLU):
        (y,) = g.node("LeakyRelu", [x], path, alpha=float(m.negative_slope))
    elif isinstance(m, nn.GELU):
        y = _gelu(g, m, x, path, dtype)
    elif isinstance(m, (nn.Softmax, nn.LogSoftmax)):
        if m.dim is None:
            raise RuntimeError(f"ember.onnx.export: {where} has dim=None; give the dim explicitly")
        (y,) = g.node(type(m).__name__, [x], path, axis=m.dim)
    elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        y = _pool(g, m, x, path)
    elif isinstance(m, nn.AdaptiveAvgPool2d):
        if tuple(_pair(m.output_size, 2)) != (1, 1):
            raise RuntimeError(f"ember.onnx.export: {where} has output_size {m.output_size}; only (1, 1) exports")
        (y,) = g.node("GlobalAveragePool", [x], path)
    elif isinstance(m, nn.Flatten):
        y = _flatten(g, x, path, m.start_dim, m.end_dim, tuple(args[0].shape))
    else:
        y = _batch_norm(g, m, x, path)
    g.bind(output, y)


class _OpRecorder:
    """Records a few tensor operations called directly in a custom ``forward`` (outside any
    supported layer) while the model is traced, by wrapping them for the duration of the trace.

    Operands that are parameters or buffers of the model become initializers; Python numbers
    become constants of the result's dtype.
    """

    def __init__(self, g: _Graph, model: nn.Module, depth: list[int]):
        self.g, self.depth = g, depth
        self.constants = {id(t): name for name, t in (*model.named_parameters(), *model.named_buffers())}
        self._saved: list[tuple[Any, str, Any]] = []

    def operand(self, v, out: Tensor, where: str) -> str:
        if isinstance(v, Tensor) and id(v) not in self.g.names and id(v) in self.constants:
            return self.g.param(v, self.constants[id(v)])
        if isinstance(v, (bool, int, float)):
            return self.g.const(np.array(v, dtype=move(out._data, CPU).dtype), f"{where}.const")
        return self.g.name_of(v, where)

    def binary(self, op: str):
        def emit(out, a, b, **kwargs):
            if kwargs:
                raise RuntimeError(f"ember.onnx.export: {op} with keyword arguments {sorted(kwargs)} does not export")
            where = f"operator {op}"
            (y,) = self.g.node(op, [self.operand(a, out, where), self.operand(b, out, where)], op)
            self.g.bind(out, y)
        return emit

    def relu(self, out, input, inplace=False):
        self.g.bind(out, self.g.node("Relu", [self.g.name_of(input, "operator relu")], "relu")[0])

    def flatten(self, out, input, start_dim=0, end_dim=-1):
        x = self.g.name_of(input, "operator flatten")
        self.g.bind(out, _flatten(self.g, x, "flatten", start_dim, end_dim, tuple(input.shape)))

    def getitem(self, out, input, key):
        """Basic indexing by ints and slices (``out[:, -1]``): a Slice, then a Gather per int."""
        x = self.g.name_of(input, "indexing")
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > input.dim() or not all(isinstance(k, (int, slice)) and not isinstance(k, bool) for k in key):
            raise RuntimeError(f"ember.onnx.export: indexing with {key!r} does not export; only ints and slices do")
        starts, ends, axes, steps = [], [], [], []
        for axis, k in enumerate(key):
            if isinstance(k, slice) and k != slice(None):
                if k.step is not None and k.step <= 0:
                    raise RuntimeError(f"ember.onnx.export: indexing with step {k.step} does not export")
                starts.append(0 if k.start is None else k.start)
                ends.append(np.iinfo(np.int64).max if k.stop is None else k.stop)
                axes.append(axis)
                steps.append(1 if k.step is None else k.step)
        if axes:
            consts = [self.g.const(np.array(v, dtype=np.int64), "slice") for v in (starts, ends, axes, steps)]
            (x,) = self.g.node("Slice", [x, *consts], "slice")
        for axis in reversed([a for a, k in enumerate(key) if isinstance(k, int)]):
            index = self.g.const(np.array(key[axis], dtype=np.int64), "index")
            (x,) = self.g.node("Gather", [x, index], "gather", axis=axis)
        self.g.bind(out, x)

    def wrap(self, owner, attr: str, emit) -> None:
        original = getattr(owner, attr)
        names, depth = self.g.names, self.depth

        def traced(*args, **kwargs):
            depth[0] += 1  # operations it calls itself are part of it
            try:
                out = original(*args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0 and isinstance(out, Tensor) and any(
                    isinstance(a, Tensor) and id(a) in names for a in args):
                emit(out, *args, **kwargs)
            return out

        self._saved.append((owner, attr, original))
        setattr(owner, attr, traced)

    def __enter__(self):
        import ember
        from ..nn import functional
        for owner in (Tensor, ember):
            for attr, op in (("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("matmul", "MatMul")):
                self.wrap(owner, attr, self.binary(op))
            self.wrap(owner, "relu", self.relu)
            self.wrap(owner, "flatten", self.flatten)
        for attr, op in (("__add__", "Add"), ("__radd__", "Add"), ("__sub__", "Sub"), ("__mul__", "Mul"),
                         ("__rmul__", "Mul"), ("__matmul__", "MatMul")):
            self.wrap(Tensor, attr, self.binary(op))
        self.wrap(Tensor, "__getitem__", self.getitem)
        self.wrap(functional, "relu", self.relu)
        return self

    def __exit__(self, *exc) -> None:
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)


def _flat_tensors(obj, what: str) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _flat_tensors(o, what)]
    raise TypeError(f"ember.onnx.export: the model's {what} must be tensors or tuples of tensors, "
                    f"got {type(obj).__name__}")


def _value_info(onnx, name: str, t: Tensor, dynamic: dict[int, str]):
    shape = [dynamic.get(i, s) for i, s in enumerate(t.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(move(t._data, CPU).dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _dynamic_for(dynamic_axes, name: str, t: Tensor) -> dict[int, str]:
    axes = (dynamic_axes or {}).get(name, {})
    if isinstance(axes, dict):
        return {i % max(t.dim(), 1): str(v) for i, v in axes.items()}
    return {i % max(t.dim(), 1): f"{name}_dim{i}" for i in axes}


def export(model: nn.Module, example_input: Tensor | tuple, path: str | os.PathLike,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           dynamic_axes: dict[str, dict[int, str] | Sequence[int]] | None = None, opset_version: int = 17) -> None:
    """Export ``model`` to an ONNX file at ``path`` by tracing it on ``example_input``.

    Args:
        model: a module built from the supported layers (see :mod:`ember.io.onnx_export`).
            It runs in eval mode during the trace; its mode is restored afterwards.
        example_input: a tensor, or a tuple of tensors passed as separate arguments.
        path: the ``.onnx`` file, written atomically.
        input_names, output_names: graph input and output names (default ``input``/``input1``...
            and ``output``/``output1``...).
        dynamic_axes: ``{name: {axis: "dim_name"}}`` or ``{name: [axis, ...]}``: axes whose
            size may differ from the example's (typically the batch axis).
        opset_version: the ONNX operator set version (13 or newer).

    Raises:
        RuntimeError: the model uses a layer or operation that does not export (the message
            names the layer).
    """
    onnx = _onnx()
    if opset_version < 13:
        raise ValueError(f"ember.onnx.export: opset_version must be at least 13, got {opset_version}")
    inputs = (example_input,) if isinstance(example_input, Tensor) else tuple(example_input)
    in_tensors = _flat_tensors(inputs, "inputs")
    in_names = list(input_names or [("input" if i == 0 else f"input{i}") for i in range(len(in_tensors))])
    if len(in_names) != len(in_tensors):
        raise ValueError(f"ember.onnx.export: {len(in_names)} input_names for {len(in_tensors)} inputs")
    g = _Graph(onnx)
    for t, name in zip(in_tensors, in_names):
        g.bind(t, name)
    paths = {m: name or type(model).__name__ for name, m in model.named_modules()}
    handles, depth = [], [0]

    def pre_hook(m, args):
        depth[0] += 1

    def hook(m, args, output):
        depth[0] -= 1
        if depth[0] == 0:  # a layer called by another supported layer is part of that one
            _emit(g, m, paths.get(m, type(m).__name__), args, output)

    for m in model.modules():
        if isinstance(m, _SUPPORTED):
            handles += [m.register_forward_pre_hook(pre_hook), m.register_forward_hook(hook)]
        elif type(m).__module__.startswith("ember.nn") and not isinstance(m, _CONTAINERS) and not list(m.children()):
            # an ember layer without an ONNX translation (user-defined modules are traced through)
            for h in handles:
                h.remove()
            raise RuntimeError(f"ember.onnx.export: layer '{paths[m]}' ({type(m).__name__}) does not export; "
                               f"supported layers: {', '.join(sorted(c.__name__ for c in _SUPPORTED))}")
    was_training = model.training
    model.eval()
    try:
        with no_grad(), _OpRecorder(g, model, depth):
            output = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out_tensors = _flat_tensors(output, "outputs")
    out_names = list(output_names or [("output" if i == 0 else f"output{i}") for i in range(len(out_tensors))])
    if len(out_names) != len(out_tensors):
        raise ValueError(f"ember.onnx.export: {len(out_names)} output_names for {len(out_tensors)} outputs")
    for t, name in zip(out_tensors, out_names):
        g.nodes.append(onnx.helper.make_node("Identity", [g.name_of(t, f"output '{name}'")], [name],
                                             name=g.fresh("Identity")))
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [_value_info(onnx, n, t, _dynamic_for(dynamic_axes, n, t)) for n, t in zip(in_names, in_tensors)],
        [_value_info(onnx, n, t, _dynamic_for(dynamic_axes, n, t)) for n, t in zip(out_names, out_tensors)],
        initializer=g.initializers)
    opset = onnx.helper.make_opsetid("", opset_version)
    proto = onnx.helper.make_model(graph, opset_imports=[opset], producer_name="ember",
                                   ir_version=onnx.helper.find_min_ir_version_for([opset]))
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, lambda fh: fh.write(proto.SerializeToString()))
