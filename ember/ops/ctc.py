"""ctc_loss: connectionist temporal classification, by dynamic programming in log space.

The forward pass runs the alpha recursion over the blank-extended targets, the backward
pass the beta recursion; both in NumPy on the host, one frame at a time, vectorised over
the samples and target positions. The gradient is PyTorch's: d loss / d log_probs[t, c] =
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


def _targets(per_sample: list, blank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The targets with blanks around every label, padded with blanks to one width S:
    ``ext`` (N, S), ``sizes`` (N,) (2 L + 1 each), and ``skip`` (N, S): where the step
    s - 2 -> s is allowed (a label differing from the one two places back)."""
    sizes = np.array([2 * len(t) + 1 for t in per_sample], dtype=np.int64)
    ext = np.full((len(per_sample), int(sizes.max(initial=1))), blank, dtype=np.int64)
    for n, target in enumerate(per_sample):
        ext[n, 1:sizes[n]:2] = target
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, sizes, skip


def _ctc(lp: np.ndarray, per_sample: list, lengths: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray]:
    """nll (N,) and d nll / d log_probs (T, N, C) for the whole batch at once: one step of the
    alpha and beta recursions per frame, over (samples x target positions) arrays. Frames past
    a sample's length get no gradient; its alpha is read at its last frame and its beta
    starts there."""
    steps, batch, classes = lp.shape
    ext, sizes, skip = _targets(per_sample, blank)
    width = ext.shape[1]
    rows = np.arange(batch)
    neg = np.array(-np.inf, dtype=lp.dtype)
    lpe = np.take_along_axis(lp, np.broadcast_to(ext, (steps, batch, width)), axis=2)  # (T, N, S)
    outside = np.where(np.arange(width) < sizes[:, None], 0, neg).astype(lp.dtype)  # -inf past each target
    no_skip = np.where(skip, 0, neg).astype(lp.dtype)
    # alpha and beta with two -inf columns before (alpha) or after (beta) the positions, so
    # the moves s-1 -> s, s-2 -> s (and back) are slices, not copies
    alpha = np.full((max(steps, 1), batch, width + 2), neg, dtype=lp.dtype)
    beta = np.full((max(steps, 1), batch, width + 2), neg, dtype=lp.dtype)
    if steps:
        alpha[0, :, 2:4] = lpe[0, :, :2]
        alpha[0, :, 2:] += outside
    for t in range(1, steps):
        prev = alpha[t - 1]
        step = np.logaddexp(prev[:, 2:], prev[:, 1:-1])
        np.logaddexp(step, prev[:, :-2] + no_skip, out=step)
        np.add(step, lpe[t], out=alpha[t, :, 2:])
        alpha[t, :, 2:] += outside
    last = np.maximum(lengths - 1, 0)
    final = alpha[last, rows, 2:]
    ends = np.logaddexp(final[rows, sizes - 1], np.where(sizes > 1, final[rows, np.maximum(sizes - 2, 0)], neg))
    nll = -ends
    empty = lengths == 0  # no frames: only the empty target is possible, with probability 1
    nll[empty] = np.where(sizes[empty] == 1, 0, np.inf)
    skip_from = np.full_like(no_skip, neg)  # s -> s + 2 is allowed where it is allowed into s + 2
    skip_from[:, :-2] = no_skip[:, 2:]
    ending = np.zeros((batch, width), dtype=bool)
    ending[rows, sizes - 1] = True
    ending[rows, np.maximum(sizes - 2, 0)] = True
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            nxt = beta[t + 1]
            step = np.logaddexp(nxt[:, :-2], nxt[:, 1:-1])
            np.logaddexp(step, nxt[:, 2:] + skip_from, out=step)
            np.add(step, lpe[t], out=beta[t, :, :-2])
            beta[t, :, :-2] += outside
        start = np.flatnonzero(lengths - 1 == t)  # samples whose last frame is t
        if start.size:
            beta[t, start, :-2] = np.where(ending[start], lpe[t, start], neg)
    grad = np.zeros_like(lp)
    if steps:
        with np.errstate(invalid="ignore", over="ignore"):
            # posterior of position s at frame t: alpha + beta - log_probs + nll (each frame's sum is 1)
            gamma = np.exp(alpha[:, :, 2:] + beta[:, :, :-2] - lpe + nll[None, :, None])
            onehot = (ext[:, :, None] == np.arange(classes)).astype(lp.dtype)  # (N, S, C)
            grad = np.exp(lp) - np.matmul(gamma.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
        grad[np.arange(steps)[:, None] >= lengths[None, :]] = 0
    return nll, grad


class CTCLoss(Function):
    """Per-sample negative log-likelihoods (N,) of (T, N, C) log-probabilities."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = log_probs.detach().cpu().numpy()
        nll, grad = _ctc(lp, targets, input_lengths, blank)
        nll = nll.astype(lp.dtype)
        if zero_infinity:
            infinite = np.isinf(nll)
            nll[infinite], grad[:, infinite] = 0, 0
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
