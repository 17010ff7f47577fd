"""linalg.solve / solve_ex / lstsq against PyTorch: values, gradients, gradcheck, errors."""
import numpy as np
import pytest

import ember
from helpers import check_case, check_gradcheck, torch
from linalg_inputs import full_rank, general

SOLVE_SHAPES = [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (3, 4)),
                ((2, 1, 3, 3), (4, 3, 1)), ((3, 3), (2, 3, 2))]


@pytest.mark.parametrize("sa,sb", SOLVE_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solve(sa, sb, dtype):
    a = general(*sa)
    check_case([sa, sb], lambda m, x, y: m.linalg.solve(x, y), values=[a, None], dtype=dtype, rtol=1e-3)


def test_solve_right_and_gradcheck():
    a = general(3, 3)
    check_case([(3, 3), (2, 3)], lambda m, x, y: m.linalg.solve(x, y, left=False), values=[a, None],
               dtype="float64")
    check_gradcheck([(2, 3, 3), (3, 2)], lambda x, y: ember.linalg.solve(x, y), values=[general(2, 3, 3), None])
    check_gradcheck([(3, 3), (3,)], lambda x, y: ember.linalg.solve(x, y), values=[a, None])


@pytest.mark.parametrize("case", [
    lambda m: m.linalg.solve(m.tensor([[1.0, 2.0], [2.0, 4.0]]), m.ones(2)),
    lambda m: m.linalg.solve(m.stack([m.eye(2), m.zeros(2, 2)]), m.ones(2, 2, 1)),
])
def test_singular_solve_raises_linalgerror(case):
    with pytest.raises(torch.linalg.LinAlgError) as t_err:
        case(torch)
    with pytest.raises(ember.linalg.LinAlgError) as e_err:
        case(ember)
    assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("case", [
    lambda m: m.linalg.solve(m.eye(2), m.ones(3)),
    lambda m: m.linalg.solve(m.ones(2, 3), m.ones(2)),
    lambda m: m.linalg.solve(m.eye(2), m.ones(2, dtype=m.float64)),
    lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(4, 2)),
    lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 2), driver="bad"),
])
def test_solver_argument_errors(case):
    with pytest.raises(RuntimeError) as t_err:
        case(torch)
    with pytest.raises(RuntimeError) as e_err:
        case(ember)
    assert type(e_err.value) is RuntimeError
    assert str(e_err.value).startswith(str(t_err.value).split(" (")[0])


def test_solve_ex():
    a = np.stack([general(2, 2), np.zeros((2, 2))])
    b = np.ones((2, 2, 1))
    out_e = ember.linalg.solve_ex(ember.tensor(a), ember.tensor(b))
    out_t = torch.linalg.solve_ex(torch.tensor(a), torch.tensor(b))
    np.testing.assert_array_equal(out_e.info.numpy() != 0, out_t.info.numpy() != 0)
    np.testing.assert_allclose(out_e.result.numpy()[0], out_t.result.numpy()[0], rtol=1e-12)
    assert np.isnan(out_e.result.numpy()[1]).all() and out_e._fields == ("result", "info")
    ok = ember.linalg.solve_ex(ember.tensor(general(2, 2)), ember.ones(2, dtype=ember.float64))
    assert int(ok.info) == 0


@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((5, 3), (5,)), ((2, 5, 3), (2, 5, 2)), ((3, 3), (3, 1)),
                                   ((3, 5), (3, 2))])
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstsq(sa, sb, driver, dtype):
    if driver == "gels" and sa[-2] < sa[-1]:
        return  # gels needs full column rank for its answer to be the least-squares one
    a = full_rank(*sa)
    check_case([sa, sb], lambda m, x, y: tuple(m.linalg.lstsq(x, y, driver=driver)),
               values=[a, None], dtype=dtype, rtol=1e-3, atol=1e-4)
    out_e = ember.linalg.lstsq(ember.tensor(a), ember.ones(sb, dtype=ember.float64), driver=driver)
    assert out_e.rank.dtype == ember.int64
    assert type(out_e).__name__ == "linalg_lstsq"
    assert out_e._fields == ("solution", "residuals", "rank", "singular_values")


def test_lstsq_rank_deficient_and_rcond():
    a = full_rank(5, 3) @ np.diag([1.0, 1.0, 0.0]) @ full_rank(3, 3, seed=2)
    for driver in ("gelsy", "gelsd"):
        check_case([(5, 3), (5, 2)], lambda m, x, y: tuple(m.linalg.lstsq(x, y, driver=driver)),
                   values=[a, None], dtype="float64", grad=False, atol=1e-8)
    b = full_rank(4, 3)  # singular values 1, 1.75, 2.5: rcond 0.5 drops the smallest
    check_case([(4, 3), (4, 2)], lambda m, x, y: tuple(m.linalg.lstsq(x, y, rcond=0.5, driver="gelsd")),
               values=[b, None], dtype="float64", grad=False)


def test_gradcheck_lstsq():
    check_gradcheck([(4, 3), (4, 2)], lambda x, y: ember.linalg.lstsq(x, y).solution, values=[full_rank(4, 3), None])
