"""ember.functional (torch.functional) against PyTorch: values, gradients and errors."""
import pytest

import ember
from helpers import check_gradcheck, check_op, to_ember, torch


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the test compares which exception each raises)
        return type(e)
    return None


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(3,), (2,), (4,)], [(5,)], [(2,), ()]])
def test_meshgrid_matches_torch(shapes, indexing):
    def fn(*xs):
        lib = ember if isinstance(xs[0], ember.Tensor) else torch
        return [g * 1 for g in lib.meshgrid(*xs, indexing=indexing)]
    check_op(shapes, fn)


def test_meshgrid_default_indexing_warns_like_torch_and_takes_a_list():
    a, b = ember.arange(3.0), ember.arange(2.0)
    with pytest.warns(UserWarning, match="indexing"):
        e = ember.meshgrid(a, b)
    t = torch.meshgrid([torch.arange(3.0), torch.arange(2.0)], indexing="ij")
    assert all((x.numpy() == y.numpy()).all() for x, y in zip(ember.meshgrid([a, b], indexing="ij"), t))
    assert [tuple(g.shape) for g in e] == [tuple(g.shape) for g in t]
    assert ember.functional.meshgrid is ember.meshgrid


@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2,), (3,), (2,)], [(4,)]])
def test_cartesian_prod_matches_torch(shapes):
    def fn(*xs):
        lib = ember if isinstance(xs[0], ember.Tensor) else torch
        return lib.cartesian_prod(*xs) * 1
    check_op(shapes, fn)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("shapes", [[(4, 3), (5, 3)], [(2, 4, 3), (2, 5, 3)], [(2, 4, 3), (5, 3)]])
def test_cdist_matches_torch(shapes, p):
    def fn(x1, x2):
        lib = ember if isinstance(x1, ember.Tensor) else torch
        return lib.cdist(x1, x2, p=p)
    check_op(shapes, fn, grad=p != 0.0)


def test_cdist_gradient_first_and_second_order():
    check_gradcheck([(3, 2), (4, 2)], lambda a, b: ember.cdist(a, b, p=3.0))


@pytest.mark.parametrize("case", ["1d", "columns", "negative_p", "int"])
def test_cdist_errors_match_torch(case):
    def run(lib):
        x = {"1d": lib.ones(3), "columns": lib.ones(2, 3), "negative_p": lib.ones(2, 3),
             "int": lib.ones(2, 3, dtype=lib.int64)}[case]
        y = lib.ones(2, 4) if case == "columns" else lib.ones(2, 3, dtype=x.dtype)
        return lib.cdist(x, y, p=-1.0 if case == "negative_p" else 2.0)
    assert _outcome(lambda: run(ember)) is _outcome(lambda: run(torch)) is RuntimeError


def test_block_diag_matches_torch():
    check_op([(2, 2), (3,), (), (1, 3)], lambda a, b, c, d: (
        ember if isinstance(a, ember.Tensor) else torch).block_diag(a, b, c, d))
    t = torch.block_diag(torch.ones(2, dtype=torch.int64), torch.ones(1, 1))
    e = ember.block_diag(ember.ones(2, dtype=ember.int64), ember.ones(1, 1))
    assert e.dtype.name == str(t.dtype)[6:] and (e.numpy() == t.numpy()).all()
    assert tuple(ember.block_diag().shape) == tuple(torch.block_diag().shape)
    assert _outcome(lambda: ember.block_diag(ember.ones(1, 1, 1))) is \
        _outcome(lambda: torch.block_diag(torch.ones(1, 1, 1))) is RuntimeError


def test_chain_matmul_matches_torch():
    check_op([(2, 3), (3, 4), (4, 2)], lambda a, b, c: (
        ember if isinstance(a, ember.Tensor) else torch).chain_matmul(a, b, c))
    check_op([(2, 3)], lambda a: (ember if isinstance(a, ember.Tensor) else torch).chain_matmul(a))
    assert _outcome(lambda: ember.chain_matmul(ember.ones(2))) is \
        _outcome(lambda: torch.chain_matmul(torch.ones(2))) is RuntimeError


def test_reexports_are_the_ops():
    for name in ["einsum", "norm", "split", "broadcast_tensors", "broadcast_shapes", "tensordot",
                 "unique", "atleast_2d"]:
        assert getattr(ember.functional, name) is getattr(ember, name)
    x = torch.randn(3, 4)
    assert (ember.functional.einsum("ij->j", to_ember(x)).numpy() ==
            torch.functional.einsum("ij->j", x).numpy()).all()
