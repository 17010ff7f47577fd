"""linalg.inv / inv_ex / det / slogdet / pinv against PyTorch: values, gradients, gradcheck,
errors."""
import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import full_rank, general

SQUARE = [(3, 3), (2, 4, 4), (2, 1, 3, 3), (1, 1)]


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inv_det_slogdet(shape, dtype):
    a = general(*shape)
    check_case([shape], lambda m, x: m.linalg.inv(x), values=[a], dtype=dtype, rtol=1e-3)
    check_case([shape], lambda m, x: m.linalg.det(x), values=[a], dtype=dtype, rtol=1e-3)
    check_case([shape], lambda m, x: tuple(m.linalg.slogdet(x)), values=[a], dtype=dtype, rtol=1e-3)


@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 2)])
def test_gradcheck_inv_det_slogdet(shape):
    a = general(*shape)
    check_gradcheck([shape], lambda x: ember.linalg.inv(x), values=[a])
    check_gradcheck([shape], lambda x: ember.linalg.det(x), values=[a])
    check_gradcheck([shape], lambda x: ember.linalg.slogdet(x).logabsdet, values=[a])


@pytest.mark.parametrize("a", [[[1.0, 2.0], [2.0, 4.0]],
                               [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
                               [[[0.0, 0.0], [0.0, 0.0]], [[2.0, 1.0], [1.0, 3.0]]]])
def test_det_gradient_of_singular_matrices_is_the_cofactor_matrix(a):
    # det(A) A^-T is 0 * inf there. PyTorch 2.13 returns zeros, which finite differences refute
    # (d det / d a_22 of [[1, 0], [0, 0]] is 1); ember returns the cofactor matrix.
    check_case([np.shape(a)], lambda m, x: m.linalg.det(x), values=[a], dtype="float64", grad=False)
    check_gradcheck([np.shape(a)], lambda x: ember.linalg.det(x), values=[a], second_order=False)
    x = ember.tensor([[1.0, 0.0], [0.0, 0.0]], requires_grad=True)
    ember.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.0, 1.0]], atol=1e-12)


def test_det_of_empty_matrix_is_one():
    check_case([(0, 0)], lambda m, x: m.linalg.det(x), dtype="float64", grad=False)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pinv(shape, dtype):
    a = full_rank(*shape)
    check_case([shape], lambda m, x: m.linalg.pinv(x), values=[a], dtype=dtype, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_gradcheck_pinv(shape):
    check_gradcheck([shape], lambda x: ember.linalg.pinv(x), values=[full_rank(*shape)])


def test_pinv_of_rank_deficient_and_hermitian_and_tolerances():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    check_case([(3, 3)], lambda m, x: m.linalg.pinv(x), values=[a], dtype="float64", grad=False)
    s = a @ a.T
    check_case([(3, 3)], lambda m, x: m.linalg.pinv(x, hermitian=True), values=[s], dtype="float64",
               grad=False)
    b = full_rank(3, 4)  # singular values 1, 1.75, 2.5: rtol 0.5 drops the smallest
    check_case([(3, 4)], lambda m, x: m.linalg.pinv(x, rtol=0.5), values=[b], dtype="float64")
    check_case([(3, 4)], lambda m, x: m.linalg.pinv(x, atol=1.5), values=[b], dtype="float64")


def _same_error(case):
    with pytest.raises(Exception) as t_info:
        case(torch)
    with pytest.raises(Exception) as e_info:
        case(ember)
    return t_info.value, e_info.value


@pytest.mark.parametrize("case", [
    lambda m: m.linalg.inv(m.tensor([[1.0, 2.0], [2.0, 4.0]])),
    lambda m: m.linalg.inv(m.stack([m.eye(2), m.tensor([[1.0, 2.0], [2.0, 4.0]])])),
    lambda m: m.linalg.inv(m.zeros(3, 3, dtype=m.float64)),
    lambda m: m.inverse(m.tensor([[0.0, 0.0], [0.0, 1.0]])),
])
def test_singular_inverse_raises_linalgerror_with_pytorchs_message(case):
    t_err, e_err = _same_error(case)
    assert isinstance(e_err, ember.linalg.LinAlgError) and isinstance(e_err, RuntimeError)
    assert isinstance(t_err, torch.linalg.LinAlgError)
    assert str(e_err) == str(t_err)


@pytest.mark.parametrize("op", ["inv", "det", "slogdet", "inv_ex"])
@pytest.mark.parametrize("make", [lambda m: m.ones(2, 3), lambda m: m.ones(3),
                                  lambda m: m.ones(2, 2, dtype=m.int64),
                                  lambda m: m.ones(2, 2, dtype=m.float16)])
def test_argument_errors_match_pytorch(op, make):
    t_err, e_err = _same_error(lambda m: getattr(m.linalg, op)(make(m)))
    assert isinstance(t_err, RuntimeError) and type(e_err) is RuntimeError
    if type(t_err) is RuntimeError:  # (det of float16 is a NotImplementedError from LU there)
        assert str(e_err).startswith(str(t_err).split(" (")[0])


def test_inv_ex_reports_info_per_matrix():
    a = np.stack([general(3, 3), [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]], general(3, 3, seed=1)])
    out_e = ember.linalg.inv_ex(ember.tensor(a))
    out_t = torch.linalg.inv_ex(torch.tensor(a))
    np.testing.assert_array_equal(out_e.info.numpy(), out_t.info.numpy())
    assert out_e.info.dtype == ember.int32
    ok = out_t.info.numpy() == 0
    np.testing.assert_allclose(out_e.inverse.numpy()[ok], out_t.inverse.numpy()[ok], rtol=1e-10)
    assert np.isnan(out_e.inverse.numpy()[~ok]).all()
    with pytest.raises(ember.linalg.LinAlgError, match=r"\(Batch element 1\)"):
        ember.linalg.inv_ex(ember.tensor(a), check_errors=True)


def test_inv_ex_gradient_of_the_invertible_matrices():
    a = np.stack([general(2, 2), np.zeros((2, 2))])
    x = ember.tensor(a, requires_grad=True)
    out = ember.linalg.inv_ex(x).inverse
    (out[0] * ember.tensor(general(2, 2, seed=3))).sum().backward()
    t = torch.tensor(a[0], requires_grad=True)
    (torch.linalg.inv(t) * torch.tensor(general(2, 2, seed=3))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], t.grad.numpy(), rtol=1e-10)
    np.testing.assert_array_equal(x.grad.numpy()[1], 0)


def test_results_are_named_tuples():
    out = ember.linalg.slogdet(ember.tensor(general(2, 2)))
    assert type(out).__name__ == "linalg_slogdet" and out._fields == ("sign", "logabsdet")
    assert ember.linalg.inv_ex(ember.eye(2))._fields == ("inverse", "info")
