"""Linear algebra: matmul (batched, broadcast), linear (the layer's fused x @ W.T + b),
einsum and what is composed from them (tensordot, addmm, kron, cross, trace, ...)."""
from __future__ import annotations

import math
import string
from collections import Counter

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import gemm
from ..backend.device import xp_of
from ..backend.dtypes import float32_of, round_to
from ._out import with_out
from .indexing import index_select, where
from .reduce import sum_of

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "inner", "einsum", "tensordot",
           "addmm", "addmv", "addr", "baddbmm", "addbmm", "kron", "cross", "trace"]


def _check_same(a: Tensor, b: Tensor, op: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype}. "
            "Convert one with .to(other.dtype).")


def stacks_of_one_batch(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a @ b`` is one float32 product per matrix of a batch both share (no broadcast)."""
    return a.ndim == b.ndim >= 3 and a.shape[:-2] == b.shape[:-2] and a.dtype == b.dtype == np.float32 and \
        type(a) is type(b) is np.ndarray


def product_laid_out(a: np.ndarray, b: np.ndarray, strides: tuple) -> np.ndarray:
    """``a @ b`` (stacks_of_one_batch) in a new array whose memory is ordered as that of an array
    with ``strides``: an operand's gradient laid out as the operand. Attention's heads are views
    of a packed projection, (L, N, 3E) seen as (N, heads, L, head_dim); their gradients, laid out
    as (L, N, heads, head_dim), reshape back to the projection's as views, where contiguous ones
    were copied once more on the way (2048 x 128 elements each, three a layer)."""
    shape = a.shape[:-1] + b.shape[-1:]
    outermost_first = sorted(range(len(shape)), key=lambda d: -strides[d])
    memory = np.empty([shape[d] for d in outermost_first], np.float32)
    return gemm.matmul(a, b, out=memory.transpose(np.argsort(outermost_first)))


class MatMul(Function):
    """a @ b; with ``order`` (strides), stacks of one batch give their result in memory ordered
    as an array of those strides (matmul_in_order)."""

    @staticmethod
    def forward(ctx, a, b, order=None):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        ctx.a_ndim, ctx.b_ndim = a._data.ndim, b._data.ndim
        needs = ctx.needs_input_grad  # the strides serve the backward's layouts and ``order`` only
        laid_out = (order is not None or needs[0] or needs[1]) and stacks_of_one_batch(a._data, b._data)
        ctx.strides = (a._data.strides, b._data.strides) if laid_out else None
        if order is not None and laid_out:
            return product_laid_out(a._data, b._data, order)
        if ctx.a_ndim > 2 and ctx.b_ndim == 2:
            # A batch times one matrix as one GEMM: NumPy runs one small BLAS call (or, for a
            # transposed matrix, a non-BLAS loop) per batch element.
            a2 = a._data.reshape(math.prod(a._data.shape[:-1]), a._data.shape[-1])
            out = gemm.matmul(a2, b._data).reshape(a._data.shape[:-1] + b._data.shape[-1:])
        else:
            out = gemm.matmul(a._data, b._data)
        return round_to(out, a._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if ctx.strides is not None and not state.enabled and type(grad._data) is np.ndarray and \
                grad._data.dtype == np.float32:
            g = grad._data  # not recorded: each gradient in its operand's layout
            return (None if b is None else Tensor._make(product_laid_out(g, np.swapaxes(b._data, -1, -2),
                                                                          ctx.strides[0])),
                    None if a is None else Tensor._make(product_laid_out(np.swapaxes(a._data, -1, -2), g,
                                                                          ctx.strides[1])))
        if ctx.a_ndim == 1 and ctx.b_ndim == 1:  # dot product
            return (grad * b.conj() if b is not None else None), (grad * a.conj() if a is not None else None)
        # conj: PyTorch's conjugate Wirtinger gradients (a no-op on real tensors).
        # Vectors act as a row (a) or a column (b) matrix; the extra dim is dropped again.
        g = grad
        a1 = ctx.a_ndim == 1
        b1 = ctx.b_ndim == 1
        if a1:
            g = g.unsqueeze(-2)
        if b1:
            g = g.unsqueeze(-1)
        ga = gb = None
        if b is not None:
            bm = b.unsqueeze(-1) if b1 else b
            ga = matmul(g, bm.mT.conj())
            if a1:
                ga = ga.squeeze(-2)
        if a is not None and ctx.b_ndim == 2 and ctx.a_ndim > 2:
            # A matrix shared by a batch: one GEMM over the flattened batch instead of a
            # batched product summed afterwards (1.5x faster on (32, 128, 768) @ (768, 768)).
            gb = matmul(a.reshape(-1, a.shape[-1]).mT.conj(), g.reshape(-1, g.shape[-1]))
        elif a is not None:
            am = a.unsqueeze(0) if a1 else a
            gb = matmul(am.mT.conj(), g)
            if b1:
                gb = gb.squeeze(-1)
        return ga, gb


@autocast_op("matmul")
@with_out("exact")
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: vectors, matrices, broadcast batches."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are "
            f"{input._data.ndim}D and {other._data.ndim}D")
    _check_same(input, other, "matmul")
    k1 = input._data.shape[-1]
    k2 = other._data.shape[-2] if other._data.ndim > 1 else other._data.shape[0]
    if k1 != k2:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_rows(input)}x{k1} and {k2}x"
            f"{other._data.shape[-1] if other._data.ndim > 1 else 1}): input shape "
            f"{list(input.shape)}, other shape {list(other.shape)}")
    if input._data.ndim > 2 or other._data.ndim > 2:
        try:
            np.broadcast_shapes(input._data.shape[:-2], other._data.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dimensions {list(input.shape[:-2])} and {list(other.shape[:-2])} "
                f"cannot be broadcast (shapes {list(input.shape)} and {list(other.shape)})") from None
    return _MATMUL_NODES.get((input._data.ndim, other._data.ndim), _BATCHED).apply(input, other)


# PyTorch's node names of matmul by operand dims (a batched product ends in a view there)
_MATMUL_NODES = {(1, 1): MatMul.node("DotBackward0"), (2, 1): MatMul.node("MvBackward0"),
                 (2, 2): MatMul._node, (1, 2): MatMul.node("SqueezeBackward4")}
_BATCHED = MatMul.node("UnsafeViewBackward0")


def matmul_in_order(input: Tensor, other: Tensor, strides: tuple) -> Tensor:
    """``matmul`` of two stacks of matrices with the same batch dims; float32 ones give their
    result in memory ordered as an array of ``strides``: multi-head attention's per-head
    outputs, (N, heads, L, head_dim), laid out as (L, N, heads, head_dim), merge back into
    rows as a view instead of a copy."""
    return _BATCHED.apply(input, other, strides)


def _rows(t: Tensor) -> int:
    return math.prod(t._data.shape[:-1]) if t._data.ndim > 1 else 1


@autocast_op("mm")
@with_out("exact")
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors."""
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got {input._data.ndim}D and {mat2._data.ndim}D")
    return matmul(input, mat2)


def _check_batches(input: Tensor, mat2: Tensor, op: str) -> None:
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError(f"{op}: expected 3D tensors, got {input._data.ndim}D and {mat2._data.ndim}D")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise RuntimeError(f"{op}: expected batch2 of shape [{input._data.shape[0]}, "
                           f"{input._data.shape[2]}, *] for batch1 {list(input.shape)}, got "
                           f"{list(mat2.shape)}")


@autocast_op("bmm")
@with_out("exact")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size."""
    _check_batches(input, mat2, "bmm")
    return matmul(input, mat2)


@autocast_op("mv")
@with_out("exact")
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"mv: expected a matrix and a vector, got {input._data.ndim}D and {vec._data.ndim}D")
    return matmul(input, vec)


@autocast_op("dot")
@with_out("exact")
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.shape != other._data.shape:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and src "
            f"[{other._data.shape[0]}] to have the same number of elements, but got "
            f"{input._data.shape[0]} and {other._data.shape[0]} elements respectively")
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors: out[i, j] = input[i] * vec2[j]."""
    if input._data.ndim != 1 or vec2._data.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, got {input._data.ndim}D and {vec2._data.ndim}D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims: out[..., ...] = sum_k input[..., k] * other[..., k]."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


class Linear(Function):
    """x @ W.T + b in one node: one GEMM forward, two backward (measured to pay on MLPs)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              weight if ctx.needs_input_grad[0] else None)
        x_data = x._data
        # One GEMM over all rows: NumPy's broadcast matmul against the transposed weight skips
        # BLAS (17x slower on (32, 64, 128) x (128, 512)).
        rows = x_data.reshape(math.prod(x_data.shape[:-1]), x_data.shape[-1]) if x_data.ndim > 2 else x_data
        w, b = weight._data, None if bias is None else bias._data
        if b is not None and type(rows) is np.ndarray and rows.ndim == 2 and rows.dtype == w.dtype == b.dtype:
            out = gemm.linear(rows, w.T, b)  # the bias added within the product
        else:
            out = gemm.matmul(rows, w.T)
            if b is not None:
                out += b
        out = out.reshape(x_data.shape[:-1] + w.shape[:1]) if x_data.ndim != 2 else out
        return round_to(out, x_data.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        if not state.enabled:  # the backward not recorded: the products on the arrays
            grads = linear_grads_of_pieces(ctx, (grad,))
            if grads is not None:
                return grads
        gx = matmul(grad, weight) if weight is not None else None
        gw = None
        if x is not None:
            g2 = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
            x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = matmul(g2.mT, x2)
        gb = None
        if ctx.needs_input_grad[2]:
            gb = grad.sum(tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad
        return gx, gw, gb


_GEMM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def linear_grads_of_pieces(node, pieces) -> tuple | None:
    """The input gradients of the linear ``node``, not recorded, from its output's gradient:
    whole (one piece: Linear's own backward, the two GEMMs and the bias sum on the arrays,
    without the tensor ops' dispatch), or as consecutive pieces of the last dim (what split and
    chunk cut it into: attention's packed q, k and v), without joining them: each piece's
    products write the rows of the weight's gradient it owns and add into the input's; the
    bias's gradient is each piece's column sums (a Transformer layer's 2048 x 384 join took 0.6
    ms). None where ``node`` is not a linear layer or the pieces are not float32/float64 NumPy
    arrays of one dtype (the tensor ops', or the split's own joining backward, run instead)."""
    if not isinstance(node, Linear):
        return None
    arrays = [g._data for g in pieces]
    dtype = arrays[0].dtype
    if dtype not in _GEMM_DTYPES or any(type(a) is not np.ndarray or a.dtype != dtype for a in arrays):
        return None
    x, weight = node.saved_tensors
    flat = [a.reshape(-1, a.shape[-1]) for a in arrays]
    widths = [g.shape[1] for g in flat]
    gx = gw = gb = None
    if weight is not None:
        w = weight._data
        total = np.empty((flat[0].shape[0], w.shape[1]), dtype)
        start = 0
        for g, n in zip(flat, widths):
            gemm.matmul(g, w[start:start + n], out=total, accumulate=start > 0)
            start += n
        gx = Tensor._make(total.reshape(arrays[0].shape[:-1] + w.shape[1:]))
    if x is not None:
        xa = x._data
        rows = xa.reshape(-1, xa.shape[-1]) if xa.ndim != 2 else xa
        gw_array = np.empty((sum(widths), rows.shape[1]), dtype)
        start = 0
        for g, n in zip(flat, widths):
            gemm.matmul(g.T, rows, out=gw_array[start:start + n])
            start += n
        gw = Tensor._make(gw_array)
    if node.needs_input_grad[2]:
        sums = [sum_of(g, (0,), False).astype(dtype, copy=False) for g in flat]
        gb = Tensor._make(sums[0] if len(sums) == 1 else np.concatenate(sums))
    return gx, gw, gb


_LINEAR_NODES = (Linear._node, Linear.node("MmBackward0"))  # by "bias is None"
_LINEAR_VIEW = Linear.node("ViewBackward0")


@autocast_op("linear")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias.

    Shape: input (*, in_features), weight (out_features, in_features), bias (out_features),
    output (*, out_features).
    """
    if weight._data.ndim not in (1, 2) or input._data.ndim == 0:
        raise RuntimeError(f"linear: expected a 1D or 2D weight and an input of at least 1D, got weight "
                           f"{list(weight.shape)} and input {list(input.shape)}")
    _check_same(input, weight, "linear")
    k = weight._data.shape[-1]
    if input._data.shape[-1] != k:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_rows(input)}x{input._data.shape[-1]} and "
            f"{k}x{weight._data.shape[0] if weight._data.ndim == 2 else 1}): input shape "
            f"{list(input.shape)}, weight shape {list(weight.shape)} (in_features={k})")
    if weight._data.ndim == 1:
        out = matmul(input, weight)
    elif bias is None or bias._data.shape in ((), (1,), weight._data.shape[:1]):
        # PyTorch's node: addmm (mm without bias) on a matrix; a view of it otherwise
        node = _LINEAR_NODES[bias is None] if input._data.ndim == 2 else _LINEAR_VIEW
        return node.apply(input, weight, bias)
    else:  # a bias of another shape broadcasts as in any sum
        out = _LINEAR_NODES[True].apply(input, weight, None)
    if bias is None:
        return out
    try:
        fits = np.broadcast_shapes(out._data.shape, bias._data.shape) == out._data.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"linear: bias of shape {list(bias.shape)} does not broadcast to the output "
                           f"shape {list(out.shape)} (weight shape {list(weight.shape)})")
    return out + bias


# ---- einsum ------------------------------------------------------------------------------
# Subscripts; sorted as NumPy and PyTorch sort the implicit output (uppercase first).
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _use_blas(terms: list, out: str) -> bool:
    """Whether NumPy's optimizing einsum (tensordot, BLAS) beats its C loop: yes for matrix-
    product-like contractions (measured 7x on attention scores), no for element-wise products
    summed over an axis (measured 13x slower)."""
    if len(terms) != 2:
        return len(terms) > 2
    a, b = set(terms[0]), set(terms[1])
    return bool((a & b) - set(out)) and bool((a - b) or (b - a))


class Einsum(Function):
    @staticmethod
    def forward(ctx, spec, *ops):
        terms, out, _, _ = spec
        ctx.spec = spec
        needs = ctx.needs_input_grad[1:]
        # operand j is needed for the gradient of every other operand
        ctx.save_for_backward(*(o if any(needs[:j] + needs[j + 1:]) else None for j, o in enumerate(ops)))
        arrays = [o._data for o in ops]
        res = np.einsum(",".join(terms) + "->" + out, *map(float32_of, arrays), optimize=_use_blas(terms, out))
        res = round_to(res, arrays[0].dtype)
        if any(np.may_share_memory(res, a) for a in arrays):
            res = res.copy()  # NumPy returns views for transposes and diagonals
        return res

    @staticmethod
    def backward(ctx, grad):
        ops = ctx.saved_tensors
        return (None,) + tuple(_einsum_grad(ctx.spec, i, grad, ops) if need else None
                               for i, need in enumerate(ctx.needs_input_grad[1:]))


def _einsum_grad(spec, i: int, grad: Tensor, ops) -> Tensor:
    """The gradient of operand i: the output's gradient contracted with the other operands
    into operand i's subscripts. A repeated subscript (a diagonal) becomes a fresh one tied
    to it by an identity matrix; one summed in operand i only is broadcast by a ones vector."""
    terms, out, sizes, free = spec
    like, dt = grad._data, grad._data.dtype
    fresh = iter(free)
    target, consts, const_terms = "", [], []
    for c in terms[i]:
        if c in target:
            f = next(fresh)
            target += f
            consts.append(Tensor._make(xp_of(like).eye(sizes[c], dtype=dt)))
            const_terms.append(c + f)
        else:
            target += c
    others = [j for j in range(len(terms)) if j != i]
    covered = set(out) | set("".join(const_terms))
    for j in others:
        covered.update(c for c, n in zip(terms[j], ops[j]._data.shape) if n == sizes[c])
    for c in dict.fromkeys(terms[i]):
        if c not in covered:
            consts.append(Tensor._make(xp_of(like).ones(sizes[c], dtype=dt)))
            const_terms.append(c)
    eq = ",".join([out] + [terms[j] for j in others] + const_terms) + "->" + target
    return einsum(eq, grad, *(ops[j] for j in others), *consts)


def _einsum_spec(equation: str, shapes: list) -> tuple:
    """(operand subscripts, output subscripts, size of each subscript, unused letters), with
    '...' spelled out as letters and an implicit output made explicit."""
    eq = equation.replace(" ", "")
    for pos, c in enumerate(eq):
        if c not in _LETTERS and c not in ",.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {pos} in the equation "
                               "string, subscripts must be in [a-zA-Z]")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {'more' if len(shapes) > len(terms) else 'fewer'} operands were "
                           f"provided than specified in the equation ({len(shapes)} operands for "
                           f"'{equation}')")
    free = [c for c in _LETTERS if c not in eq]
    ell_dims = []
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        if t.replace("...", "", 1).count("."):
            raise RuntimeError(f"einsum(): found '.' for operand {i} that is not part of any ellipsis")
        explicit = len(t.replace("...", ""))
        if "..." not in t and explicit != len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({explicit}) does not match the "
                f"number of dimensions ({len(shape)}) for operand {i} and no ellipsis was given")
        if explicit > len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({explicit}) is more "
                               f"than the number of dimensions ({len(shape)}) for operand {i}")
        ell_dims.append(len(shape) - explicit if "..." in t else 0)
    n_ell = max(ell_dims, default=0)
    ell, free = "".join(free[:n_ell]), free[n_ell:]
    terms = [t.replace("...", ell[n_ell - n:]) for t, n in zip(terms, ell_dims)]  # right-aligned
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if c not in lhs and c not in ell:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for "
                                   "any input operand")
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    else:
        counts = Counter("".join(terms))
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    sizes: dict = {}
    for i, (t, shape) in enumerate(zip(terms, shapes)):
        seen: dict = {}
        for c, n in zip(t, shape):
            if seen.setdefault(c, n) != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes "
                                   f"don't match, {seen[c]} != {n}")
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n not in (1, prev):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does not "
                                   f"broadcast with previously seen size {prev}")
    return tuple(terms), out, sizes, tuple(free)


def _sublist(sub) -> str:
    try:
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    except (IndexError, TypeError):
        raise ValueError(f"einsum(): subscripts in sublist format must be integers in [0, 52) or "
                         f"Ellipsis, got {sub}") from None


@autocast_op("einsum")
def einsum(*args) -> Tensor:
    """Einstein summation: ``einsum('bij,bjk->bik', a, b)``. Supports '...', implicit output
    (subscripts appearing once, sorted), repeated subscripts (diagonals), size-1 broadcasting,
    operands passed as a list, and the sublist format ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at "
                         "least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, ops = args[0], args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = tuple(ops[0])
    else:
        out = args[-1] if len(args) % 2 else None
        pairs = args[:-1] if out is not None else args
        equation = ",".join(_sublist(s) for s in pairs[1::2])
        equation += "" if out is None else "->" + _sublist(out)
        ops = pairs[0::2]
    for o in ops:
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): operands must be tensors, got {type(o).__name__}")
        if o._data.dtype != ops[0]._data.dtype:
            raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                               f"{ops[0].dtype} and {o.dtype}. Convert one with .to(other.dtype).")
    spec = _einsum_spec(equation, [o._data.shape for o in ops])
    return Einsum.apply(spec, *ops)


@autocast_op("tensordot")
def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of a with the first of b, or the dims listed in
    ``dims = ([a dims], [b dims])``."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims in [0, {min(a.ndim, b.ndim)}], got {dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length, got {da} and {db}")
    da, db = [a._wrap_dim(d) for d in da], [b._wrap_dim(d) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} "
                               f"in dim {x} and second has size {b.shape[y]} in dim {y}")
    sa = _LETTERS[:a.ndim]
    sb = "".join(sa[da[db.index(j)]] if j in db else _LETTERS[a.ndim + j] for j in range(b.ndim))
    out = "".join(c for i, c in enumerate(sa) if i not in da) + "".join(
        c for j, c in enumerate(sb) if j not in db)
    return einsum(f"{sa},{sb}->{out}", a, b)


# ---- composed products ---------------------------------------------------------------------
def _scaled_sum(input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """beta * input + alpha * product; with beta == 0 input's values (nan and inf too) never
    reach the result, while it still gets its (zero) gradient."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return where(Tensor._make(np.zeros((), dtype=np.bool_, like=product._data)), input, product)
    return product + (input if beta == 1 else input * beta)


@autocast_op("addmm")
@with_out("exact")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


@autocast_op("addmv")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


@autocast_op("addr")
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    return _scaled_sum(input, outer(vec1, vec2), beta, alpha)


@autocast_op("baddbmm")
@with_out("exact")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


@autocast_op("addbmm")
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * sum over the batch of batch1[b] @ batch2[b]."""
    _check_batches(batch1, batch2, "addbmm")
    return _scaled_sum(input, einsum("bij,bjk->ik", batch1, batch2), beta, alpha)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks input[i, j] * other, tiled over input's shape."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    # out[(i * b0 + k), ...] = a[i, ...] * b[k, ...]: interleave a's dims with b's, then merge pairs
    a = input.reshape([d for s in sa for d in (s, 1)])
    b = other.reshape([d for s in sb for d in (1, s)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


@autocast_op("cross")
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (by default the first dim of size 3)."""
    if input._data.ndim != other._data.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions (got shapes "
                           f"{list(input.shape)} and {list(other.shape)})")
    try:
        shape = np.broadcast_shapes(input._data.shape, other._data.shape)
    except ValueError:
        raise RuntimeError(f"cross: shapes {list(input.shape)} and {list(other.shape)} do not "
                           "broadcast") from None
    a, b = input.expand(shape), other.expand(shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input (shape {list(shape)})")
    d = a._wrap_dim(dim)
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {shape[d]} "
                           f"(shape {list(shape)})")
    i1, i2 = (Tensor._make(np.array(p, dtype=np.int64)) for p in ((1, 2, 0), (2, 0, 1)))
    return (index_select(a, d, i1) * index_select(b, d, i2)
            - index_select(a, d, i2) * index_select(b, d, i1))


@autocast_op("trace")
def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers sum to int64)."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    r = Tensor._make(np.arange(min(input._data.shape), like=input._data))
    return input[r, r].sum()


TENSOR_METHODS = {name: globals()[name] for name in __all__ if name not in ("einsum", "tensordot")}
INPLACE = ["addmm", "addmv", "addr", "baddbmm", "addbmm"]
