"""Normalization layers on inputs that are not C-contiguous (a permuted or transposed view):
their values and gradients equal PyTorch's on both the compiled-kernel and the NumPy paths
(a gradient written through a reshaped view of a layout-preserving array was never written)."""
import numpy as np
import pytest

import ember
from helpers import kernel_path, torch

RNG = np.random.default_rng(0)
LAYERS = {
    "batch_norm": lambda lib: lib.nn.BatchNorm2d(3),
    "instance_norm": lambda lib: lib.nn.InstanceNorm2d(3, affine=True),
    "group_norm": lambda lib: lib.nn.GroupNorm(3, 3),
    "layer_norm_2d": lambda lib: lib.nn.LayerNorm([6, 5]),
    "layer_norm": lambda lib: lib.nn.LayerNorm(5),
    "rms_norm": lambda lib: lib.nn.RMSNorm(5),
}
VIEWS = {
    "permuted": ((4, 6, 5, 3), lambda t: t.permute(0, 3, 1, 2)),       # NHWC data seen as NCHW
    "transposed": ((3, 4, 6, 5), lambda t: t.transpose(0, 1)),          # batch and channel swapped
}


def _run(lib, layer, data, view, grad):
    lib.manual_seed(0)
    module = LAYERS[layer](lib).to(lib.float64 if data.dtype == np.float64 else lib.float32)
    x = lib.tensor(data, requires_grad=True)
    y = module(view(x))
    y.backward(lib.tensor(grad))
    params = [p.grad.numpy() for p in module.parameters()]
    return [y.detach().numpy(), x.grad.numpy()] + params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy"])
def test_a_non_contiguous_input_gets_pytorchs_values_and_gradients(layer, view, dtype, compiled):
    shape, make_view = VIEWS[view]
    data = RNG.standard_normal(shape).astype(dtype)
    out_shape = tuple(make_view(torch.empty(shape)).shape)
    grad = RNG.standard_normal(out_shape).astype(dtype)
    want = _run(torch, layer, data, make_view, grad)
    with kernel_path(compiled):
        got = _run(ember, layer, data, make_view, grad)
    tol = 2e-5 if dtype == np.float32 else 1e-10
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("layer", ["layer_norm", "group_norm", "batch_norm"])
def test_a_transposed_incoming_gradient_takes_the_kernels_with_pytorchs_values(layer, monkeypatch):
    """A batch-first attention hands its input norm a transposed gradient: the kernels copy it
    to C order rather than leave the layer to the NumPy path."""
    from ember.backend import kernels
    from helpers import count_calls
    if kernels.cpu() is None:
        pytest.skip("the compiled kernels are off")
    shape = (4, 3, 6, 5)
    data = RNG.standard_normal(shape).astype(np.float32)
    grad = RNG.standard_normal((3, 4, 6, 5)).astype(np.float32)

    def run(lib):
        lib.manual_seed(0)
        module = LAYERS[layer](lib)
        x = lib.tensor(data, requires_grad=True)
        y = module(x)
        y.backward(lib.tensor(grad).transpose(0, 1))
        return [y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]

    names = {"layer_norm": ["backward_input"], "group_norm": ["backward_input"],
             "batch_norm": ["batch_norm_train_backward"]}[layer]
    module = kernels.cpu().norm if layer == "batch_norm" else kernels.cpu().grouped_norm
    calls = count_calls(monkeypatch, module, names)
    got, want = run(ember), run(torch)
    assert calls == {names[0]: 1}
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
