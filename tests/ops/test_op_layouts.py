"""Tensor ops on a transposed view (not C-contiguous) give PyTorch's values and input
gradients, on the compiled-kernel and the NumPy paths: reductions, scans, products,
indexing, joins, padding, selection and sorting read strides as they are, and their
gradients land where the view's elements live. (Layers: tests/nn/test_layouts_against_torch.py.)"""
import numpy as np
import pytest

import ember
from helpers import kernel_path, torch

RNG = np.random.default_rng(0)
DATA = RNG.standard_normal((6, 5, 4)).astype(np.float32)  # the ops see its (6, 4, 5) transpose
GATHER = RNG.integers(0, 4, (6, 3, 5))

OPS = {
    "sum_keepdim": lambda L, x: x.sum(1, keepdim=True),
    "mean": lambda L, x: x.mean(),
    "var": lambda L, x: x.var(0),
    "std_dims": lambda L, x: x.std((0, 2)),
    "max_dim": lambda L, x: x.max(2)[0],
    "amax": lambda L, x: x.amax((0, 1)),
    "logsumexp": lambda L, x: L.logsumexp(x, 1),
    "cumsum": lambda L, x: x.cumsum(1),
    "cumprod": lambda L, x: x.cumprod(0),
    "vector_norm": lambda L, x: L.linalg.vector_norm(x, dim=2),
    "softmax_first": lambda L, x: x.softmax(0),
    "bmm_with_own_transpose": lambda L, x: L.bmm(x, x.transpose(1, 2)),
    "einsum": lambda L, x: L.einsum("ijk,ikl->ijl", x, x.transpose(1, 2)),
    "gather": lambda L, x: x.gather(1, L.tensor(GATHER)),
    "index_select": lambda L, x: x.index_select(1, L.tensor(np.array([3, 0, 2]))),
    "advanced_index": lambda L, x: x[L.tensor(np.array([0, 3, 5])), 1:4],
    "flip": lambda L, x: x.flip(0, 2),
    "roll": lambda L, x: x.roll(2, 1),
    "where": lambda L, x: L.where(x > 0, x, x * 0.1),
    "clamp": lambda L, x: x.clamp(-0.5, 0.7),
    "cube": lambda L, x: x ** 3,
    "sort": lambda L, x: x.sort(1)[0],
    "topk": lambda L, x: x.topk(2, dim=2)[0],
    "median": lambda L, x: x.median(1)[0],
    "prod": lambda L, x: x.prod(1),
    "cat": lambda L, x: L.cat([x, x * 2], 1),
    "stack": lambda L, x: L.stack([x, x], 3),
    "reshape": lambda L, x: x.reshape(6, -1) * 1.0,
    "unfold": lambda L, x: x.unfold(1, 2, 1),
    "pad": lambda L, x: L.nn.functional.pad(x, (1, 2, 0, 1)),
    "pad_reflect": lambda L, x: L.nn.functional.pad(x, (1, 1), mode="reflect"),
    "tril": lambda L, x: x.tril(),
    "diag_embed": lambda L, x: L.diag_embed(x),
    "outer_sum": lambda L, x: x.unsqueeze(-1) + x.unsqueeze(-2),
    "masked_fill": lambda L, x: x.masked_fill(x < 0, 0.5),
    "scatter_add": lambda L, x: L.zeros(6, 9, 5).scatter_add(
        1, L.tensor(np.broadcast_to(np.arange(4)[None, :, None], (6, 4, 5)).copy()), x),
    "cross_entropy_classes_second": lambda L, x: L.nn.functional.cross_entropy(
        x, L.tensor(np.arange(30).reshape(6, 5) % 4)),
}


def _run(lib, op):
    x = lib.tensor(DATA, requires_grad=True)
    y = op(lib, x.transpose(1, 2))
    grad = np.random.default_rng(3).standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(lib.tensor(grad))
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("name", list(OPS))
def test_an_op_on_a_transposed_view_matches_pytorch(name, compiled):
    want = _run(torch, OPS[name])
    with kernel_path(compiled):
        got = _run(ember, OPS[name])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
