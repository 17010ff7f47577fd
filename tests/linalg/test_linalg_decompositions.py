"""linalg.cholesky / qr / svd / svdvals / eigh / eigvalsh / matrix_rank against PyTorch.
Singular and eigen vectors are compared up to sign (|U|), and their gradients through losses
that do not depend on the sign choice, as PyTorch's own tests do."""
import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import full_rank, spd, symmetric

DT = ["float32", "float64"]


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("dtype", DT)
def test_cholesky(shape, upper, dtype):
    a = spd(*shape)
    check_case([shape], lambda m, x: m.linalg.cholesky(x, upper=upper), values=[a], dtype=dtype, rtol=1e-3)


def test_cholesky_reads_one_triangle():
    lower_read, upper_read = spd(3, 3), spd(3, 3)
    lower_read[0, 2] = 100.0  # never read: the factor comes from the lower triangle
    upper_read[2, 0] = 100.0
    check_case([(3, 3)], lambda m, x: m.linalg.cholesky(x), values=[lower_read], dtype="float64")
    check_case([(3, 3)], lambda m, x: m.linalg.cholesky(x, upper=True), values=[upper_read], dtype="float64")


@pytest.mark.parametrize("upper", [False, True])
def test_gradcheck_cholesky(upper):
    # through A A^T + n I, so every perturbation stays symmetric positive-definite
    check_gradcheck([(2, 3, 3)], lambda x: ember.linalg.cholesky(x @ x.mT + 3 * ember.eye(3, dtype=x.dtype),
                                                                 upper=upper), low=-1, high=1)


def test_cholesky_errors_and_cholesky_ex():
    bad = np.stack([spd(3, 3), -np.eye(3), [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    with pytest.raises(torch.linalg.LinAlgError) as t_err:
        torch.linalg.cholesky(torch.tensor(bad))
    with pytest.raises(ember.linalg.LinAlgError) as e_err:
        ember.linalg.cholesky(ember.tensor(bad))
    assert str(e_err.value) == str(t_err.value)
    out_e = ember.linalg.cholesky_ex(ember.tensor(bad))
    out_t = torch.linalg.cholesky_ex(torch.tensor(bad))
    np.testing.assert_array_equal(out_e.info.numpy(), out_t.info.numpy())
    np.testing.assert_allclose(out_e.L.numpy()[0], out_t.L.numpy()[0], rtol=1e-12)
    assert out_e._fields == ("L", "info") and out_e.info.dtype == ember.int32
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.cholesky_ex(ember.tensor(bad), check_errors=True)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2), (2, 2, 4)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("dtype", DT)
def test_qr_values(shape, mode, dtype):
    # NumPy and PyTorch both use LAPACK's Householder QR: same signs, so Q and R compare directly
    a = full_rank(*shape)
    check_case([shape], lambda m, x: tuple(m.linalg.qr(x, mode=mode)), values=[a], dtype=dtype, grad=False,
               atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2), (2, 2, 4)])
def test_qr_gradients(shape):
    a = full_rank(*shape)
    check_case([shape], lambda m, x: tuple(m.linalg.qr(x)), values=[a], dtype="float64")
    check_gradcheck([shape], lambda x: tuple(ember.linalg.qr(x)), values=[a])


def test_qr_not_differentiable_cases_raise_pytorchs_errors():
    for shape, mode in (((3, 2), "r"), ((4, 2), "complete")):
        for m in (torch, ember):
            x = m.tensor(full_rank(*shape), requires_grad=True)
            with pytest.raises(RuntimeError, match="differentiable|derivative"):
                m.linalg.qr(x, mode=mode).R.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode 'x'"):
        ember.linalg.qr(ember.ones(2, 2), mode="x")


SVD_SHAPES = [(4, 3), (3, 3), (3, 5), (2, 4, 2), (2, 2, 3)]


def _svd_invariant(m, x, full=False):
    u, s, vh = m.linalg.svd(x, full_matrices=full)
    k = s.shape[-1]
    return s, u[..., :k].abs(), vh[..., :k, :].abs()


@pytest.mark.parametrize("shape", SVD_SHAPES)
@pytest.mark.parametrize("dtype", DT)
def test_svd(shape, dtype):
    a = full_rank(*shape)
    for full in (False, True):
        check_case([shape], lambda m, x: _svd_invariant(m, x, full), values=[a], dtype=dtype, atol=1e-4,
                   rtol=1e-3)
        u, s, vh = ember.linalg.svd(ember.tensor(a), full_matrices=full)
        mm, nn = shape[-2:]
        assert tuple(u.shape[-2:]) == ((mm, mm) if full else (mm, min(mm, nn)))
        assert tuple(vh.shape[-2:]) == ((nn, nn) if full else (min(mm, nn), nn))
        recon = (u[..., :s.shape[-1]] * s[..., None, :]) @ vh[..., :s.shape[-1], :]
        np.testing.assert_allclose(recon.numpy(), a, atol=1e-10)
    check_case([shape], lambda m, x: m.linalg.svdvals(x), values=[a], dtype=dtype, rtol=1e-3)


@pytest.mark.parametrize("shape", SVD_SHAPES)
def test_gradcheck_svd(shape):
    a = full_rank(*shape)
    check_gradcheck([shape], lambda x: _svd_invariant(ember, x), values=[a])
    check_gradcheck([shape], lambda x: ember.linalg.svdvals(x), values=[a])


def test_svdvals_gradient_with_repeated_singular_values_is_finite():
    # only dS: no 1 / (s_i^2 - s_j^2) terms, as in PyTorch
    check_case([(3, 3)], lambda m, x: m.linalg.svdvals(x), values=[np.eye(3) * 2], dtype="float64")


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("dtype", DT)
def test_eigh(shape, uplo, dtype):
    a = symmetric(*shape)
    a = a + np.triu(np.ones(shape[-2:]), 1) * 5.0  # not symmetric: UPLO decides what is read
    check_case([shape], lambda m, x: (lambda w, v: (w, v.abs()))(*m.linalg.eigh(x, UPLO=uplo)), values=[a],
               dtype=dtype, atol=1e-4, rtol=1e-3)
    check_case([shape], lambda m, x: m.linalg.eigvalsh(x, UPLO=uplo), values=[a], dtype=dtype, atol=1e-4,
               rtol=1e-3)


@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 2)])
def test_gradcheck_eigh(shape):
    a = symmetric(*shape)
    check_gradcheck([shape], lambda x: (lambda w, v: (w, v.abs()))(*ember.linalg.eigh(x + x.mT)), values=[a])
    check_gradcheck([shape], lambda x: ember.linalg.eigvalsh(x + x.mT), values=[a])


def test_eigh_result_type_and_errors():
    out = ember.linalg.eigh(ember.tensor(symmetric(2, 2)))
    assert type(out).__name__ == "linalg_eigh" and out._fields == ("eigenvalues", "eigenvectors")
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U'"):
        ember.linalg.eigh(ember.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="square"):
        ember.linalg.eigh(ember.ones(2, 3))


@pytest.mark.parametrize("kwargs", [{}, {"atol": 1.5}, {"rtol": 0.5}, {"hermitian": True}, {"tol": 2.0}])
def test_matrix_rank(kwargs):
    a = np.stack([full_rank(4, 4), full_rank(4, 4) @ np.diag([1.0, 1.0, 1.0, 0.0])])
    if kwargs.get("hermitian"):
        a = a @ a.swapaxes(-1, -2)
    e = ember.linalg.matrix_rank(ember.tensor(a), **kwargs)
    t = torch.linalg.matrix_rank(torch.tensor(a), **kwargs)
    assert e.dtype == ember.int64
    np.testing.assert_array_equal(e.numpy(), t.numpy())
