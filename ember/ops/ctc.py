"""ctc_loss: connectionist temporal classification, by dynamic programming in log space.

The forward pass runs the alpha recursion over the blank-extended target, the backward
pass the beta recursion; both in NumPy on the host, one sample at a time, vectorised
over the target positions. The gradient is PyTorch's: d loss / d log_probs[t, c] =
exp(log_probs[t, c]) - exp(log(sum of alpha * beta over positions holding c) + nll - log_probs[t, c]),
i.e. the gradient with respect to the logits when log_probs come from log_softmax
(it gives the same result through log_softmax as the exact derivative would).
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.function import Function
from .loss import get_reduction

__all__ = ["ctc_loss"]


def _logsumexp(*terms: np.ndarray) -> np.ndarray:
    stacked = np.stack(terms)
    top = stacked.max(axis=0)
    safe = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(stacked - safe).sum(axis=0)) + safe


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` moved k places towards higher indices (k < 0: lower), -inf where nothing moved in."""
    out = np.full_like(a, -np.inf)
    if abs(k) < len(a):
        if k > 0:
            out[k:] = a[:-k]
        else:
            out[:k] = a[-k:]
    return out


def _extended(target: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray]:
    """The target with blanks around every label, and where the skip (s - 2 -> s) is allowed."""
    ext = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    ext[1::2] = target
    skip = np.zeros(len(ext), dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    return ext, skip


def _sample(lp: np.ndarray, target: np.ndarray, blank: int) -> tuple[float, np.ndarray]:
    """nll and d nll / d log_probs for one sample's (T, C) log-probabilities."""
    steps = lp.shape[0]
    ext, skip = _extended(target, blank)
    size = len(ext)
    if steps == 0:
        nll = 0.0 if size == 1 else np.inf
        return nll, np.zeros_like(lp)
    alpha = np.full((steps, size), -np.inf, dtype=lp.dtype)
    alpha[0, :min(2, size)] = lp[0, ext[:min(2, size)]]
    for t in range(1, steps):
        prev = alpha[t - 1]
        alpha[t] = lp[t, ext] + _logsumexp(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), -np.inf))
    ends = alpha[-1, -2:] if size > 1 else alpha[-1, -1:]
    nll = -_logsumexp(*ends)
    beta = np.full((steps, size), -np.inf, dtype=lp.dtype)
    beta[-1, -min(2, size):] = lp[-1, ext[-min(2, size):]]
    # the skip from s to s + 2 is allowed where it is allowed into s + 2
    skip_from = np.zeros(size, dtype=bool)
    skip_from[:-2] = skip[2:]
    for t in range(steps - 2, -1, -1):
        nxt = beta[t + 1]
        beta[t] = lp[t, ext] + _logsumexp(nxt, _shift(nxt, -1), np.where(skip_from, _shift(nxt, -2), -np.inf))
    ab = alpha + beta
    lcab = np.full_like(lp, -np.inf)
    for c in np.unique(ext):
        lcab[:, c] = _logsumexp(*ab[:, ext == c].T)
    with np.errstate(invalid="ignore", over="ignore"):
        grad = np.exp(lp) - np.exp(lcab + nll - lp)
    return nll, grad


class CTCLoss(Function):
    """Per-sample negative log-likelihoods (N,) of (T, N, C) log-probabilities."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = log_probs.detach().cpu().numpy()
        n = lp.shape[1]
        nll = np.zeros(n, dtype=lp.dtype)
        grad = np.zeros_like(lp)
        for i in range(n):
            length = input_lengths[i]
            nll[i], grad[:length, i] = _sample(lp[:length, i], targets[i], blank)
            if zero_infinity and np.isinf(nll[i]):
                nll[i], grad[:, i] = 0, 0
        ctx.grad, ctx.device = grad, log_probs.device
        return Tensor._make(nll).to(log_probs.device)._data

    @staticmethod
    def backward(ctx, grad):
        g = Tensor._make(ctx.grad).to(ctx.device)
        return g * grad.reshape(1, -1, 1), None, None, None, None, None


def _lengths(value, name: str, batch: int) -> np.ndarray:
    arr = np.asarray(value.detach().cpu().numpy() if isinstance(value, Tensor) else value).reshape(-1)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: {name} must be integers, got {arr.dtype}")
    if arr.shape[0] != batch:
        raise RuntimeError(f"ctc_loss: {name} must have {batch} entries (one per sample), got {arr.shape[0]}")
    return arr.astype(np.int64)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of (T, N, C) (or unbatched (T, C)) log-probabilities against targets
    (N, S) padded or concatenated 1-D, with the given per-sample lengths.

    Args:
        reduction: 'mean' divides each loss by its target length, then averages; 'sum'; 'none'.
        zero_infinity: impossible alignments (infinite loss) give 0 and no gradient.
    """
    reduction = get_reduction(None, None, reduction)
    unbatched = log_probs.dim() == 2
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got {list(log_probs.shape)}")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    steps, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    in_len = _lengths(input_lengths, "input_lengths", batch)
    tg_len = _lengths(target_lengths, "target_lengths", batch)
    if (in_len > steps).any() or (in_len < 0).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value "
                           f"{int(in_len.max())} (while checking arguments for ctc_loss)")
    tg = targets.detach().cpu().numpy().astype(np.int64)
    if unbatched:
        tg = tg.reshape(1, -1)
    if tg.ndim == 1:  # concatenated targets
        offsets = np.concatenate([[0], np.cumsum(tg_len)])
        per_sample = [tg[offsets[i]:offsets[i + 1]] for i in range(batch)]
    else:
        if (tg_len > tg.shape[1]).any():
            raise RuntimeError(f"Expected tensor to have size at least {int(tg_len.max())} at dimension 1, but got "
                               f"size {tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss)")
        per_sample = [tg[i, :tg_len[i]] for i in range(batch)]
    for t in per_sample:
        if ((t < 0) | (t >= classes) | (t == blank)).any():
            raise RuntimeError(f"ctc_loss: target labels must be in [0, {classes}) and differ from blank ({blank})")
    loss = CTCLoss.apply(lp, per_sample, in_len, tg_len, blank, zero_infinity)
    if reduction == "mean":
        return (loss / lp.new_tensor(np.maximum(tg_len, 1).astype(lp._data.dtype))).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(()) if unbatched else loss
