"""ember.fft against PyTorch: values and gradients (random cotangents; complex outputs
through the real loss (out.real * w1 + out.imag * w2).sum())."""
import numpy as np
import pytest
import torch

import ember

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn"]
NORMS = [None, "backward", "ortho", "forward"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "rfftn"}


def _pair(shape, complex_in, rng):
    x = rng.standard_normal(shape)
    if complex_in:
        x = x + 1j * rng.standard_normal(shape)
    return ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _loss(out, w1, w2, lib):
    if out.is_complex():
        return (out.real * lib.tensor(w1) + out.imag * lib.tensor(w2)).sum()
    return (out * lib.tensor(w1)).sum()


def _check(name, kwargs, shape, complex_in, seed=0):
    rng = np.random.default_rng(seed)
    xe, xt = _pair(shape, complex_in, rng)
    oe, ot = getattr(ember.fft, name)(xe, **kwargs), getattr(torch.fft, name)(xt, **kwargs)
    assert oe.dtype.name == str(ot.dtype).split(".")[1]
    assert tuple(oe.shape) == tuple(ot.shape)
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().resolve_conj().numpy(), rtol=1e-9, atol=1e-9)
    w1, w2 = rng.standard_normal(tuple(ot.shape)), rng.standard_normal(tuple(ot.shape))
    _loss(oe, w1, w2, ember).backward()
    _loss(ot, w1, w2, torch).backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name,complex_in", [(n, c) for n in ONE_D for c in (False, True)
                                             if not (c and n in REAL_ONLY)])
@pytest.mark.parametrize("norm", NORMS)
def test_one_dimensional(name, norm, complex_in):
    _check(name, {"norm": norm}, (3, 8), complex_in)
    _check(name, {"norm": norm, "dim": 0}, (5, 4), complex_in, seed=1)


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("n", [3, 6, 7, 12])
def test_one_dimensional_n(name, n):
    _check(name, {"n": n}, (2, 6), name not in REAL_ONLY)
    _check(name, {"n": n, "norm": "ortho"}, (2, 6), False, seed=2)


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("norm", NORMS)
def test_n_dimensional(name, norm):
    _check(name, {"norm": norm}, (3, 4, 6), False)
    if name not in REAL_ONLY:
        _check(name, {"norm": norm}, (3, 4, 6), True, seed=3)


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("kw", [{"s": (5, 7)}, {"s": (2, 4), "dim": (0, 2)}, {"dim": (0, -1)},
                                {"s": (3, -1, 5)}])
def test_n_dimensional_sizes(name, kw):
    if name.endswith("2") and "dim" not in kw and len(kw.get("s", ())) == 3:
        kw = {"s": (4, 5)}
    _check(name, kw, (3, 4, 6), False)


def test_float32_and_integer_inputs_promote_as_pytorch():
    x = np.arange(8, dtype=np.float32)
    assert ember.fft.fft(ember.tensor(x)).dtype is ember.complex64
    assert ember.fft.rfft(ember.tensor(x)).dtype is ember.complex64
    assert ember.fft.fft(ember.arange(8)).dtype == ember.complex64
    assert torch.fft.fft(torch.arange(8)).dtype == torch.complex64
    assert ember.fft.irfft(ember.fft.rfft(ember.tensor(x))).dtype is ember.float32
    np.testing.assert_allclose(ember.fft.fft(ember.tensor(x)).numpy(), torch.fft.fft(torch.tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies(n, d):
    for name in ("fftfreq", "rfftfreq"):
        e, t = getattr(ember.fft, name)(n, d), getattr(torch.fft, name)(n, d)
        assert e.dtype is ember.float32 and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    assert ember.fft.fftfreq(n, dtype=ember.float64).dtype is ember.float64


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_shifts(dim):
    x = np.arange(35.0).reshape(5, 7)
    for name in ("fftshift", "ifftshift"):
        e, t = getattr(ember.fft, name)(ember.tensor(x), dim), getattr(torch.fft, name)(torch.tensor(x), dim)
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_errors_match_pytorch():
    x = ember.randn(4)
    with pytest.raises(RuntimeError):
        ember.fft.fft(x, norm="bogus")
    with pytest.raises(RuntimeError):
        torch.fft.fft(torch.randn(4), norm="bogus")
    with pytest.raises(RuntimeError):
        ember.fft.fft(x, n=0)
    with pytest.raises(RuntimeError):
        torch.fft.fft(torch.randn(4), n=0)
    with pytest.raises(IndexError):
        ember.fft.fft(x, dim=2)
    with pytest.raises(IndexError):
        torch.fft.fft(torch.randn(4), dim=2)
    with pytest.raises(RuntimeError):
        ember.fft.rfft(ember.fft.fft(x))
    with pytest.raises(RuntimeError):
        torch.fft.rfft(torch.fft.fft(torch.randn(4)))
