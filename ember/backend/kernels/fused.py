"""Element-wise programs compiled into one loop: the kernels of ember.compile's fusion
(``compiler/fusion.py``).

A ``Program`` is a run of element-wise ops over one output shape, as instructions
``(op, args)``: each arg is ``("in", j)``, the program's input j, or ``("v", k)``, the value of
instruction k. Its forward loop reads each input element once, computes every instruction in
registers and writes only the program's outputs; its backward loop recomputes the values
and runs the chain rule in reverse in the same pass, writing an array for the inputs that
need a gradient. Eager ember makes one pass over memory (and one temporary array) per op.

Each op is computed as eager ember computes it, so the values have eager's bits: the same
IEEE operations in the same order, and exp, tanh, sigmoid, SiLU and the GELUs through the
element functions eager's float32 kernels use (``pointwise.py``; eager takes them from
``kernels.POINTWISE_MIN`` elements, so ``compiler/fusion.py`` fuses them only there). Those
kernels are compiled with fused multiply-adds (``contract``), so a program using one is too,
and every value and gradient term of its own passes through ``_kept``, which keeps LLVM from
contracting a product into the sum that uses it (eager rounds both). Gradients have eager's bits too,
except where a value feeds three or more gradients into one sum, or a broadcast input feeds
two: eager adds them in the engine's order, a program in its own (a rounding apart). Equal
flows share one array, and a flow that is an incoming gradient unchanged is that array.

Inputs come in four layouts, each read in place (C-contiguous): ``full`` (the output's
shape), ``scalar`` (one element), ``col`` (the output's last dims: a bias, read at the
column) and ``row`` (the output's first dims, size one after them: a per-row statistic).
With ``col`` or ``row`` inputs the loop runs over (rows, cols), else over blocks of the flat
elements; from ``PARALLEL_FROM`` elements over both cores.

The Python source of each loop is generated from the instructions and compiled by Numba in
memory, once per source per process; nothing generated is written to disk or read back.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import lock, pointwise, simd, vmath

PARALLEL_FROM = pointwise.PARALLEL_FROM
_BLOCK = 1 << 14  # elements a thread takes at a time (flat loops)
_JIT = dict(nogil=True, fastmath=False, error_model="numpy", boundscheck=False)

# op -> its value from its operands' names ({0}, {1}), as eager ember computes it
_FORWARD = {
    "add": "{0} + {1}",
    "sub": "{0} - {1}",
    "mul": "{0} * {1}",
    "div": "{0} / {1}",
    "neg": "-{0}",
    "relu": "(ZERO if {0} < ZERO else {0})",   # NaN and -0.0 pass (select.relu)
    "sqrt": "math.sqrt({0})",
    "rsqrt": "ONE / math.sqrt({0})",           # eager: 1 / np.sqrt(x)
    "square": "{0} * {0}",                     # x ** 2
    "cube": "{0} * {0} * {0}",                 # x ** 3
    "reciprocal": "ONE / {0}",                 # x ** -1
    "exp": "EXP({0})",
    "tanh": "TANH({0})",
    "sigmoid": "SIGMOID({0})",
    "silu": "SILU({0})",
    "gelu": "GELU({0})",
    "gelu_tanh": "GELU_TANH({0})",
}
# op -> per operand, its gradient from the incoming gradient {g}, the value {y} and the
# operands, in the order of operations of eager ember's backward
_GRADIENT = {
    "add": ("{g}", "{g}"),
    "sub": ("{g}", "-{g}"),
    "mul": ("{g} * {1}", "{g} * {0}"),
    "div": ("{g} / {1}", "-{g} * ({0} / ({1} * {1}))"),
    "neg": ("-{g}",),
    "relu": ("(ZERO if {y} <= ZERO else {g})",),  # NaN values pass the gradient
    "sqrt": ("{g} / ({y} * TWO)",),
    "rsqrt": ("{g} * {y} * {y} * {y} * NEG_HALF",),
    "square": ("{g} * (TWO * {0})",),          # Pow's b * a ** (b - 1), a ** 1 being a
    "cube": ("{g} * (THREE * ({0} * {0}))",),
    "reciprocal": ("{g} * (NEG_ONE * (ONE / ({0} * {0})))",),
    "exp": ("{g} * {y}",),
    "tanh": ("TANH_GRAD({g}, {y})",),
    "sigmoid": ("SIGMOID_GRAD({g}, {y})",),
    "silu": ("SILU_GRAD({g}, {0})",),
    "gelu": ("GELU_GRAD({g}, {0})",),
    "gelu_tanh": ("GELU_TANH_GRAD({g}, {0})",),
}
# float32 only, from POINTWISE_MIN elements: eager's kernels (pointwise.py) compute them there
TRANSCENDENTAL = frozenset({"exp", "tanh", "sigmoid", "silu", "gelu", "gelu_tanh"})

_compiled: dict = {}  # (source, dtype, parallel, contract) -> Numba dispatcher
_ZERO = np.int32(0)


@intrinsic
def _kept(typingctx, value, zero):
    """``value`` itself, through an integer xor with ``zero`` (0, a kernel argument LLVM cannot
    see through): a product passed on this way is never contracted with the sum that uses
    it into one fused multiply-add, which would round once where eager rounds twice."""
    if value != types.float32 or not isinstance(zero, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v, z = args
        bits = builder.xor(builder.bitcast(v, ir.IntType(32)), builder.trunc(z, ir.IntType(32))
                           if zero.bitwidth > 32 else z)
        return builder.bitcast(bits, ir.FloatType())
    return types.float32(value, zero), codegen


def _names(dtype) -> dict:
    """The globals a loop of ``dtype`` reads: constants of that dtype, ember's element functions."""
    f = np.dtype(dtype).type
    return {"math": math, "np": np, "ZERO": f(0), "ONE": f(1), "TWO": f(2), "THREE": f(3),
            "NEG_ONE": f(-1), "NEG_HALF": f(-0.5), "EXP": vmath.exp32, "TANH": pointwise._tanh,
            "SIGMOID": pointwise._sigmoid, "TANH_GRAD": pointwise._tanh_grad,
            "SIGMOID_GRAD": pointwise._sigmoid_grad, "SILU": pointwise._silu, "SILU_GRAD": pointwise._silu_grad,
            "GELU": pointwise._gelu, "GELU_GRAD": pointwise._gelu_grad, "GELU_TANH": pointwise._gelu_tanh,
            "GELU_TANH_GRAD": pointwise._gelu_tanh_grad, "KEPT": _kept}


class Program:
    """Instructions over the elements of one shape: ``instructions`` [(op, args)],
    ``outputs`` (the instructions whose values are written out), ``layouts`` (one per input,
    "full", "scalar", "col" or "row"), ``dtype`` (float32 or float64)."""

    def __init__(self, instructions: list, outputs: list, layouts: list, dtype):
        self.instructions = instructions
        self.outputs = outputs
        self.layouts = layouts
        self.dtype = np.dtype(dtype)
        # exp, tanh and sigmoid as eager's kernels compute them: with fused multiply-adds
        self.contract = any(op in TRANSCENDENTAL for op, _ in instructions)
        self._kernels: dict = {}  # (needed inputs or None for forward, parallel) -> dispatcher
        self._plans: dict = {}    # needed inputs -> the backward loop's source and what it writes

    # ---- running ----------------------------------------------------------------------
    def forward(self, arrays: list, shape: tuple, cols: int) -> list:
        """The outputs' arrays, of ``shape``, from the inputs' ``arrays`` (their layouts'
        shapes, C-contiguous); ``cols`` is the length of a ``col`` input (1 without)."""
        outs = [np.empty(shape, self.dtype) for _ in self.outputs]
        self._run(None, self.source, arrays, outs, cols)
        return outs

    def backward(self, arrays: list, grads: list, needed: tuple, shape: tuple, cols: int) -> list:
        """For each input j in ``needed``, the gradient flowing to it from each element, an
        array of the output's ``shape`` (the caller sums a broadcast input's), from the
        inputs' ``arrays`` and the outputs' incoming ``grads`` (C-contiguous, of ``shape``).
        Inputs whose flows are equal share one array; a flow that is an incoming gradient
        unchanged is that gradient's array (nothing written)."""
        plan = self._plans.get(needed)
        if plan is None:
            plan = self._plans[needed] = self._backward_code(needed)
        source, stores, sources = plan
        outs = [np.empty(shape, self.dtype) for _ in stores]
        if outs:
            self._run(needed, lambda: source, list(arrays) + list(grads), outs, cols)
        return [outs[m] if kind == "new" else grads[m] for kind, m in sources]

    def _run(self, needed, make_source, arrays: list, outs: list, cols: int) -> None:
        n = outs[0].size if outs else 0
        if n == 0:
            return
        parallel = n >= PARALLEL_FROM
        kernel = self._kernels.get((needed, parallel))
        if kernel is None:
            kernel = self._kernels[(needed, parallel)] = _compile(make_source(), self.dtype, parallel,
                                                                  self.contract)
        flat = [a.reshape(-1) for a in arrays] + [o.reshape(-1) for o in outs]
        if parallel:
            with lock:
                kernel(n, cols, _ZERO, *flat)
        else:
            kernel(n, cols, _ZERO, *flat)

    # ---- code ---------------------------------------------------------------------------
    def source(self) -> str:
        """The Python source of the forward loop."""
        return self._loop([f"o{q}" for q in range(len(self.outputs))],
                          self._values() + [f"o{q}b[i] = v{k}" for q, k in enumerate(self.outputs)])

    def _backward_code(self, needed: tuple) -> tuple:
        """(the source of the backward loop for the inputs ``needed``, the flows it writes, per
        needed input ("new", store) or ("grad", q))."""
        lines, stores, sources = self._reverse(needed)
        source = self._loop([f"g{q}" for q in range(len(self.outputs))] + [f"d{m}" for m in range(len(stores))],
                            self._values() + lines + [f"d{m}b[i] = {name}" for m, name in enumerate(stores)])
        return source, stores, sources

    def _loop(self, params: list, body: list) -> str:
        """The kernel over ``body`` (lines reading ``x{j}``, and the block's slices of the
        full-shape arrays, ``<name>b``, at ``[i]``). Each block of elements, or each row, takes
        slices of the full-shape arrays and indexes them from 0: indices offset by the block's
        start kept LLVM from vectorizing the loop (an exp 2.2 ns an element on one thread
        instead of 1.0)."""
        ins = [f"i{j}" for j in range(len(self.layouts))]
        full = [f"i{j}" for j, lay in enumerate(self.layouts) if lay == "full"] + params
        head = [f"def kernel(n, cols, z, {', '.join(ins + params)}):"]
        head += [f"    x{j} = i{j}[0]" for j, lay in enumerate(self.layouts) if lay == "scalar"]
        index = {"full": "b[i]", "col": "[i]", "row": "[r]"}  # full: the block's slice
        loads = [f"x{j} = i{j}{index[lay]}" for j, lay in enumerate(self.layouts) if lay != "scalar"]
        if any(lay in ("col", "row") for lay in self.layouts):
            loop = ["    for r in prange(n // cols):",
                    "        wide()",
                    "        lo, hi = r * cols, r * cols + cols"]
        else:
            loop = [f"    for b in prange((n + {_BLOCK - 1}) // {_BLOCK}):",
                    "        wide()",
                    f"        lo, hi = b * {_BLOCK}, min(b * {_BLOCK} + {_BLOCK}, n)"]
        loop += [f"        {', '.join(a + 'b' for a in full)} = {', '.join(a + '[lo:hi]' for a in full)}",
                 "        for i in range(hi - lo):"]
        return "\n".join(head + loop + [" " * 12 + line for line in loads + body]) + "\n"

    def _operand(self, arg) -> str:
        kind, k = arg
        return f"x{k}" if kind == "in" else f"v{k}"

    def _kept(self, expression: str) -> str:
        """``expression``, kept from contracting with what uses it where the loop may contract."""
        return f"KEPT({expression}, z)" if self.contract else expression

    def _values(self) -> list:
        return [f"v{k} = " + self._kept(_FORWARD[op].format(*map(self._operand, args)))
                for k, (op, args) in enumerate(self.instructions)]

    def _reverse(self, needed: tuple) -> tuple:
        """The reverse pass: the adjoint of each value on a path from a needed input, its
        contributions added in the order the instructions consume it, last first. Returns
        (its lines, the distinct flows to store, per needed input ("new", store) or ("grad",
        q) for output q's incoming gradient unchanged)."""
        live_inputs = set(needed)
        live = set()  # instructions whose value depends on a needed input
        for k, (_, args) in enumerate(self.instructions):
            if any((kind == "in" and j in live_inputs) or (kind == "v" and j in live) for kind, j in args):
                live.add(k)
        lines, adjoint, incoming = [], {}, {}  # adjoint: ("v", k) or ("in", j) -> its variable
        for q, k in enumerate(self.outputs):
            if k in live:
                lines.append(f"a{k} = g{q}b[i]")
                adjoint[("v", k)] = f"a{k}"
                incoming[f"a{k}"] = q  # holds output q's gradient as it came
        for k in range(len(self.instructions) - 1, -1, -1):
            g = adjoint.get(("v", k))
            if g is None:
                continue
            op, args = self.instructions[k]
            operands = [self._operand(a) for a in args]
            for position, arg in enumerate(args):
                kind, j = arg
                if not ((kind == "in" and j in live_inputs) or (kind == "v" and j in live)):
                    continue
                term = _GRADIENT[op][position].format(*operands, g=g, y=f"v{k}")
                name = adjoint.get(arg)
                if term == g and name is None:  # the flow passes unchanged: the same variable
                    adjoint[arg] = g
                    continue
                term = term if term == g else self._kept(term)
                target = f"b{j}" if kind == "in" else f"a{j}"
                lines.append(f"{target} = {term}" if name is None else f"{target} = {name} + ({term})")
                incoming.pop(target, None)
                adjoint[arg] = target
        stores, sources = [], []
        for j in needed:
            name = adjoint.get(("in", j), "ZERO")
            if name in incoming:
                sources.append(("grad", incoming[name]))
                continue
            if name not in stores:
                stores.append(name)
            sources.append(("new", stores.index(name)))
        return lines, stores, sources


def _compile(source: str, dtype, parallel: bool, contract: bool):
    key = (source, dtype.str, parallel, contract)
    kernel = _compiled.get(key)
    if kernel is None:
        from numba import prange
        scope = dict(_names(dtype), prange=prange, wide=simd.wide)
        # the source is built above from fixed templates, never from user input
        exec(compile(source, "<ember fused kernel>", "exec"), scope)  # noqa: S102
        flags = dict(_JIT, fastmath={"contract"}) if contract else _JIT
        kernel = _compiled[key] = njit(parallel=parallel, **flags)(scope["kernel"])
    return kernel
