"""The top-level forms (ember.det, ember.svd, ...) and Tensor methods against PyTorch, with
their older conventions (svd returns V and takes some, qr takes some)."""
import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import full_rank, general, spd


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_det_logdet_slogdet_inverse(shape):
    a = general(*shape)
    for case in (lambda m, x: m.det(x), lambda m, x: x.det(), lambda m, x: m.logdet(x), lambda m, x: x.logdet(),
                 lambda m, x: tuple(m.slogdet(x)), lambda m, x: tuple(x.slogdet()), lambda m, x: m.inverse(x),
                 lambda m, x: x.inverse()):
        check_case([shape], case, values=[a], dtype="float64")


def test_logdet_of_negative_and_zero_determinants():
    a = np.stack([np.diag([-1.0, 2.0]), np.zeros((2, 2)), np.diag([3.0, 2.0])])
    check_case([(3, 2, 2)], lambda m, x: m.logdet(x), values=[a], dtype="float64", grad=False)


def test_slogdet_result_type():
    out = ember.slogdet(ember.tensor(general(2, 2)))
    assert type(out).__name__ == "slogdet" and out._fields == ("sign", "logabsdet")


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 3, 3)])
def test_pinverse(shape):
    a = full_rank(*shape)
    check_case([shape], lambda m, x: m.pinverse(x), values=[a], dtype="float64")
    check_case([shape], lambda m, x: x.pinverse(rcond=0.5), values=[a], dtype="float64")


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    check_case([(2, 3, 3)], lambda m, x: m.cholesky(x, upper), values=[spd(2, 3, 3)], dtype="float64")
    check_case([(2, 3, 3)], lambda m, x: x.cholesky(upper=upper), values=[spd(2, 3, 3)], dtype="float64")


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
@pytest.mark.parametrize("some", [True, False])
def test_qr(shape, some):
    a = full_rank(*shape)
    grad = some or shape[0] <= shape[1]
    check_case([shape], lambda m, x: tuple(m.qr(x, some)), values=[a], dtype="float64", grad=grad)
    check_case([shape], lambda m, x: tuple(x.qr(some=some)), values=[a], dtype="float64", grad=grad)
    assert ember.qr(ember.tensor(a))._fields == ("Q", "R")


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
@pytest.mark.parametrize("some", [True, False])
def test_svd_returns_v(shape, some):
    a = full_rank(*shape)
    k = min(shape[-2:])

    def invariant(m, x):
        u, s, v = m.svd(x, some=some)
        return s, u[..., :k].abs(), v[..., :k].abs()

    check_case([shape], invariant, values=[a], dtype="float64")
    u, s, v = ember.tensor(a).svd(some=some)
    ut, st, vt = torch.tensor(a).svd(some=some)
    assert u.shape == ut.shape and v.shape == vt.shape
    np.testing.assert_allclose(((u[..., :k] * s[..., None, :]) @ v[..., :k].mT).numpy(), a, atol=1e-10)
    assert type(ember.svd(ember.tensor(a))).__name__ == "svd"


def test_svd_without_uv():
    a = full_rank(4, 3)
    check_case([(4, 3)], lambda m, x: tuple(m.svd(x, compute_uv=False)), values=[a], dtype="float64")


def test_gradcheck_top_level():
    check_gradcheck([(2, 3, 3)], lambda x: ember.logdet(x @ x.mT + ember.eye(3, dtype=x.dtype)), low=-1, high=1)
    check_gradcheck([(3, 2)], lambda x: ember.pinverse(x), values=[full_rank(3, 2)])
