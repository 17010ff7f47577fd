"""Loss functions with ``torch.nn.functional``'s signatures (those built on distances between
embeddings are in ``distance.py``).

Every loss is composed from differentiable ops, with three exceptions written as fused
primitives (each says why): cross-entropy with class indices, the last op of every
classifier's training step; binary cross-entropy, whose clamped log and gradient must stay
finite for probabilities of exactly 0 or 1; and nll_loss of float32/float64 (nll.py), one
node whose backward runs with its log_softmax's as one pass.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad, state
from ..backend import kernels
from ..backend.device import xp_of
from .activation import logsigmoid
from .softmax import _direct, log_softmax, row_runs, softmax
from .creation import full_like
from .indexing import where
from .nll import NllLoss

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss",
    "gaussian_nll_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
]

# nll_loss's one node: float32/float64 NumPy arrays (half dtypes and CUDA run its ops), under
# PyTorch's names for 1-2 dims and for more.
_NLL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_NLL_2D = NllLoss.node("NllLoss2DBackward0")

# PyTorch's names for dtypes, used where its error messages name one.
_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte", "bool": "Bool"}


def scalar_name(t: Tensor) -> str:
    return _SCALAR_NAMES[t.dtype.name]


# ---- reduction -------------------------------------------------------------------------
def get_reduction(size_average, reduce, reduction: str, extra: tuple = ()) -> str:
    """The reduction to apply, from ``reduction`` or the legacy ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in ("none", "mean", "sum") + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)


def _check_float(op: str, *tensors: Tensor) -> None:
    if not any(t.is_floating_point() for t in tensors):
        raise NotImplementedError(
            f"\"{op}\" not implemented for '{scalar_name(tensors[0])}': losses need floating "
            "point inputs (convert with .float())")


def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, reduction: str,
              mean_by_weight: bool) -> Tensor:
    """Reduce ``loss`` after scaling by an element-wise ``weight`` of the input's shape."""
    if weight is None:
        return reduce_loss(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return reduce_loss(loss, reduction)


# ---- regression ------------------------------------------------------------------------
@autocast_op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error; with ``weight``, the mean is sum(w * (x - y)^2) / sum(w)."""
    _warn_size(input, target)
    reduction = get_reduction(size_average, reduce, reduction)
    _check_float("mse_loss", input, target)
    diff = input - target
    return _weighted(diff * diff, weight, input, reduction, mean_by_weight=True)


@autocast_op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error; with ``weight``, the mean is sum(w * |x - y|) / sum(w)."""
    _warn_size(input, target)
    reduction = get_reduction(size_average, reduce, reduction)
    _check_float("l1_loss", input, target)
    return _weighted((input - target).abs(), weight, input, reduction, mean_by_weight=True)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    _warn_size(input, target)
    reduction = get_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _check_float("smooth_l1_loss", input, target)
    diff = input - target
    ad = diff.abs()
    if beta == 0:
        return reduce_loss(ad, reduction)
    return reduce_loss(where(ad < beta, 0.5 * diff * diff / beta, ad - 0.5 * beta), reduction)


@autocast_op("huber_loss")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1_loss times delta."""
    _warn_size(input, target)
    reduction = get_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_float("huber_loss", input, target)
    diff = input - target
    ad = diff.abs()
    loss = where(ad < delta, 0.5 * diff * diff, delta * (ad - 0.5 * delta))
    return _weighted(loss, weight, input, reduction, mean_by_weight=False)


# ---- classification with class indices --------------------------------------------------
_TARGET_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))


def _class_targets(op: str, input: Tensor, target: Tensor, weight: Tensor | None,
                   ignore_index: int) -> tuple[int, np.ndarray]:
    """Check class-index targets against the input; return the class count and int64 targets."""
    shape, target_shape = input._data.shape, target._data.shape  # (the arrays' own: no Size objects)
    nd = len(shape)
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    batch = target_shape[0] if target_shape else 0
    if nd >= 2 and batch != shape[0]:
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size "
                         f"({batch}).")
    if target._data.dtype not in _TARGET_DTYPES:
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {scalar_name(target)}. {op}: class "
            f"indices must be int64 (target.long()); class probabilities must have the input's "
            f"shape {list(input.shape)}")
    if nd <= 2 and len(target_shape) > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if nd == 1 and target.numel() != 1:
        raise ValueError("For 1D input, 1D target must have size 1, but got target size: "
                         f"{target.numel()}")
    if nd > 2 and target.shape != input.shape[:1] + input.shape[2:]:
        raise RuntimeError(f"Expected target size {list(input.shape[:1] + input.shape[2:])}, got "
                           f"{list(target.shape)}")
    classes = shape[0 if nd == 1 else 1]
    if weight is not None:
        if weight.numel() != classes:
            raise RuntimeError(
                f"weight tensor should be defined either for all {classes} classes or no classes but "
                f"got weight tensor of shape: {list(weight.shape)}")
        if weight.requires_grad and state.enabled:
            raise RuntimeError(
                f"The function '{op}' is not differentiable with respect to argument 'weight'. This "
                "input cannot have requires_grad True.")
    t = target._data.astype(np.int64, copy=False).reshape(-1)
    if t.size and 0 <= t.min() and t.max() < classes:  # every target a class: the mask below is not needed
        return classes, t
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds. {op}: the input has {classes} "
                         f"classes, so targets must be in [0, {classes - 1}] or ignore_index "
                         f"({ignore_index}).")
    return classes, t


def _rows(input: Tensor, classes: int, rows: int) -> Tensor:
    """The input as (rows, classes): the class dimension (1, or 0 for 1-D input) made last."""
    if input.ndim == 2:
        return input
    if input.ndim == 1:
        return input.reshape(1, classes)
    input = input.permute((0,) + tuple(range(2, input.ndim)) + (1,))
    return input.reshape(rows, classes)


def _row_weights(arr, t: np.ndarray, weight: Tensor | None, ignore_index: int) -> tuple:
    """(the class each row picks, each row's weight in ``arr``'s dtype, the weight sum that
    PyTorch's 'mean' divides by: the weights of the non-ignored targets)."""
    valid = t != ignore_index
    safe = np.where(valid, t, 0)  # ignored rows pick class 0 and then get weight 0
    w = valid if weight is None else np.where(valid, weight._data.reshape(-1).astype(arr.dtype)[safe], 0)
    w = w.astype(arr.dtype)
    return safe, w, float(w.sum())


def _nll_rows(logp: Tensor, t: np.ndarray, weight: Tensor | None, ignore_index: int,
              label_smoothing: float = 0.0) -> tuple[Tensor, float]:
    """Per-row negative log-likelihood of (rows, classes) log-probabilities, and the weight sum
    that PyTorch's 'mean' divides by (the weights of the non-ignored targets)."""
    rows, classes = logp.shape
    arr = logp._data
    safe, w, weight_sum = _row_weights(arr, t, weight, ignore_index)
    index = (Tensor._make(np.arange(rows, like=arr)), Tensor._make(safe))
    loss = -logp[index] * Tensor._make(w)
    if label_smoothing > 0:
        # PyTorch's smoothing: each valid row also pays the (class-weighted) mean of -logp
        spread = logp if weight is None else logp * Tensor._make(weight._data.reshape(-1).astype(arr.dtype))
        smooth = -spread.sum(1) * Tensor._make((t != ignore_index).astype(arr.dtype))
        loss = (1 - label_smoothing) * loss + (label_smoothing / classes) * smooth
    return loss, weight_sum


def _reduce_rows(loss: Tensor, weight_sum: float, reduction: str, shape: tuple) -> Tensor:
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    if weight_sum:
        return total / weight_sum
    # PyTorch's 0/0 when every target is ignored: the loss is nan, the gradient 0.
    return total + float("nan")


class CrossEntropy(Function):
    """Cross-entropy of (rows, classes) logits with int64 targets: per row, or summed or averaged
    over the non-ignored rows.

    Fused because it ends every classifier's training step: one pass computes the max-shifted
    log-sum-exp and the softmax that the gradient needs, where log_softmax + nll_loss would
    take several graph nodes and passes over the logits.
    """

    @staticmethod
    def forward(ctx, logits, target, ignore_index, reduction):
        x = logits._data
        need = ctx.needs_input_grad[0]
        loss, e, count = _cross_entropy_rows(x, target, ignore_index, need)
        if need:
            # each row's share of the loss: 1/count (mean) or 1, and 0 where the target is ignored;
            # the mask of kept rows only when some row is ignored (count says so)
            rows, divisor = target.shape[0], (count if reduction == "mean" and count else 1)
            valid = None if count == rows else target != ignore_index
            kept = xp_of(x).ones((rows, 1), x.dtype) if valid is None else valid.astype(x.dtype).reshape(-1, 1)
            ctx.target, ctx.valid, ctx.reduction, ctx.scale = target, valid, reduction, kept / divisor
            ctx.save_for_backward(logits, e)
        if reduction == "none":
            return loss
        out = loss.sum(dtype=x.dtype)
        if reduction == "mean":
            out = out / count if count else np.nan
        return xp_of(x).asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        logits, diff = ctx.saved_tensors
        g = grad.reshape(-1, 1) if ctx.reduction == "none" else grad
        if state.enabled:
            # create_graph: rebuild softmax - onehot from the logits so it is differentiable too
            onehot = np.zeros_like(diff._data)
            target, valid = ctx.target, ctx.valid
            rows = np.arange(target.shape[0], like=target)
            if valid is None:
                onehot[rows, target] = 1
            else:
                onehot[rows[valid], target[valid]] = 1
            diff = softmax(logits, 1) - Tensor._make(onehot)
        elif _direct(diff._data):  # no graph of the backward: one pass, split over the cores
            d = diff._data
            factor = g._data * ctx.scale  # (rows, 1): scale is, and g is 0-d or a column
            out = np.empty_like(d)
            k = kernels.cpu()
            if k is not None and d.size > _KERNEL_ELEMENTS and kernels.usable(d, factor) and d.flags.c_contiguous:
                with kernels.lock:
                    k.loss.scale_rows(d, np.ascontiguousarray(factor[:, 0]), out)
            else:
                row_runs(lambda lo, hi: np.multiply(d[lo:hi], factor[lo:hi], out=out[lo:hi]), d.shape[0],
                         d.shape[1])
            return Tensor._make(out), None, None, None
        return diff * (g * Tensor._make(ctx.scale)), None, None, None


# Logits up to this size take the small-logits kernels (backend/kernels/loss.py), larger
# float32 ones the wide-rows kernel, others NumPy's vectorized passes split across the cores;
# (128, 100) float32 runs about as fast either way.
_KERNEL_ELEMENTS = 1 << 13


def _cross_entropy_rows(x, target, ignore_index: int, softmax_too: bool):
    """Per row of (rows, classes) logits: the loss at the row's target (0 where ignored); with
    ``softmax_too``, softmax - onehot (the gradient before scaling); and the number of rows
    not ignored."""
    k = kernels.cpu()
    if k is not None and 0 < x.size <= _KERNEL_ELEMENTS and kernels.usable(x) and x.flags.c_contiguous:
        e, top, loss = np.empty_like(x), np.empty(x.shape[0], x.dtype), np.empty(x.shape[0], x.dtype)
        k.loss.shift_rows(x, e, top)
        np.exp(e, out=e)
        count = k.loss.cross_entropy_rows(x, e, top, target, ignore_index, loss, softmax_too)
        return loss, (e if softmax_too else None), count
    if k is not None and x.size > _KERNEL_ELEMENTS and x.dtype == np.float32 and kernels.usable(x) and \
            x.ndim == 2 and x.flags.c_contiguous:
        e, loss = np.empty_like(x), np.empty(x.shape[0], x.dtype)
        with kernels.lock:  # wide rows: one parallel loop (float64 logits keep NumPy's exp)
            count = k.loss.cross_entropy_wide(x, target, ignore_index, loss, e, softmax_too)
        return loss, (e if softmax_too else None), count
    rows = np.arange(target.shape[0], like=x)
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    e, top, total = _exp_shifted(x, softmax_too)
    picked_logit = x[rows, safe] - top[:, 0]
    loss = np.where(valid, np.log(total[:, 0]) - picked_logit, 0).astype(x.dtype, copy=False)
    if softmax_too:
        e[rows[valid], target[valid]] -= 1
    return loss, (e if softmax_too else None), int(valid.sum())


def _exp_shifted(x, softmax_too: bool):
    """For (rows, classes) logits: exp(x - max) (divided by its row sums when ``softmax_too``),
    the row maxima and the row sums of exp(x - max), both (rows, 1); in cache-sized runs of rows
    split across the cores for float32/float64 NumPy arrays."""
    top = np.empty((x.shape[0], 1), dtype=x.dtype, like=x)
    total = np.empty_like(top)
    e = np.empty_like(x)

    def run(lo, hi):
        xb, eb = x[lo:hi], e[lo:hi]
        if xb.size:
            np.max(xb, axis=1, keepdims=True, out=top[lo:hi])
        else:
            top[lo:hi] = 0
        np.subtract(xb, top[lo:hi], out=eb)
        np.exp(eb, out=eb)
        np.sum(eb, axis=1, keepdims=True, out=total[lo:hi])
        if softmax_too:
            eb /= total[lo:hi]
    if _direct(x) and x.ndim == 2:
        row_runs(run, x.shape[0], x.shape[1])
    else:
        run(0, x.shape[0])
    return e, top, total


@autocast_op("nll_loss")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at the class indices ``target``.

    Shape:
        input (C), (N, C) or (N, C, d1, ..., dK); target (), (N) or (N, d1, ..., dK), int64.
        'mean' divides by the summed weights of the non-ignored targets.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    classes, t = _class_targets("nll_loss", input, target, weight, ignore_index)
    _check_float("nll_loss", input)
    shape = target.shape if input.ndim > 1 else ()
    if type(input._data) is np.ndarray and input._data.dtype in _NLL_DTYPES:  # one node (nll.py)
        rows = _rows(input, classes, t.size)
        picks, w, weight_sum = _row_weights(rows._data, t, weight, ignore_index)
        node = NllLoss._node if input.ndim <= 2 else _NLL_2D
        whole = input.ndim <= 2 or input.ndim == 4  # PyTorch's other shapes view its 'none' rows
        loss = node.apply(rows, picks, w, weight_sum, reduction, shape if whole else (t.size,))
        return loss if whole or reduction != "none" else loss.reshape(shape)
    loss, weight_sum = _nll_rows(_rows(input, classes, t.size), t, weight, ignore_index)
    return _reduce_rows(loss, weight_sum, reduction, shape)


@autocast_op("cross_entropy")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and class indices or class probabilities.

    Args:
        target: int64 class indices (shape of ``input`` without the class dimension) or
            floating class probabilities (the shape of ``input``).
        weight: a weight per class; 'mean' then divides by the summed weights of the targets.
        ignore_index: class-index targets equal to it add nothing (and are not counted).
        label_smoothing: mixes the target with the uniform distribution by this amount.

    Shape:
        input (C), (N, C) or (N, C, d1, ..., dK): the class dimension is 1 (0 for 1-D input).
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim and not input.is_floating_point():
        raise NotImplementedError(
            f"\"cross_entropy\" not implemented for '{scalar_name(input)}': logits must be floating "
            "point (convert with .float())")
    if target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing)
    classes, t = _class_targets("cross_entropy", input, target, weight, ignore_index)
    shape = target.shape if input.ndim > 1 else ()
    if weight is None and label_smoothing <= 0:
        loss = CrossEntropy.apply(_rows(input, classes, t.size), t, ignore_index, reduction)
        return loss.reshape(shape) if reduction == "none" else loss
    logp = log_softmax(input, 0 if input.ndim == 1 else 1)
    loss, weight_sum = _nll_rows(_rows(logp, classes, t.size), t, weight, ignore_index,
                                 max(label_smoothing, 0.0))
    return _reduce_rows(loss, weight_sum, reduction, shape)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing):
    if not target.is_floating_point():
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {scalar_name(target)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    dim = 0 if input.ndim == 1 else 1
    if input.ndim == 0:
        raise IndexError("Dimension specified as 1 but tensor has no dimensions")
    classes = input.shape[dim]
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes but "
            f"got weight tensor of shape: {list(weight.shape)}")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    loss = log_softmax(input, dim) * target
    if weight is not None:
        loss = loss * weight.reshape((classes,) + (1,) * max(input.ndim - 2, 0))
    if reduction == "none":
        return -loss.sum(dim)
    if reduction == "sum":
        return -loss.sum()
    rows = input.numel() // classes if classes else 0
    return -loss.sum() / rows if rows else loss.sum() + float("nan")


# ---- binary classification ----------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)) element-wise, each log clamped at -100 as in PyTorch.

    Fused because the clamps must shape the gradient too: it is (x - t) / max(x (1 - x), 1e-12),
    finite for probabilities of exactly 0 or 1 (saturated sigmoids), where a composed
    clamp(log(x)) would back-propagate 0/0.
    """

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        xa, ta = x._data, t._data
        log_x = np.maximum(np.log(xa), -100)
        log_1mx = np.maximum(np.log1p(-xa), -100)
        return -(ta * log_x + (1 - ta) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = grad * (x - t) / (x * (1 - x)).clamp_min(1e-12)
        if ctx.needs_input_grad[1]:
            gt = -grad * x.logit()  # unclamped, as PyTorch: infinite where x is 0 or 1
        return gx, gt


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape).

    Args:
        weight: rescales each element's loss; broadcast to the input's shape.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _check_float("binary_cross_entropy", input)
    if target.dtype is not input.dtype:
        raise RuntimeError(
            f"Found dtype {scalar_name(target)} but expected {scalar_name(input)}: "
            f"binary_cross_entropy needs a target of the input's dtype (target.to({input.dtype}))")
    x = input._data
    if not bool(np.all((x >= 0) & (x <= 1))):
        raise RuntimeError("all elements of input should be between 0 and 1 (binary_cross_entropy "
                           "takes probabilities: apply sigmoid first, or use "
                           "binary_cross_entropy_with_logits)")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        try:
            np.broadcast_shapes(weight.shape, input.shape)
        except ValueError:
            raise RuntimeError(
                f"binary_cross_entropy: weight of shape {list(weight.shape)} is not broadcastable "
                f"to the input's shape {list(input.shape)}") from None
        loss = loss * weight
    return reduce_loss(loss, reduction)


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed from the logits without overflow.

    Args:
        weight: rescales each element's loss (broadcast).
        pos_weight: weight of the positive term, one per class (broadcast along the last dim).
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _check_float("binary_cross_entropy_with_logits", input)
    # -[p t log s(x) + (1 - t) log(1 - s(x))] with log(1 - s(x)) = log s(x) - x; logsigmoid
    # never overflows, so logits of any size give a finite loss and the gradient s(x) - t.
    log_sig = logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - log_sig
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sig
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


# ---- divergences and likelihoods -----------------------------------------------------------
@autocast_op("kl_div")
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``.

    Args:
        reduction: 'batchmean' (the sum divided by the batch size) is the mathematical KL
            divergence; 'mean' divides by the number of elements.
        log_target: ``target`` holds log-probabilities too.
    """
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning, stacklevel=2)
    reduction = get_reduction(size_average, reduce, reduction, extra=("batchmean",))
    if not input.is_floating_point() or not target.is_floating_point():
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return reduce_loss(loss, reduction)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under a Poisson distribution of rate ``input``.

    Args:
        log_input: ``input`` is the log of the rate (loss exp(x) - t x) rather than the rate
            (loss x - t log(x + eps)).
        full: add Stirling's approximation of log(t!) for targets above 1.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        above = target > 1
        t = where(above, target, 1)  # keeps log() finite where the term is masked out
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + where(above, stirling, 0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under Gaussians of mean ``input`` and variance ``var``.

    Shape:
        var: the input's shape, or one dimension short of it, or with one dimension of size 1
        (one variance shared along it).
    """
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = full_like(input, var)
    elif bool(np.any(var._data < 0)):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # The clamp keeps log(var) finite; done out of the graph so var's gradient is unchanged.
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


# ---- margins ---------------------------------------------------------------------------------
@autocast_op("soft_margin_loss")
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for targets y of 1 or -1, computed without overflow."""
    reduction = get_reduction(size_average, reduce, reduction)
    return reduce_loss(-logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(input) per class, averaged over the classes (last dim).

    Shape:
        input and target (C) or (N, C), target of 0s and 1s; 'none' gives one loss per sample.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss.sum(-1) / input.shape[-1], reduction)


@autocast_op("multi_margin_loss")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: sum over classes j != y of max(0, margin - x[y] + x[j])^p / C.

    Shape:
        input (C) or (N, C); target () or (N), int64 class indices.
    """
    reduction = get_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    if input.ndim > 2 or input.ndim == 2 and input.shape[1] == 0:
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    classes = input.shape[-1] if input.ndim else 1
    rows = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != rows:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
            f"samples (batch size). Expected target size [{rows}], but got {list(target.shape)}. "
            f"Input has shape {list(input.shape)}.")
    if target.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {scalar_name(target)}")
    t = target._data.reshape(-1)
    if bool(np.any((t < 0) | (t >= classes))):
        raise RuntimeError(f"target out of range (multi_margin_loss: {classes} classes)")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight.shape)}")
    x = input.reshape(rows, classes)
    index = (Tensor._make(np.arange(rows, like=t)), Tensor._make(t))
    hinge = (margin - x[index].unsqueeze(1) + x).clamp_min(0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[Tensor._make(t)].unsqueeze(1)
    others = xp_of(t).ones((rows, classes), dtype=x._data.dtype)
    others[index[0]._data, t] = 0  # the target class itself contributes nothing
    loss = (hinge * Tensor._make(others)).sum(1) / classes
    return reduce_loss(loss.reshape(target.shape), reduction)
