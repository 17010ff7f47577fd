"""relu_max_pool: a max pool of ReLU's result in one op (ember.compile's pair), against
PyTorch's max_pool2d(relu), against float64 finite differences, and bit for bit against
ember's own max_pool2d(relu) on the kernel and NumPy paths, special values included."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.backend import kernels
from ember.ops import window

from helpers import check_gradcheck, check_op, kernel_path

NODE = window.MaxPool.node("MaxPool2DWithIndicesBackward0")
SHAPES = [(4, 3, 8, 10), (2, 5, 7, 9), (3, 6, 6)]  # odd sizes leave a last row and column out


def _paired(x):
    return window.relu_max_pool(x, window.regular(tuple(x.shape[-2:]), (2, 2), (2, 2), (0, 0), (1, 1), False),
                                NODE)


def _paired_or_torch(x):
    if isinstance(x, ember.Tensor):
        return _paired(x)
    import torch
    return torch.nn.functional.max_pool2d(torch.relu(x), 2)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_pytorchs_max_pool_of_relu(shape, dtype, compiled):
    with kernel_path(compiled):
        check_op([shape], _paired_or_torch, dtype=dtype)


def test_finite_differences():
    check_gradcheck([(2, 3, 6, 8)], _paired)


def _special(shape, dtype, seed):
    """Random values with windows of special ones: all negative, zeros of both signs first or
    after a negative one, NaN, infinities, ties between positive values."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    planes = x.reshape(-1, *shape[-2:])
    windows = [[-1.0, -2.0, -3.0, -4.0], [-0.0, -1.0, -2.0, -3.0], [-1.0, -0.0, 0.0, -3.0], [0.0, -0.0, -1, -2],
               [-1.0, np.nan, 2.0, np.nan], [np.inf, 1.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf, -np.inf],
               [2.0, 3.0, 3.0, 1.0], [-0.0, -0.0, -0.0, -0.0]]
    for i, w in enumerate(windows):
        p, col = planes[i % planes.shape[0]], 2 * (i // planes.shape[0])
        p[0:2, col:col + 2] = np.array(w, dtype).reshape(2, 2)
    return x


def _run(x0, g, paired: bool, create_graph: bool = False, layout=None):
    x = ember.tensor(x0.copy())
    if layout is not None:
        x = x.contiguous(memory_format=layout)
    x.requires_grad_()
    y = _paired(x) if paired else F.max_pool2d(F.relu(x), 2)
    if create_graph:
        gx, = ember.autograd.grad(y, x, g, create_graph=True)
        return [y, gx]
    y.backward(g)
    return [y, x.grad]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_eagers_bits_with_special_values(shape, dtype, compiled):
    x0 = _special(shape, dtype, seed=1)
    out_shape = shape[:-2] + (shape[-2] // 2, shape[-1] // 2)
    g = ember.tensor(np.random.default_rng(2).standard_normal(out_shape).astype(dtype))
    with kernel_path(compiled):
        got, want = _run(x0, g, True), _run(x0, g, False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.detach().numpy().view(np.uint8), b.detach().numpy().view(np.uint8))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES[:2])
def test_channels_last_bits_with_special_values(shape, dtype, compiled):
    """A channels-last input (the kernels' (N, H, W, C) form) gives the row-major one's bits."""
    x0 = _special(shape, dtype, seed=1)
    g = ember.tensor(np.random.default_rng(2).standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2)).astype(dtype))
    with kernel_path(compiled):
        want = _run(x0, g, False)
        for paired in (True, False):
            got = _run(x0, g, paired, layout=ember.channels_last)
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a.detach().contiguous().numpy().view(np.uint8),
                                              b.detach().numpy().view(np.uint8))
                assert a.is_contiguous(memory_format=ember.channels_last)


@pytest.mark.parametrize("compiled", [True, False])
def test_double_backward_as_eagers(compiled):
    """With create_graph the gradient is itself differentiable, as the two ops' is: in the
    incoming gradient (a linear map) and, with derivative zero, in x."""
    shape = (2, 3, 6, 8)
    x0 = _special(shape, np.float64, seed=3)
    g0 = np.random.default_rng(4).standard_normal((2, 3, 3, 4))
    with kernel_path(compiled):
        results = []
        for paired in (True, False):
            g = ember.tensor(g0, requires_grad=True)
            x = ember.tensor(x0.copy(), requires_grad=True)
            y = _paired(x) if paired else F.max_pool2d(F.relu(x), 2)
            gx, = ember.autograd.grad(y, x, g, create_graph=True)
            (gx * gx).sum().backward()
            results.append([gx.detach().numpy(), g.grad.numpy(), x.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(kernels.cpu() is None, reason="compiled kernels are off here")
def test_the_kernel_path_is_one_op_and_the_numpy_path_two():
    x = ember.randn(2, 3, 8, 8, requires_grad=True)
    assert type(_paired(x).grad_fn).__name__ == "MaxPool2DWithIndicesBackward0"
    assert type(_paired(x).grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"
    with kernel_path(False):
        assert type(_paired(x).grad_fn.next_functions[0][0]).__name__ == "ReluBackward0"
