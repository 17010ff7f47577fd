"""Graph-node names (``type(y.grad_fn).__name__`` and ``grad_fn.name()``) of common ops,
compared with PyTorch's: arithmetic, activations, layers, pooling, joins, views, casts."""
import numpy as np
import pytest

import ember
from helpers import torch

rng = np.random.default_rng(0)
V = rng.standard_normal((3, 4)).astype(np.float32)
T = rng.standard_normal((3, 4)).astype(np.float32)
IMG = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
VOL = rng.standard_normal((1, 2, 4, 4, 4)).astype(np.float32)
W = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)

CASES = {  # name: fn(lib, v, t, img, vol, w) with v, img, vol and w requiring grad
    "rsub_int": lambda lib, v, t, img, vol, w: 1 - v,
    "rsub_float": lambda lib, v, t, img, vol, w: 2.5 - v,
    "sub": lambda lib, v, t, img, vol, w: v - 1,
    "neg": lambda lib, v, t, img, vol, w: v.neg(),
    "neg_op": lambda lib, v, t, img, vol, w: -v,
    "cross_entropy": lambda lib, v, t, img, vol, w: lib.nn.functional.cross_entropy(v, lib.tensor([0, 1, 2])),
    "softmax": lambda lib, v, t, img, vol, w: lib.nn.functional.softmax(v, 1),
    "log_softmax": lambda lib, v, t, img, vol, w: v.log_softmax(-1),
    "relu": lambda lib, v, t, img, vol, w: lib.nn.functional.relu(v),
    "gelu": lambda lib, v, t, img, vol, w: lib.nn.functional.gelu(v),
    "gelu_tanh": lambda lib, v, t, img, vol, w: lib.nn.functional.gelu(v, approximate="tanh"),
    "tanh": lambda lib, v, t, img, vol, w: lib.tanh(v),
    "sigmoid": lambda lib, v, t, img, vol, w: v.sigmoid(),
    "bce_none": lambda lib, v, t, img, vol, w: lib.nn.functional.binary_cross_entropy(
        v.sigmoid(), t.sigmoid(), reduction="none"),
    "conv2d": lambda lib, v, t, img, vol, w: lib.nn.functional.conv2d(img, w, padding=1),
    "max_pool2d": lambda lib, v, t, img, vol, w: lib.nn.functional.max_pool2d(img, 2),
    "max_pool2d_indices": lambda lib, v, t, img, vol, w: lib.nn.functional.max_pool2d(img, 2, return_indices=True)[0],
    "MaxPool2d": lambda lib, v, t, img, vol, w: lib.nn.MaxPool2d(2)(img),
    "max_pool3d": lambda lib, v, t, img, vol, w: lib.nn.functional.max_pool3d(vol, 2),
    "avg_pool2d": lambda lib, v, t, img, vol, w: lib.nn.functional.avg_pool2d(img, 2),
    "avg_pool3d": lambda lib, v, t, img, vol, w: lib.nn.functional.avg_pool3d(vol, 2),
    "adaptive_max_pool2d": lambda lib, v, t, img, vol, w: lib.nn.functional.adaptive_max_pool2d(img, 2),
    "adaptive_max_pool3d": lambda lib, v, t, img, vol, w: lib.nn.functional.adaptive_max_pool3d(vol, 2),
    "adaptive_avg_pool2d": lambda lib, v, t, img, vol, w: lib.nn.functional.adaptive_avg_pool2d(img, 2),
    "adaptive_avg_pool3d": lambda lib, v, t, img, vol, w: lib.nn.functional.adaptive_avg_pool3d(vol, 2),
    "global_avg_pool": lambda lib, v, t, img, vol, w: lib.nn.AdaptiveAvgPool2d((1, 1))(img),
    "batch_norm": lambda lib, v, t, img, vol, w: lib.nn.functional.batch_norm(img, None, None, training=True),
    "BatchNorm2d": lambda lib, v, t, img, vol, w: lib.nn.BatchNorm2d(3)(img),
    "layer_norm": lambda lib, v, t, img, vol, w: lib.nn.functional.layer_norm(v, (4,)),
    "LayerNorm": lambda lib, v, t, img, vol, w: lib.nn.LayerNorm(4)(v),
    "embedding": lambda lib, v, t, img, vol, w: lib.nn.functional.embedding(lib.tensor([0, 2]), v),
    "dropout": lambda lib, v, t, img, vol, w: lib.nn.functional.dropout(v, 0.5),
    "cat": lambda lib, v, t, img, vol, w: lib.cat([v, v]),
    "stack": lambda lib, v, t, img, vol, w: lib.stack([v, v]),
    "select": lambda lib, v, t, img, vol, w: v[0],
    "select_ellipsis": lambda lib, v, t, img, vol, w: v[..., 1],
    "slice": lambda lib, v, t, img, vol, w: v[1:],
    "slice_dim1": lambda lib, v, t, img, vol, w: v[:, 1:3],
    "index_list": lambda lib, v, t, img, vol, w: v[[0, 2]],
    "index_mask": lambda lib, v, t, img, vol, w: v[v > 0],
    "index_tensor": lambda lib, v, t, img, vol, w: v[lib.tensor([0, 1])],
    "where": lambda lib, v, t, img, vol, w: lib.where(t > 0, v, t),
    "where_scalar": lambda lib, v, t, img, vol, w: lib.where(t > 0, v, 0.0),
    "masked_fill": lambda lib, v, t, img, vol, w: v.masked_fill(t > 0, 0.0),
    "masked_fill_tensor": lambda lib, v, t, img, vol, w: v.masked_fill(t > 0, lib.tensor(1.0)),
    "masked_fill_": lambda lib, v, t, img, vol, w: v.clone().masked_fill_(t > 0, 0.0),
    "expand": lambda lib, v, t, img, vol, w: v.expand(2, 3, 4),
    "repeat": lambda lib, v, t, img, vol, w: v.repeat(2, 1),
    "permute": lambda lib, v, t, img, vol, w: v.permute(1, 0),
    "clone": lambda lib, v, t, img, vol, w: v.clone(),
    "to_float64": lambda lib, v, t, img, vol, w: v.to(lib.float64),
    "double": lambda lib, v, t, img, vol, w: v.double(),
}


def _name(lib, case):
    v, img, vol, w = (lib.tensor(a, requires_grad=True) for a in (V, IMG, VOL, W))
    y = CASES[case](lib, v, lib.tensor(T), img, vol, w)
    return type(y.grad_fn).__name__, y.grad_fn.name()


@pytest.mark.parametrize("case", list(CASES))
def test_node_name_matches_torch(case):
    assert _name(ember, case) == _name(torch, case)


def test_rsub_values_and_gradient():
    """``number - tensor`` keeps its value, dtype promotion and gradient under its own node."""
    for number in (1, 2.5, -3):
        e = ember.tensor([1.0, -2.0], requires_grad=True)
        t = torch.tensor([1.0, -2.0], requires_grad=True)
        (number - e).backward(ember.tensor([1.0, 3.0]))
        (number - t).backward(torch.tensor([1.0, 3.0]))
        assert (number - e).tolist() == (number - t).tolist()
        assert e.grad.tolist() == t.grad.tolist()
    assert (3 - ember.tensor([1, 2])).dtype == ember.int64
    for lib in (ember, torch):  # PyTorch refuses a bool on either side of `-`
        with pytest.raises(RuntimeError, match="bool"):
            True - lib.tensor([1.0])
        with pytest.raises(RuntimeError, match="bool"):
            True - lib.tensor([True])
