"""Which ops autocast changes, per device type: PyTorch's Autocast Op Reference.

"lower": floating inputs run in the autocast dtype (float16): products and convolutions,
whose accumulation stays accurate and which gain the most from the narrow type.
"fp32": float16 inputs run in float32: ops whose range or accumulation float16 cannot hold
(exponentials, reductions, norms, losses). The two device types' lists differ as PyTorch's
do: on the CPU, softmax, exp, sum, layer_norm, ... are left alone.
"promote": inputs of mixed floating types run in the widest of them.
"refuse": a RuntimeError (binary_cross_entropy on CUDA: unsafe in float16).
Ops listed nowhere run in whatever dtypes they are given.
"""
from __future__ import annotations

LOWER, FP32, PROMOTE, REFUSE = "lower", "fp32", "promote", "refuse"

_CPU_LOWER = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "prelu", "mm", "bmm", "matmul", "linear", "addmm", "addbmm", "baddbmm",
    "scaled_dot_product_attention")
_CPU_FP32 = (
    "prod", "trace", "cdist", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy", "kl_div",
    "poisson_nll_loss", "soft_margin_loss", "multi_margin_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss")

_CUDA_LOWER = _CPU_LOWER + ("addmv", "addr", "mv", "einsum", "chain_matmul", "multi_dot")
_CUDA_FP32 = (
    "acos", "asin", "cosh", "sinh", "tan", "erfinv", "exp", "expm1", "log", "log10", "log2",
    "log1p", "reciprocal", "rsqrt", "pow", "softplus", "layer_norm", "group_norm", "norm",
    "cosine_similarity", "cdist", "logsumexp", "prod", "softmax", "log_softmax", "cumprod",
    "cumsum", "sum", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
    "huber_loss", "nll_loss", "cross_entropy", "kl_div", "poisson_nll_loss", "soft_margin_loss",
    "multi_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss")
_CUDA_PROMOTE = ("dot", "cross", "tensordot", "atan2", "addcmul", "addcdiv")

POLICIES = {
    # (PyTorch also lists cat and stack as "promote"; ember's promote by themselves)
    "cpu": {**{n: LOWER for n in _CPU_LOWER}, **{n: FP32 for n in _CPU_FP32}},
    "cuda": {**{n: LOWER for n in _CUDA_LOWER}, **{n: FP32 for n in _CUDA_FP32},
             **{n: PROMOTE for n in _CUDA_PROMOTE}, "binary_cross_entropy": REFUSE},
}

LISTED = frozenset(name for table in POLICIES.values() for name in table)
