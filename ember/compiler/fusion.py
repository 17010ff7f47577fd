"""Fusion: runs of element-wise steps in a captured graph become one compiled loop.

``fuse(steps, meta, output)`` finds each run of consecutive steps that apply element-wise
primitives (arithmetic, ReLU, square roots, small powers, and float32 exp, tanh, sigmoid,
SiLU and both GELUs)
to tensors of one shape and dtype, each operand of the output's shape, one element, or
broadcast along the rows or columns (a bias, a per-row statistic), and replaces the run with
one step: a ``CompiledFunction`` whose forward is one loop (``backend/kernels/fused.py``)
that writes only the values later steps or the result use, and whose backward recomputes
the run's values and applies the chain rule in one more loop. The intermediate values are
neither written to memory nor saved for backward.

Values keep eager ember's bits, and so do gradients, but for a value that feeds three or
more gradients into one sum, or a broadcast operand used twice (their flows are added in
another order: a rounding apart; see fused.py). A run over channels-last values (layout.py)
loops over their row-major (N, H, W, C) views, its other operands single elements. A replay
whose tensors do not have the layouts the run was fused for (a parameter made
non-contiguous) or that runs where the compiled kernels are off (a forked DataLoader worker),
and a backward that is itself differentiated (``create_graph``), run the original steps
instead.
"""
from __future__ import annotations

import numpy as np

from .._layout import NHWC, in_dim_order
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, state
from ..backend import kernels
from ..ops import activation, elementwise, math as math_ops
from .graph import Const, Slot, Step, last_reads
from .layout import CL, layout_of

_MIN_STEPS = 2  # a run of one op gains nothing


def _primitive_ops() -> dict:
    """Primitive class -> the fused op it is (Pow and Gelu by their constant argument, in
    ``_by_constant``)."""
    unary = {cls.__name__: cls for cls in math_ops._Unary.__subclasses__()}
    ops = {elementwise.Add: "add", elementwise.Sub: "sub", elementwise.Mul: "mul",
           elementwise.Div: "div", elementwise.Neg: "neg", math_ops.Relu: "relu", elementwise.Pow: None,
           activation.Silu: "silu", activation.Gelu: None}
    for name in ("Exp", "Tanh", "Sigmoid", "Sqrt", "Rsqrt"):
        ops[unary[name]] = name.lower()
    return ops


_OPS = _primitive_ops()
_POWERS = {2.0: "square", 3.0: "cube", -1.0: "reciprocal"}  # Pow by these exponents


class CompiledFunction(Function):
    """The autograd node of a fused run (PyTorch's name for a compiled graph's node). Each
    run subclasses it with its ``region``."""
    region: "Region"

    @staticmethod
    def forward(ctx, *operands):
        region = ctx.region
        outs = region.program.forward([region.loop_view(t._data) for t in operands], region.shape, region.cols)
        ctx.save_for_backward(*operands)
        outs = [region.logical(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        region = ctx.region
        operands = ctx.saved_tensors
        needed = tuple(j for j, need in enumerate(ctx.needs_input_grad) if need)
        if state.enabled:  # create_graph: the original steps, whose backward can be differentiated
            return region.backward_by_steps(operands, grads, needed)
        arrays = [np.ascontiguousarray(region.loop_view(g._data)) for g in grads]
        flows = region.program.backward([region.loop_view(t._data) for t in operands], arrays, needed,
                                        region.shape, region.cols)
        out = [None] * len(operands)
        for j, flow in zip(needed, flows):
            out[j] = Tensor._make(region.logical(flow))  # of the output's shape: the engine sums a broadcast operand's
        return tuple(out)


class Region:
    """A fused run: its ``program``, the ``operands`` it reads (specs: slots, constants,
    tensors from before the call) with their shapes, and the steps it replaces."""

    def __init__(self, steps: list, program, operands: list, shapes: list, shape: tuple, cols: int,
                 calls: list, channels_last: bool = False):
        self.steps = steps
        self.program = program
        self.operands = operands
        self.shapes = shapes
        # A channels-last run loops over its (N, H, W, C) arrays, row-major views of its
        # operands and results; its other operands are single elements.
        self.channels_last = channels_last
        self.shape = (shape[0], *shape[2:], shape[1]) if channels_last else shape
        self.cols = cols
        self.dtype = program.dtype
        self.calls = calls  # per step: (apply, args as ("operand", j), ("value", k) or constants)
        self.function = type("CompiledFunction", (CompiledFunction,), {"region": self,
                                                                       "__module__": __name__})

    def step(self, outs: tuple, grad: bool, amp) -> Step:
        name = "ember.compile>fused(" + ", ".join(s.name.rsplit(">", 1)[-1] for s in self.steps) + ")"
        return Step(self.run, tuple(self.operands), None, outs, grad, amp, name)

    def run(self, *operands):
        if kernels.cpu() is None:
            return self.run_steps(operands)
        for t, shape in zip(operands, self.shapes):
            a = t._data
            if type(a) is not np.ndarray or a.dtype != self.dtype or a.shape != shape or a.size > 1 and (
                    layout_of(a) != CL if self.channels_last else not a.flags.c_contiguous):
                return self.run_steps(operands)
        return self.function.apply(*operands)

    def loop_view(self, a: np.ndarray) -> np.ndarray:
        """An operand's or incoming gradient's array as the loop reads it."""
        return a.transpose(NHWC) if self.channels_last and a.size > 1 else a

    def logical(self, a: np.ndarray) -> np.ndarray:
        """A result the loop wrote, as the (N, C, H, W) array it is."""
        return in_dim_order(a, NHWC) if self.channels_last else a

    def run_steps(self, operands) -> tuple:
        """The outputs as the original steps compute them."""
        values = []
        for apply, args in self.calls:
            values.append(apply(*[_argument(a, operands, values) for a in args]))
        return tuple(values[k] for k in self.program.outputs)

    def backward_by_steps(self, operands, grads, needed) -> tuple:
        with enable_grad():
            outs = self.run_steps(operands)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad]
        from ..autograd import grad as autograd_grad
        got = autograd_grad([o for o, _ in pairs], [operands[j] for j in needed], [g for _, g in pairs],
                            create_graph=True, allow_unused=True)
        out = [None] * len(operands)
        for j, g in zip(needed, got):
            out[j] = g
        return tuple(out)


def _argument(arg, operands, values):
    kind, k = arg
    return operands[k] if kind == "operand" else values[k] if kind == "value" else k


def fuse(steps: list, meta: list, output) -> list:
    """``steps`` with each fusible run replaced by one step; ``meta`` gives each slot's
    (shape, dtype, array type, C-contiguous)."""
    if kernels.cpu() is None:
        return steps
    from ..backend.kernels import fused
    last = last_reads(steps, output)
    out, i = [], 0
    while i < len(steps):
        end, region = _grow(steps, i, meta, last, fused)
        if region is None:
            out.append(steps[i])
            i += 1
        else:
            out.append(region)
            i = end
    return out


def _grow(steps: list, start: int, meta: list, last: dict, fused):
    """The longest fusible run from ``start``: (its end, its fused step), or (start, None)."""
    first = steps[start]
    if type(first.outs) is not int:
        return start, None
    shape, dtype, array_type, layout, _ = meta[first.outs]
    if array_type is not np.ndarray or dtype not in (np.float32, np.float64) or not shape:
        return start, None
    n = int(np.prod(shape))
    builder = _Builder(shape, dtype, n, meta, fused, layout == CL)
    end = start
    while end < len(steps) and builder.add(steps[end], first.grad, first.amp):
        end += 1
    if end - start < _MIN_STEPS:
        return start, None
    region_steps = steps[start:end]
    outs = [s.outs for s in region_steps]
    keep = [k for k, slot in enumerate(outs) if last.get(slot, -1) >= end]  # read after the run
    if not keep:
        return start, None
    program = fused.Program(builder.instructions, keep, builder.layouts, dtype)
    region = Region(region_steps, program, builder.operands, builder.shapes, shape, builder.cols,
                    builder.calls, builder.channels_last)
    return end, region.step(tuple(outs[k] for k in keep), first.grad, first.amp)


class _Builder:
    """Grows a run step by step, checking each fits: same output shape, dtype, grad and
    autocast mode, operands in a layout the loop reads."""

    def __init__(self, shape, dtype, n, meta, fused, channels_last: bool):
        self.shape, self.dtype, self.n, self.meta, self.fused = shape, np.dtype(dtype), n, meta, fused
        self.channels_last = channels_last  # the run's results are (N, C, H, W) channels-last
        self.instructions, self.calls = [], []
        self.operands, self.shapes, self.layouts = [], [], []
        self.values: dict = {}   # slot -> instruction index
        self.cols = 1
        self._broadcast = False  # a col or row operand has fixed cols

    def add(self, step: Step, grad, amp) -> bool:
        fn = step.fn
        cls = getattr(fn, "__self__", None)
        if (getattr(fn, "__func__", None) is not Function.apply.__func__ or cls not in _OPS or step.kwargs
                or step.grad is not grad or step.amp != amp or type(step.outs) is not int):
            return False
        out_shape, out_dtype, out_type, out_layout, _ = self.meta[step.outs]
        if out_shape != self.shape or out_dtype != self.dtype or out_type is not np.ndarray or \
                (self.channels_last and out_layout != CL):
            return False
        op, tensor_args = _OPS[cls], step.args
        if op is None:  # Pow, Gelu: the op its constant argument says
            op, tensor_args = _by_constant(cls, step.args), step.args[:1]
        if op is None or (op in self.fused.TRANSCENDENTAL and
                          (self.dtype != np.float32 or self.n < kernels.POINTWISE_MIN)):
            return False  # eager computes them with NumPy there
        args = []
        saved = (len(self.operands), self.cols, self._broadcast)
        for spec in tensor_args:
            arg = self._argument(spec)
            if arg is None:  # undo the operands this step added
                del self.operands[saved[0]:], self.shapes[saved[0]:], self.layouts[saved[0]:]
                self.cols, self._broadcast = saved[1], saved[2]
                return False
            args.append(arg)
        self.values[step.outs] = len(self.instructions)
        self.instructions.append((op, tuple(args)))
        call = [("value" if kind == "v" else "operand", j) for kind, j in args]
        self.calls.append((fn, tuple(call) + tuple(("constant", c.t if type(c) is Const else c)
                                                  for c in step.args[len(args):])))
        return True

    def _argument(self, spec):
        """("v", k) for a value of the run, ("in", j) for an operand (added if new), None if
        the loop cannot read it."""
        if type(spec) is Slot and spec.i in self.values:
            return "v", self.values[spec.i]
        for j, known in enumerate(self.operands):
            if _same_spec(known, spec):
                return "in", j
        layout = self._layout(spec)
        if layout is None:
            return None
        self.operands.append(spec)
        self.shapes.append(layout[1])
        self.layouts.append(layout[0])
        return "in", len(self.operands) - 1

    def _layout(self, spec):
        """(layout, shape) of a tensor operand, or None."""
        if type(spec) is Slot:
            shape, dtype, array_type, layout, _ = self.meta[spec.i]
        elif type(spec) is Const or isinstance(spec, Tensor):
            a = spec.t._data if type(spec) is Const else spec._data
            shape, dtype, array_type, layout = a.shape, a.dtype, type(a), layout_of(a)
        else:
            return None
        if array_type is not np.ndarray or dtype != self.dtype or len(shape) > len(self.shape):
            return None
        size = int(np.prod(shape))
        if size == 1:
            return "scalar", shape
        if layout != (CL if self.channels_last else "C"):
            return None
        if shape == self.shape:
            return "full", shape
        if self.channels_last:
            return None  # a broadcast operand's rows and columns are the row-major run's
        padded = (1,) * (len(self.shape) - len(shape)) + tuple(shape)
        for k in range(1, len(self.shape)):
            if padded[:k] == (1,) * k and padded[k:] == self.shape[k:]:
                return self._fixed("col", size, shape)
            if padded[:k] == self.shape[:k] and padded[k:] == (1,) * (len(self.shape) - k):
                return self._fixed("row", self.n // size, shape)
        return None

    def _fixed(self, layout: str, cols: int, shape):
        """A broadcast operand: the run's loop has ``cols`` columns, if no other says otherwise."""
        if self._broadcast and cols != self.cols:
            return None
        self.cols, self._broadcast = cols, True
        return layout, shape


def _by_constant(cls, args):
    """The fused op of ``x ** e`` for a constant exponent eager computes with products, and of
    GELU by its ``approximate``; None for others."""
    if len(args) != 2:
        return None
    if cls is activation.Gelu:
        return {"none": "gelu", "tanh": "gelu_tanh"}.get(args[1]) if type(args[1]) is str else None
    if type(args[1]) is not Const or args[1].t._data.ndim:
        return None
    return _POWERS.get(float(args[1].t._data))


def _same_spec(a, b) -> bool:
    if type(a) is Slot or type(b) is Slot:
        return type(a) is type(b) and a.i == b.i
    return (a.t if type(a) is Const else a) is (b.t if type(b) is Const else b)
