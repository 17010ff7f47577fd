"""Complex tensors against PyTorch: dtypes and promotion, creation, arithmetic, the complex
ops, and gradients by the conjugate Wirtinger convention (real losses of complex inputs)."""
import numpy as np
import pytest
import torch

import ember


def _z(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _name(d):
    return str(d).split(".")[1]


@pytest.mark.parametrize("a", ["float16", "float32", "float64", "int64", "bool", "complex64", "complex128"])
@pytest.mark.parametrize("b", ["complex64", "complex128"])
def test_promotion_matches_pytorch(a, b):
    if a == "float16":  # PyTorch gives complex32 here, which ember does not have
        assert ember.promote_types(ember.float16, getattr(ember, b)) is getattr(ember, b)
        return
    assert _name(ember.promote_types(getattr(ember, a), getattr(ember, b))) == \
        _name(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_python_complex_scalar_promotion(dtype):
    e = ember.ones(2, dtype=getattr(ember, dtype)) * 1j
    t = torch.ones(2, dtype=getattr(torch, dtype)) * 1j
    assert _name(e.dtype) == _name(t.dtype)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_aliases_and_creation():
    assert ember.cfloat is ember.complex64 and ember.cdouble is ember.complex128
    assert ember.tensor([1 + 2j, 3]).dtype is ember.complex64
    assert ember.tensor(np.array([1 + 2j])).dtype is ember.complex128
    assert ember.tensor([1, 2], dtype=ember.cdouble).dtype is ember.complex128
    assert ember.complex64.is_complex and not ember.float32.is_complex
    assert ember.tensor([1j]).is_complex() and not ember.ones(1).is_complex()
    assert repr(ember.tensor([1 + 2j, 3 - 1j])) == repr(torch.tensor([1 + 2j, 3 - 1j])).replace("torch", "ember")
    assert repr(ember.tensor(np.array([1 + 2j]))) == repr(torch.tensor(np.array([1 + 2j]))).replace("torch", "ember")


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "matmul"])
def test_arithmetic_values_and_gradients(op):
    a, b = _z((3, 3), 1), _z((3, 3), 2)
    w1, w2 = np.random.default_rng(3).standard_normal((2, 3, 3))
    grads = []
    for lib in (ember, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = getattr(lib, op)(x, y)
        (out.real * lib.tensor(w1) + out.imag * lib.tensor(w2)).sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_real_times_complex_gradient_is_real():
    for lib in (ember, torch):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        out = x * lib.tensor([1 + 2j, 3 - 1j])
        (out.real * 2 + out.imag * 3).sum().backward()
        assert x.grad.dtype == lib.float64
        if lib is ember:
            ge = x.grad.numpy()
        else:
            np.testing.assert_allclose(ge, x.grad.numpy())


@pytest.mark.parametrize("fn", [
    lambda m, z: m.real(z) if m is ember else z.real,
    lambda m, z: z.imag,
    lambda m, z: z.conj().resolve_conj(),
    lambda m, z: m.angle(z),
    lambda m, z: m.abs(z),
    lambda m, z: z.abs() * 2,
    lambda m, z: m.view_as_real(z),
    lambda m, z: m.view_as_complex(m.view_as_real(z) * 2),
    lambda m, z: m.polar(m.abs(z), m.angle(z)),
    lambda m, z: m.complex(z.real * 2, z.imag - 1),
])
def test_complex_ops_values_and_gradients(fn):
    a = _z((2, 5), 4)
    a[0, 0] = 0  # the subgradient PyTorch picks at 0
    res = []
    for lib in (ember, torch):
        z = lib.tensor(a, requires_grad=True)
        out = fn(lib, z)
        w = np.random.default_rng(5).standard_normal((2,) + tuple(out.shape))
        loss = out.real * lib.tensor(w[0]) + (out.imag * lib.tensor(w[1]) if out.is_complex() else 0)
        loss.sum().backward()
        res.append((out.detach().resolve_conj().numpy(), z.grad.resolve_conj().numpy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_angle_of_real_and_errors():
    x = [-1.5, 0.0, 2.0, float("nan")]
    np.testing.assert_array_equal(ember.angle(ember.tensor(x)).numpy(), torch.angle(torch.tensor(x)).numpy())
    for lib in (ember, torch):
        with pytest.raises(RuntimeError):
            lib.ones(2).imag
        with pytest.raises(RuntimeError):
            lib.view_as_real(lib.ones(2))
        with pytest.raises(RuntimeError):
            lib.view_as_complex(lib.ones(3))
        with pytest.raises(RuntimeError):
            lib.complex(lib.ones(2), lib.ones(2, dtype=lib.float64))
    assert ember.real(ember.ones(2)).dtype is ember.float32


@pytest.mark.parametrize("part", ["real", "imag", "conj", "view_as_real"])
def test_parts_refuse_in_place_writes_instead_of_losing_them(part):
    z = ember.tensor([1 + 2j, 3 - 1j])
    t = getattr(ember, part)(z)
    with pytest.raises(RuntimeError, match="read-only"):
        t.mul_(2)
    assert z.tolist() == [1 + 2j, 3 - 1j]
