"""Attention: scaled dot-product attention and the functional multi-head attention that
nn.MultiheadAttention and the transformer layers call.

Both go through one primitive, ``AttentionWeights`` (softmax of the masked, scaled scores);
the product with the values and the projections are ordinary ops.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import dtypes, gemm, kernels
from ..backend.device import xp_of
from ..backend.dtypes import round_to
from .creation import zeros
from .join import cat, repeat_interleave
from .linalg import linear, matmul, matmul_in_order, product_laid_out, stacks_of_one_batch
from .padding import constant_pad_nd
from .softmax import softmax_grad

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


class AttentionWeights(Function):
    """P = softmax(q @ k^T * scale + mask) over the keys (last dim).

    Fused (forward + backward of causal attention at GPT-like sizes measured 1.05-1.3x faster
    than matmul, scale, masked_fill and softmax as separate ops; the matrix products that both
    share take most of the time): the scale is applied to q (L x E, not L x S), masks are
    written into the scores in place, and only P is kept for the gradient. float32 scores take
    the compiled kernels, a row per pass (rows as short as a sequence made NumPy's five passes
    and the gradient's four tensor ops slow: weights of (128, 64, 64), forward and backward,
    took 4.3 ms, now 2.0).
    P is this node's output, so the gradient, in tensor ops when recorded, is differentiable.
    ``safe`` gives fully masked rows zero weights (scaled_dot_product_attention); without it
    they are NaN, as the explicit softmax of multi-head attention's weights path gives.
    """

    @staticmethod
    def forward(ctx, q, k, mask, scale, causal, safe):
        qd = q._data
        s = gemm.matmul(qd * qd.dtype.type(scale), np.swapaxes(k._data, -1, -2))
        if causal:  # upper-left aligned: query i sees keys 0..i
            np.copyto(s, -np.inf, where=xp_of(s).tri(s.shape[-1], s.shape[-2], -1, dtype=np.bool_).T)
        if mask is not None:
            if mask._data.dtype == np.bool_:
                np.copyto(s, -np.inf, where=~mask._data)
            else:
                s += mask._data
        p = round_to(_softmax_rows(s, safe), qd.dtype)  # bfloat16 scores come out of matmul in float32
        ctx.scale = scale
        needs = ctx.needs_input_grad
        ctx.save_for_backward(q if needs[1] else None, k if needs[0] else None, p)
        # the strides serve the backward's layouts only (MatMul's rule): no check without a gradient
        ctx.strides = (q._data.strides, k._data.strides) if (needs[0] or needs[1]) and \
            stacks_of_one_batch(q._data, k._data) else None
        return p

    @staticmethod
    def backward(ctx, grad):
        q, k, p = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ds = softmax_grad(grad, p, -1, False)
        if ctx.strides is not None and not state.enabled and type(ds._data) is np.ndarray and \
                ds._data.dtype == np.float32:
            d, scale = ds._data, np.float32(ctx.scale)  # not recorded: q's and k's gradients laid out as q and k
            gq = gk = None
            if needs[0]:
                gq = product_laid_out(d, k._data, ctx.strides[0])
                gq *= scale
            if needs[1]:
                gk = product_laid_out(np.swapaxes(d, -1, -2), q._data, ctx.strides[1])
                gk *= scale
            return (None if gq is None else Tensor._make(gq), None if gk is None else Tensor._make(gk),
                    (ds if needs[2] else None), None, None, None)
        gq = matmul(ds, k) * ctx.scale if needs[0] else None
        gk = matmul(ds.mT, q) * ctx.scale if needs[1] else None
        return gq, gk, (ds if needs[2] else None), None, None, None


def _softmax_rows(s, safe: bool):
    """Softmax over the last axis, in place in ``s``."""
    if s.size == 0:
        return s
    k = kernels.cpu()
    if k is not None and s.dtype == np.float32 and kernels.usable(s) and s.flags.c_contiguous:
        with kernels.lock:
            k.softmax.softmax_rows(s.reshape(-1, s.shape[-1]), safe)
        return s
    top = s.max(axis=-1, keepdims=True)
    dead = None
    if safe:
        dead = top == -np.inf
        if dead.any():
            top = np.where(dead, 0, top)  # exp(-inf - 0) = 0 instead of NaN
        else:
            dead = None
    s -= top
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if dead is not None:
        total[dead] = 1
    s /= total
    return s


def _dropout(p: Tensor, dropout_p: float) -> Tensor:
    if dropout_p > 0.0:
        from ..nn.functional import dropout  # nn.functional imports this module
        return dropout(p, dropout_p)
    return p


# ---- scaled dot-product attention ---------------------------------------------------------
def _check_tensors(query, key, value, attn_mask) -> None:
    for pos, (name, t) in enumerate((("query", query), ("key", key), ("value", value), ("attn_mask", attn_mask)), 1):
        if not isinstance(t, Tensor) and not (name == "attn_mask" and t is None):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' (position {pos}) must be "
                            f"Tensor, not {type(t).__name__}")


def _check_sdpa(query, key, value, attn_mask, is_causal: bool) -> None:
    """Validate shapes and dtypes; the mask must broadcast to the weights' shape (*batch, L, S)."""
    qs, ks, vs = query._data.shape, key._data.shape, value._data.shape
    if min(len(qs), len(ks), len(vs)) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be at least 2 dimensional, but got "
                           f"query.dim: {len(qs)} key.dim: {len(ks)} and value.dim: {len(vs)} instead.")
    if not query._data.dtype == key._data.dtype == value._data.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead.")
    if not query.is_floating_point():
        raise RuntimeError(f"scaled_dot_product_attention: expected floating point query, key and value, "
                           f"got {query.dtype} (convert them with .float())")
    if qs[-1] != ks[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same embedding "
                           f"size (last dim), got query {list(qs)} and key {list(ks)}")
    if ks[-2] != vs[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same sequence "
                           f"length (dim -2), got key {list(ks)} and value {list(vs)}")
    try:
        batch = np.broadcast_shapes(qs[:-2], ks[:-2], vs[:-2])
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the batch dims of query {list(qs)}, key "
                           f"{list(ks)} and value {list(vs)} do not broadcast") from None
    shape = batch + (qs[-2], ks[-2])
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        if attn_mask._data.dtype != np.bool_ and attn_mask._data.dtype != query._data.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but "
                               f"got attn_mask.dtype: {attn_mask.dtype} and query.dtype: {query.dtype} "
                               "instead.")
        try:
            fits = np.broadcast_shapes(shape, attn_mask._data.shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {list(attn_mask.shape)} "
                               f"does not broadcast to the attention weights' shape {list(shape)} "
                               "(batch..., L, S)")


def _repeat_heads(query: Tensor, t: Tensor, name: str) -> Tensor:
    """Grouped-query attention: repeat each of t's heads (dim -3) for its group of query heads."""
    hq, h = query._data.shape[-3], t._data.shape[-3]
    if hq % h:
        raise RuntimeError(f"Number of heads in key and value must divide the number of heads in query: "
                           f"query has {hq} heads (dim -3), {name} has {h}")
    return t if h == hq else repeat_interleave(t, hq // h, -3)


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, with dropout on the weights.

    Args:
        attn_mask: bool (True: the query may attend to that key) or float (added to the
            scores), broadcast to (*batch, L, S). Fully masked rows give zeros.
        dropout_p: dropout probability on the attention weights (always applied when > 0).
        is_causal: query i attends to keys 0..i (no attn_mask allowed with it).
        scale: the scores' factor; 1 / sqrt(E) when None.
        enable_gqa: key and value may have fewer heads (dim -3) than query, shared by groups.
    Shape:
        query (*, L, E), key (*, S, E), value (*, S, Ev) -> (*, L, Ev); batch dims broadcast.
    """
    _check_tensors(query, key, value, attn_mask)
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3 and value.dim() >= 3:
        key, value = _repeat_heads(query, key, "key"), _repeat_heads(query, value, "value")
    _check_sdpa(query, key, value, attn_mask, is_causal)
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if scale is None:
        e = query._data.shape[-1]
        scale = 1.0 / math.sqrt(e) if e else math.inf
    weights = AttentionWeights.apply(query, key, attn_mask, float(scale), bool(is_causal), True)
    return matmul(_dropout(weights, dropout_p), value)


# ---- multi-head attention -----------------------------------------------------------------
def _none_or_dtype(t: Tensor | None):
    return None if t is None else t.dtype


def _canonical_mask(mask: Tensor | None, name: str, other_type, other_name: str, target_type,
                    check_other: bool = True) -> Tensor | None:
    """A bool mask (True: masked out) as a float mask of -inf and 0; float masks unchanged."""
    if mask is None:
        return None
    if mask.dtype != dtypes.bool_ and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for "
                      "both instead.", stacklevel=3)
    if mask.is_floating_point():
        return mask
    m = mask._data
    return Tensor._make(np.where(m, -np.inf, 0.0).astype(target_type.np))


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """Whether the inputs are batched; AssertionError (as PyTorch) for inconsistent dims."""
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                             "query tensor")
    batched = query.dim() == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be {query.dim()}-D but found "
                             f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{query.dim() - 1}-D but found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                                 f"{attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {tuple(attn_mask.shape)}")
    return batched


def _in_projection(query, key, value, w_q, w_k, w_v, b_q, b_k, b_v) -> tuple:
    """q, k, v projections with separate weights (key and value may have other widths)."""
    eq, ek, ev = query.shape[-1], key.shape[-1], value.shape[-1]
    for what, t, shape in (("query weights", w_q, (eq, eq)), ("key weights", w_k, (eq, ek)),
                           ("value weights", w_v, (eq, ev)), ("query bias", b_q, (eq,)),
                           ("key bias", b_k, (eq,)), ("value bias", b_v, (eq,))):
        if t is not None and tuple(t.shape) != shape:
            raise AssertionError(f"expecting {what} shape of {shape}, but got {tuple(t.shape)}")
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _in_projection_packed(query, key, value, w: Tensor, b: Tensor | None) -> tuple:
    """q, k, v projections with weights packed as (3E, E): one matrix product when the inputs
    are one tensor (self-attention), two when key is value."""
    e = query.shape[-1]
    if key is value:
        if query is key:
            return linear(query, w, b).chunk(3, -1)
        w_q, w_kv = w.split([e, 2 * e])
        b_q, b_kv = (None, None) if b is None else b.split([e, 2 * e])
        return (linear(query, w_q, b_q),) + linear(key, w_kv, b_kv).chunk(2, -1)
    b_q, b_k, b_v = (None,) * 3 if b is None else b.chunk(3)
    w_q, w_k, w_v = w.chunk(3)
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _heads(t: Tensor, static: Tensor | None, name: str, bsz: int, num_heads: int, head_dim: int) -> Tensor:
    """(S, N, E) -> (N, heads, S, head_dim), a view (the products read it in its strides: a
    packed projection's q, k and v are not copied); or the given precomputed ``static`` one,
    (N * heads, S, head_dim), seen in that shape."""
    if static is None:
        return t.reshape(t.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)
    if static.size(0) != bsz * num_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got {static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static.reshape(bsz, num_heads, static.shape[1], head_dim)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True, key_padding_mask: Tensor | None = None,
        need_weights: bool = True, attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None, static_v: Tensor | None = None,
        average_attn_weights: bool = True, is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention (sequence-first), the computation behind nn.MultiheadAttention.

    Masks: key_padding_mask (N, S) and attn_mask (L, S) or (N * num_heads, L, S), bool
    (True: not attended) or float (added to the scores). ``is_causal`` is a hint that
    attn_mask is the causal mask.
    Shape:
        query (L, N, E) or (L, E); key (S, N, kdim); value (S, N, vdim) ->
        output (L, N, E), weights (N, L, S) averaged over heads, else (N, num_heads, L, S).
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if causal else _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)

    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                               f"{(bsz * num_heads, tgt_len, src_len)}.")

    # extra key/value positions: learned biases, then zeros; masks grow a column for each
    extra = []
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"bias cannot be added to static {'key' if static_k is not None else 'value'}.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        extra.append(1)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None
                             else "bias_v is set but bias_k is None")
    q = _heads(q, None, "query", bsz, num_heads, head_dim)
    k = _heads(k, static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        zero = zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k, v = cat([k, zero], 2), cat([v, zero], 2)
        extra.append(1)
    for _ in extra:
        attn_mask = None if attn_mask is None else constant_pad_nd(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else constant_pad_nd(key_padding_mask, (0, 1))
    src_len = k.shape[2]
    if attn_mask is not None and attn_mask.shape[0] != 1:  # (N * heads, L, S) -> (N, heads, L, S)
        attn_mask = attn_mask.reshape(bsz, num_heads, tgt_len, src_len)

    if key_padding_mask is not None:
        for d, want in ((0, bsz), (1, src_len)):
            if key_padding_mask.shape[d] != want:
                raise AssertionError(f"Expected key_padded_mask.shape[{d}] to be {want}, but got "
                                     f"{key_padding_mask.shape[d]}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len)  # broadcast over heads and queries
        attn_mask = padding if attn_mask is None else attn_mask + padding

    # (N, heads, L, S); the weights path's explicit softmax gives NaN for fully masked rows
    weights = AttentionWeights.apply(q, k, attn_mask, 1.0 / math.sqrt(head_dim), causal, not need_weights)
    weights = _dropout(weights, dropout_p if training else 0.0)
    out = matmul_in_order(weights, v, v._data.strides)  # (N, heads, L, head_dim) laid out as (L, N, heads, head_dim)
    out = out.permute(2, 0, 1, 3).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if need_weights:
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        weights = None
    if not is_batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
