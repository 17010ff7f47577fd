"""Embedding lookups: ``embedding`` (a row gather whose gradient is a scatter-add into the
weight) and ``embedding_bag`` (sums, means or maxima of bags of rows), composed from it.

These are ``torch.nn.functional``'s forms; ``torch.embedding`` itself takes (weight, input)
in the other order, so nothing here is exported at the top level.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..backend import kernels
from ..backend.compat import add_at
from ..backend.device import xp_of
from .creation import zeros
from .indexing import where
from .join import cat

__all__: list = []  # nn.functional re-exports embedding and embedding_bag


# ---- the weight's gradient: rows added at their indices ---------------------------------
def _row_scale(indices, num_weights: int, padding_idx: int | None, scale_grad_by_freq: bool):
    """Per looked-up row, the factor of its gradient (0 for padding_idx, 1/count with
    scale_grad_by_freq), or None when every factor is 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    scale = xp_of(indices).ones(indices.shape, dtype=np.float64)
    if scale_grad_by_freq:
        scale /= np.bincount(indices, minlength=num_weights)[indices]
    if padding_idx is not None:
        scale[indices == padding_idx] = 0
    return scale


def _scatter_rows(rows, indices, num_weights: int, scale):
    """zeros((num_weights, D)) with ``rows[k] * scale[k]`` added to row ``indices[k]``."""
    dtype = rows.dtype
    k = kernels.cpu()
    if k is not None and kernels.usable(rows):
        out = np.zeros((num_weights, rows.shape[1]), dtype)
        factors = np.empty(0, dtype) if scale is None else scale.astype(dtype)
        k.scatter.add_rows(out, np.ascontiguousarray(indices, dtype=np.int64), np.ascontiguousarray(rows),
                           factors)
        return out
    if type(rows) is np.ndarray and dtype in (np.float32, np.float64):
        # A sparse (num_weights, N) selection matrix times the rows, one nonzero per column:
        # 2x faster than np.add.at on flattened positions and 9x faster than np.add.at on
        # rows (the word language model's 700 lookups in a 10000 x 200 table).
        import scipy.sparse
        n = indices.size
        data = np.ones(n, dtype) if scale is None else scale.astype(dtype)
        select = scipy.sparse.csc_matrix((data, indices, np.arange(n + 1)), shape=(num_weights, n))
        return np.ascontiguousarray(select @ rows)
    out = np.zeros((num_weights, rows.shape[1]), dtype=dtype, like=rows)
    add_at(out, indices, rows if scale is None else rows * scale.astype(dtype)[:, None])
    return out


class Embedding(Function):
    """weight[indices]: rows of the table, one per index."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.num_weights, ctx.indices = weight._data.shape[0], indices
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight._data[indices]

    @staticmethod
    def backward(ctx, grad):
        return EmbeddingBackward.apply(grad, ctx.num_weights, ctx.indices, ctx.padding_idx,
                                       ctx.scale_grad_by_freq), None, None, None


class EmbeddingBackward(Function):
    """Embedding's adjoint: the rows of ``grad`` summed into a (num_weights, D) table."""

    @staticmethod
    def forward(ctx, grad, num_weights, indices, padding_idx, scale_grad_by_freq):
        flat = indices.reshape(-1)
        scale = _row_scale(flat, num_weights, padding_idx, scale_grad_by_freq)
        ctx.indices, ctx.scale = indices, scale
        return _scatter_rows(grad._data.reshape(flat.size, grad._data.shape[-1]), flat, num_weights, scale)

    @staticmethod
    def backward(ctx, gg):
        rows = Embedding.apply(gg, ctx.indices, None, False)
        if ctx.scale is not None:
            scale = ctx.scale.astype(gg._data.dtype).reshape(ctx.indices.shape + (1,))
            rows = rows * Tensor._make(scale)
        return rows, None, None, None, None


# ---- embedding ---------------------------------------------------------------------------
def _check_indices(input: Tensor, op: str, name: str = "#1 'indices'") -> np.ndarray:
    if not isinstance(input, Tensor) or input._data.dtype not in (np.int64, np.int32):
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(
            f"Expected tensor for argument {name} to have one of the following scalar types: "
            f"Long, Int; but got {got} instead (while checking arguments for {op})")
    return input._data


def _check_weight(weight: Tensor) -> None:
    if weight._data.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D (num_embeddings, embedding_dim), got shape "
                           f"{list(weight.shape)}")


def _padding_index(padding_idx: int | None, num_weights: int) -> int | None:
    if padding_idx is None:
        return None
    if not -num_weights <= padding_idx < num_weights:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_weights


def _check_sparse(sparse: bool) -> None:
    if sparse:
        raise NotImplementedError(
            "sparse=True: ember has no sparse tensors, so embeddings get dense gradients only; "
            "use sparse=False (with any optimizer, e.g. optim.Adam instead of SparseAdam)")


def _renorm_(weight: Tensor, indices, max_norm: float, norm_type: float) -> None:
    """Scale, in place and outside the graph, the looked-up rows whose norm exceeds max_norm
    down to max_norm (PyTorch's embedding_renorm_, with its 1e-7 guard)."""
    rows = np.unique(indices)
    with no_grad():
        table = weight._data
        norms = np.linalg.norm(table[rows].astype(np.float64), ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            scale = max_norm / (norms[big] + 1e-7)
            table[rows[big]] *= scale.astype(table.dtype)[:, None]
            weight._vc[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` at the integer ``input``.

    Args:
        padding_idx: a row that gets no gradient.
        max_norm: rows looked up are first renormalised in place to at most this norm.
        norm_type: the p of the p-norm for max_norm.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
    Shape:
        input (*) int64 or int32, weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
    """
    idx = _check_indices(input, "embedding")
    _check_weight(weight)
    _check_sparse(sparse)
    n = weight._data.shape[0]
    padding_idx = _padding_index(padding_idx, n)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx[(idx < 0) | (idx >= n)].reshape(-1)[0])
        raise IndexError(f"index out of range in self (index {bad} for an embedding table of "
                         f"{n} rows: valid indices are 0 to {n - 1})")
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


# ---- embedding_bag -----------------------------------------------------------------------
def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """(flat indices, bag of each index, number of bags) from a 2-D input or 1-D input + offsets."""
    if input._data.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a "
                             "mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets)}")
        b, length = input._data.shape
        return input._data.reshape(-1), xp_of(input._data).arange(b).repeat(length), b
    if input._data.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    off = _check_indices(offsets, "embedding_bag", "'offsets'").astype(np.int64)
    n = input._data.size
    if off.size and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                           f"start from position 0. However, got {int(off[0])}")
    if off.size and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {int(off[-1])}")
    if np.any(np.diff(off) < 0):
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {off.tolist()}")
    starts, end = (off[:-1], int(off[-1]) if off.size else 0) if include_last_offset else (off, n)
    bag = np.searchsorted(starts, xp_of(off).arange(n), side="right") - 1
    bag[end:] = -1  # past the last offset: in no bag
    return input._data, bag, starts.size


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, without materialising the lookups
    per bag.

    Bags are the rows of a 2-D ``input`` (B, N), or the slices of a 1-D ``input`` that start
    at ``offsets`` (with ``include_last_offset`` the last offset closes the last bag).
    ``per_sample_weights`` (mode "sum" only) scales each looked-up row; ``padding_idx``
    entries are left out of their bag (and of a mean's count). Empty bags give zeros.

    Shape:
        output (number of bags, embedding_dim).
    """
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
                         f"then it must have the same shape as the input ({input.shape})")
    if weight._data.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    _check_indices(input, "embedding_bag")
    flat, bag, n_bags = _bags(input, offsets, include_last_offset)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    _check_sparse(sparse)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported "
            f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
    n = weight._data.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        k = int(np.flatnonzero((flat < 0) | (flat >= n))[0])
        raise RuntimeError(f"Index {k} of input takes value {int(flat[k])} which is not in the valid "
                           f"range [0, {n})")
    padding_idx = _padding_index(padding_idx, n)
    if max_norm is not None:
        _renorm_(weight, flat, max_norm, norm_type)

    keep = bag >= 0
    if padding_idx is not None:
        keep &= flat != padding_idx
    pos = np.flatnonzero(keep)
    members = Tensor._make(flat[pos])
    rows = embedding(members, weight, scale_grad_by_freq=scale_grad_by_freq)  # (K, D)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[Tensor._make(pos)].unsqueeze(1)
    bag_of = bag[pos]
    dim = weight._data.shape[1]
    if mode != "max":
        out = zeros(n_bags, dim, dtype=rows.dtype, device=weight.device)
        out = out.index_add(0, Tensor._make(bag_of), rows)
        if mode == "mean":
            counts = np.maximum(np.bincount(bag_of, minlength=n_bags), 1).astype(rows._data.dtype)
            out = out / Tensor._make(counts[:, None])
        return out
    return _bag_max(rows, bag_of, n_bags)


def _bag_max(rows: Tensor, bag_of, n_bags: int) -> Tensor:
    """Per bag, the element-wise maximum of its rows (0 for an empty bag): the rows laid out as
    (bags, longest bag, D) with -inf filling, then one max over the middle dim."""
    k, dim = rows._data.shape
    counts = np.bincount(bag_of, minlength=n_bags)
    width = int(counts.max()) if n_bags else 0
    if width == 0:
        return zeros(n_bags, dim, dtype=rows.dtype, device=rows.device)
    xp = xp_of(bag_of)
    first = np.cumsum(counts) - counts
    slot = xp.arange(k) - first[bag_of]  # bags are contiguous runs of rows
    layout = xp.full((n_bags, width), k)  # row k is the -inf filler
    layout[bag_of, slot] = xp.arange(k)
    filler = Tensor._make(xp_of(rows._data).full((1, dim), -np.inf, dtype=rows._data.dtype))
    maxima = cat([rows, filler])[Tensor._make(layout)].max(1).values
    empty = Tensor._make((counts == 0)[:, None])
    return where(empty, Tensor._make(np.zeros((), dtype=rows._data.dtype, like=rows._data)), maxima)
