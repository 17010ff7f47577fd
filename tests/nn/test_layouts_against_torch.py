"""Layers fed views that are not C-contiguous (an NHWC array permuted to NCHW, a transposed
batch) give PyTorch's values and gradients (input and parameters), on the compiled-kernel
and the NumPy paths: ops that allocate by an input's layout and write through reshapes
must not lose what they write. (Norm layers: tests/ops/test_norm_layouts.py.)"""
import numpy as np
import pytest

import ember
from helpers import copy_weights, kernel_path, torch

RNG = np.random.default_rng(0)
NHWC = RNG.standard_normal((2, 8, 8, 3)).astype(np.float32)   # seen as (2, 3, 8, 8)
SEQ = RNG.standard_normal((5, 3, 4)).astype(np.float32)       # (batch, time, features), seen time-first

LAYERS = {
    "conv2d": lambda nn: nn.Conv2d(3, 4, 3, padding=1),
    "conv2d_strided_grouped": lambda nn: nn.Conv2d(3, 6, 3, stride=2, groups=3),
    "conv_transpose2d": lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2),
    "max_pool": lambda nn: nn.MaxPool2d(2),
    "avg_pool": lambda nn: nn.AvgPool2d(3, stride=2, padding=1),
    "adaptive_avg_pool": lambda nn: nn.AdaptiveAvgPool2d(3),
    "upsample_bilinear": lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
    "softmax_channels": lambda nn: nn.Softmax(dim=1),
    "log_softmax_last": lambda nn: nn.LogSoftmax(dim=-1),
    "gelu": lambda nn: nn.GELU(),
    "hardswish": lambda nn: nn.Hardswish(),
    "flatten_linear": lambda nn: nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5)),
    "dropout2d_eval": lambda nn: nn.Dropout2d(0.5).eval(),
}
RECURRENT = {"lstm": lambda nn: nn.LSTM(4, 5, 2), "gru": lambda nn: nn.GRU(4, 5, 1, bidirectional=True)}


def _check(make, data, view, compiled: bool) -> None:
    """The layer ``make(nn)`` of both frameworks, with PyTorch's weights, on ``view`` of
    ``data``: ember's output and input and parameter gradients equal PyTorch's."""
    theirs = make(torch.nn)
    ours = make(ember.nn)
    copy_weights(ours, theirs)
    want = _outputs(torch, theirs, data, view)
    with kernel_path(compiled):
        got = _outputs(ember, ours, data, view)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


def _outputs(lib, module, data, view, grad_seed=1):
    x = lib.tensor(data, requires_grad=True)
    y = module(view(x))
    y = y[0] if isinstance(y, tuple) else y
    grad = np.random.default_rng(grad_seed).standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(lib.tensor(grad))
    return [y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_a_permuted_image_batch(layer, compiled):
    _check(LAYERS[layer], NHWC, lambda t: t.permute(0, 3, 1, 2), compiled)


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("layer", list(RECURRENT))
def test_a_batch_first_sequence_seen_time_first(layer, compiled):
    _check(RECURRENT[layer], SEQ, lambda t: t.transpose(0, 1), compiled)


def test_cross_entropy_of_transposed_logits():
    logits = RNG.standard_normal((10, 6)).astype(np.float32)
    target = np.arange(6) % 10
    results = []
    for lib in (ember, torch):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x.t(), lib.tensor(target), label_smoothing=0.1)
        loss.backward()
        results.append([loss.detach().numpy(), x.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)
