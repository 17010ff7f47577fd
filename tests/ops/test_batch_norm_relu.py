"""batch_norm_relu: ReLU of a batch norm in one op (ember.compile's pair), against PyTorch's
relu(batch_norm), against float64 finite differences, and bit for bit against ember's own
relu(batch_norm) on the kernel and NumPy paths, for C-contiguous and channels-last inputs."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops.batch_norm import batch_norm_relu

from helpers import check_gradcheck, check_op, kernel_path, torch

SHAPES = [(8, 4, 5, 5), (4, 3, 7), (16, 8, 3, 3), (5, 2, 2, 3, 2)]


def _fused_or_torch(x, w, b):
    if isinstance(x, ember.Tensor):
        return batch_norm_relu(x, None, None, w, b, True)
    return torch.relu(torch.nn.functional.batch_norm(x, None, None, w, b, training=True))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_pytorchs_relu_of_batch_norm(shape, dtype, compiled):
    c = shape[1]
    with kernel_path(compiled):
        check_op([shape, (c,), (c,)], _fused_or_torch, dtype=dtype)


def test_finite_differences():
    check_gradcheck([(6, 3, 4), (3,), (3,)], lambda x, w, b: batch_norm_relu(x, None, None, w, b, True))


def _both(shape, dtype, training=True, seed=0, channels_last=False):
    """(fused, unfused) results: output, the gradients of x, weight and bias, and the running
    statistics after the call, from identical inputs (x laid out channels last, NHWC data seen as
    NCHW, with ``channels_last``: the rows kernels)."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    x0 = rng.standard_normal(shape).astype(dtype)
    x0.reshape(-1)[::7] = 0.0  # exact zeros, some of which normalize to exact zeros
    if channels_last:
        order = (0, *range(2, len(shape)), 1)
        x0 = np.ascontiguousarray(x0.transpose(order)).transpose(np.argsort(order))
    w0 = rng.uniform(0.5, 1.5, c).astype(dtype)
    b0 = rng.uniform(-0.2, 0.2, c).astype(dtype)
    g = ember.tensor(rng.standard_normal(shape).astype(dtype))
    results = []
    for fused in (True, False):
        x, w, b = (ember.tensor(a.copy(order="K"), requires_grad=True) for a in (x0, w0, b0))
        mean = ember.tensor(np.full(c, 0.5, dtype))
        var = ember.tensor(np.full(c, 2.0, dtype))
        if fused:
            y = batch_norm_relu(x, mean, var, w, b, training)
        else:
            y = F.relu(F.batch_norm(x, mean, var, w, b, training))
        y.backward(g)
        results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(), mean.numpy(),
                        var.numpy()])
    return results


@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES + [(16, 17, 8, 8)])  # and one the rows kernels cut in blocks
def test_bits_equal_eager_relu_of_batch_norm(shape, dtype, compiled, channels_last):
    with kernel_path(compiled):
        fused, unfused = _both(shape, dtype, channels_last=channels_last)
    for a, b in zip(fused, unfused):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("training", [True, False])
def test_half_and_evaluation_mode_equal_eager(training):
    for dtype in (np.float16, np.float32):
        fused, unfused = _both((8, 4, 3, 3), dtype, training)
        for a, b in zip(fused, unfused):
            np.testing.assert_array_equal(a, b)
            assert np.array_equal(np.signbit(a), np.signbit(b))  # -0.0 where relu(batch_norm) has it


def test_double_backward_equals_eager():
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((6, 3, 4, 4))
    w0 = rng.uniform(0.5, 1.5, 3)
    grads = []
    for fn in (lambda x, w: batch_norm_relu(x, None, None, w, None, True),
               lambda x, w: F.relu(F.batch_norm(x, None, None, w, None, True))):
        x, w = ember.tensor(x0, requires_grad=True), ember.tensor(w0, requires_grad=True)
        y = fn(x, w)
        gx, = ember.autograd.grad((y * y).sum(), x, create_graph=True)
        grads.append([t.numpy() for t in ember.autograd.grad((gx ** 2).sum(), (x, w))])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
