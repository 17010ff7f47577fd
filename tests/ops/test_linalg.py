"""matmul family, linear, einsum, tensordot and the composed products against PyTorch."""
import pytest

import ember
from helpers import assert_close, check_case as run, check_gradcheck, make_inputs, torch


def raises_both(case, exc, *fragments):
    """PyTorch and ember raise ``exc``; ember's message names every fragment."""
    with pytest.raises(exc):
        case(torch)
    with pytest.raises(exc) as info:
        case(ember)
    for f in fragments:
        assert f in str(info.value), f"{f!r} not in {info.value}"


# ---- matmul ------------------------------------------------------------------------------
MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                 ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 5)),
                 ((0, 4), (4, 5)), ((3, 0), (0, 5)), ((2, 0, 4), (4, 3)), ((2, 3, 4, 0), (2, 3, 0, 5))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    run([sa, sb], lambda m, a, b: a @ b)
    run([sa, sb], lambda m, a, b: m.matmul(a, b), dtype="float64")


@pytest.mark.parametrize("dtype", ["int64", "int32", "float16"])
def test_matmul_dtypes(dtype):
    run([(2, 3, 4), (4, 5)], lambda m, a, b: a @ b, dtype=dtype, atol=5e-2 if dtype == "float16" else None)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((4,), (4, 2)), ((2, 2, 3), (3, 2)), ((4,), (4,))])
def test_matmul_gradcheck(sa, sb):
    check_gradcheck([sa, sb], lambda a, b: a @ b)


def test_rmatmul_with_an_array_and_methods():
    run([(3, 4), (4, 5)], lambda m, a, b: a.matmul(b) + a.mm(b))
    run([(2, 3, 4), (2, 4, 5)], lambda m, a, b: a.bmm(b))
    run([(3, 4), (4,)], lambda m, a, b: a.mv(b))
    run([(4,), (4,)], lambda m, a, b: a.dot(b))


@pytest.mark.parametrize("case,fragments", [
    (lambda m: m.ones(2, 3) @ m.ones(4, 5), ["(2x3 and 4x5)"]),
    (lambda m: m.mm(m.ones(64, 784), m.ones(100, 10)), ["(64x784 and 100x10)"]),
    (lambda m: m.ones(3) @ m.ones(4, 5), ["[3]", "[4, 5]"]),
    (lambda m: m.ones(2, 3) @ m.ones(4), ["[2, 3]", "[4]"]),
    (lambda m: m.ones(2, 2, 3) @ m.ones(2, 4, 5), ["[2, 2, 3]", "[2, 4, 5]"]),
    (lambda m: m.ones(2, 2, 3) @ m.ones(3, 3, 5), ["[2]", "[3]"]),
    (lambda m: m.ones(()) @ m.ones(3), ["0D"]),
    (lambda m: m.ones(2, 3) @ m.ones(3, 2, dtype=m.float64), ["float32", "float64"]),
    (lambda m: m.mm(m.ones(3), m.ones(3, 2)), ["2D"]),
    (lambda m: m.bmm(m.ones(2, 3, 4), m.ones(3, 4, 5)), ["[2, 3, 4]", "[3, 4, 5]"]),
    (lambda m: m.bmm(m.ones(3, 4), m.ones(4, 5)), ["3D"]),
    (lambda m: m.mv(m.ones(3, 4), m.ones(3, 4)), ["vector"]),
    (lambda m: m.dot(m.ones(3), m.ones(4)), ["3", "4"]),
    (lambda m: m.dot(m.ones(3, 1), m.ones(3)), ["1D"]),
])
def test_matmul_errors(case, fragments):
    raises_both(case, RuntimeError, *fragments)


def test_outer_and_inner():
    run([(3,), (4,)], lambda m, a, b: m.outer(a, b))
    run([(3,), (4,)], lambda m, a, b: a.ger(b))
    run([(2, 4), (3, 4)], lambda m, a, b: m.inner(a, b))
    run([(4,), (2, 3, 4)], lambda m, a, b: a.inner(b))
    run([(), (2, 3)], lambda m, a, b: m.inner(a, b))
    raises_both(lambda m: m.inner(m.ones(2, 3), m.ones(2, 4)), RuntimeError, "[2, 3]", "[2, 4]")
    raises_both(lambda m: m.outer(m.ones(2, 3), m.ones(2)), RuntimeError, "1D")


# ---- T / mT --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,), ()])
def test_T(shape):
    run([shape], lambda m, x: x.T * 2)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (1, 2, 3, 4)])
def test_mT(shape):
    run([shape], lambda m, x: x.mT @ x)
    e = ember.zeros(shape)
    assert e.mT._vc is e._vc  # a view, as in PyTorch


# ---- linear ----------------------------------------------------------------------------------
@pytest.mark.parametrize("xshape", [(5, 4), (4,), (2, 3, 4), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    shapes = [xshape, (3, 4)] + ([(3,)] if bias else [])
    run(shapes, lambda m, x, w, *b: m.nn.functional.linear(x, w, *b))


def test_linear_vector_weight_broadcast_bias_and_gradcheck():
    run([(2, 4), (4,)], lambda m, x, w: m.nn.functional.linear(x, w))
    for bshape in [(), (1,), (2, 3), (2, 1)]:
        run([(2, 4), (3, 4), bshape], lambda m, x, w, b: m.nn.functional.linear(x, w, b))
    check_gradcheck([(2, 3), (4, 3), (4,)], lambda x, w, b: ember.nn.functional.linear(x, w, b).tanh())
    check_gradcheck([(2, 2, 3), (4, 3)], lambda x, w: ember.nn.functional.linear(x, w) ** 2)


def test_linear_errors():
    raises_both(lambda m: m.nn.functional.linear(m.ones(64, 784), m.ones(10, 100)), RuntimeError,
                "(64x784 and 100x10)")
    raises_both(lambda m: m.nn.functional.linear(m.ones(2, 3), m.ones(4, 3, dtype=m.float64)),
                RuntimeError, "float32", "float64")
    raises_both(lambda m: m.nn.functional.linear(m.ones(()), m.ones(3, 4)), RuntimeError, "[3, 4]", "[]")
    raises_both(lambda m: m.nn.functional.linear(m.ones(2, 4), m.ones(3, 4, 1)), RuntimeError, "[3, 4, 1]")
    raises_both(lambda m: m.nn.functional.linear(m.ones(2, 4), m.ones(3, 4), m.ones(4)), RuntimeError, "4")


# ---- einsum -------------------------------------------------------------------------------
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(2, 3)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i", [(3,), (3,)]),
    ("ij,k->i", [(2, 3), (4,)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk->...ik", [(3, 4), (2, 4, 2)]),
    ("ab...->", [(2, 3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("aB", [(2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("ij,ij,i->j", [(2, 3), (2, 3), (2,)]),
    ("ji,ij->", [(3, 3), (3, 3)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM)
def test_einsum(eq, shapes):
    run(shapes, lambda m, *ops: m.einsum(eq, *ops))


@pytest.mark.parametrize("eq,shapes", [EINSUM[i] for i in (0, 4, 6, 11, 12, 14, 19, 21)])
def test_einsum_gradcheck(eq, shapes):
    check_gradcheck(shapes, lambda *ops: ember.einsum(eq, *ops))


def test_einsum_call_forms_and_dtypes():
    run([(2, 3), (3, 4)], lambda m, a, b: m.einsum("ij,jk->ik", [a, b]))
    run([(2, 3), (3, 4)], lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    run([(2, 3), (3, 4)], lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2]))
    run([(2, 3, 4), (4, 5)], lambda m, a, b: m.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2]))
    run([(2, 3), (3, 4)], lambda m, a, b: m.einsum("ij,jk->ik", a, b), dtype="int64")
    run([(2, 3), (3, 4)], lambda m, a, b: m.einsum("ij,jk->ik", a, b), dtype="float64")


def test_einsum_double_backward():
    (a, b), (ta, tb) = make_inputs([(2, 3), (3, 3)], "float64")
    for m, x, y in ((ember, a, b), (torch, ta, tb)):
        out = m.einsum("ij,jj,jk->ik", x, y, y).sin().sum()
        gy, = m.autograd.grad(out, y, create_graph=True)
        (gy * gy).sum().backward()
    assert_close(a.grad, ta.grad)
    assert_close(b.grad, tb.grad)


def test_einsum_result_is_not_a_view():
    x = ember.ones(2, 3)
    y = ember.einsum("ij->ji", x)
    y[0, 0] = 5.0
    assert x[0, 0].item() == 1.0


@pytest.mark.parametrize("case,fragments", [
    (lambda m: m.einsum("ij,jk", m.ones(2, 3)), ["fewer operands"]),
    (lambda m: m.einsum("ij", m.ones(2, 3), m.ones(2)), ["more operands"]),
    (lambda m: m.einsum("ijk->ij", m.ones(2, 3)), ["(3)", "(2)", "operand 0"]),
    (lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(4, 2)), ["subscript j has size 4 for operand 1",
                                                               "previously seen size 3"]),
    (lambda m: m.einsum("ij->k", m.ones(2, 3)), ["output subscript k does not appear"]),
    (lambda m: m.einsum("ij->ii", m.ones(2, 3)), ["output subscript i appears more than once"]),
    (lambda m: m.einsum("i1", m.ones(2, 3)), ["invalid subscript given at index 1"]),
    (lambda m: m.einsum("ii", m.ones(2, 3)), ["subscript i is repeated for operand 0", "2 != 3"]),
    (lambda m: m.einsum("i,i", m.ones(3), m.ones(3, dtype=m.int64)), ["float32", "int64"]),
])
def test_einsum_errors(case, fragments):
    raises_both(case, RuntimeError, *fragments)


@pytest.mark.parametrize("case,exc,fragments", [
    (lambda m: m.einsum("i.j", m.ones(2, 3)), RuntimeError, ["'.'", "operand 0"]),
    (lambda m: m.einsum("ijk...", m.ones(2, 3)), RuntimeError, ["more than the number of dimensions"]),
    (lambda m: m.einsum(m.ones(2, 3), [0, 60]), ValueError, ["[0, 52)"]),
    (lambda m: m.einsum(), ValueError, ["at least one operand"]),
    (lambda m: m.einsum("ij"), ValueError, ["at least one operand"]),
    (lambda m: m.einsum("ij", [1, 2]), TypeError, ["int"]),
])
def test_einsum_argument_errors(case, exc, fragments):
    raises_both(case, exc, *fragments)


# ---- tensordot --------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])), ((2, 3), (4, 5), 0),
    ((2, 3), (3, 4), 1), ((2, 3, 4), (4, 2), ([0, 2], [1, 0])), ((3, 4), (4, 3), ([-1], [0])),
])
def test_tensordot(sa, sb, dims):
    run([sa, sb], lambda m, a, b: m.tensordot(a, b, dims))


def test_tensordot_tensor_dims_gradcheck_and_errors():
    run([(2, 3, 4), (3, 4, 5)], lambda m, a, b: m.tensordot(a, b, dims=m.tensor(2)))
    check_gradcheck([(2, 3), (3, 2)], lambda a, b: ember.tensordot(a, b, 1))
    raises_both(lambda m: m.tensordot(m.ones(2, 3), m.ones(4, 5), dims=1), RuntimeError,
                "contracted dimensions need to match", "size 3", "size 4")
    raises_both(lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 5), dims=([1], [0, 1])), RuntimeError,
                "same length")
    raises_both(lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 4), dims=3), RuntimeError, "dims", "3")
    raises_both(lambda m: m.tensordot(m.ones(2, 3), m.ones(3, 4), dims=-1), RuntimeError, "dims", "-1")


# ---- composed products -------------------------------------------------------------------
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_add_products(beta, alpha):
    kw = dict(beta=beta, alpha=alpha)
    run([(2, 4), (2, 3), (3, 4)], lambda m, c, a, b: m.addmm(c, a, b, **kw))
    run([(4,), (2, 3), (3, 4)], lambda m, c, a, b: m.addmm(c, a, b, **kw))
    run([(2,), (2, 3), (3,)], lambda m, c, a, b: m.addmv(c, a, b, **kw))
    run([(2, 3), (2,), (3,)], lambda m, c, a, b: m.addr(c, a, b, **kw))
    run([(2, 3, 4), (2, 3, 5), (2, 5, 4)], lambda m, c, a, b: m.baddbmm(c, a, b, **kw))
    run([(3, 4), (2, 3, 5), (2, 5, 4)], lambda m, c, a, b: m.addbmm(c, a, b, **kw))
    run([(2, 4), (2, 3), (3, 4)], lambda m, c, a, b: (c * 1).addmm_(a, b, **kw) * 1)
    run([(2, 4), (2, 3), (3, 4)], lambda m, c, a, b: c.addmm(a, b, **kw))


def test_add_products_beta_zero_ignores_nan_and_errors():
    for m in (ember, torch):
        out = m.addmm(m.full((2, 2), float("nan")), m.ones(2, 3), m.ones(3, 2), beta=0)
        assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    check_gradcheck([(2, 4), (2, 3), (3, 4)], lambda c, a, b: ember.addmm(c, a, b, beta=0.5, alpha=2))
    raises_both(lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(4, 2)), RuntimeError, "(2x3 and 4x2)")
    raises_both(lambda m: m.addbmm(m.ones(2, 2), m.ones(2, 2, 3), m.ones(3, 3, 2)), RuntimeError,
                "[2, 2, 3]", "[3, 3, 2]")
    raises_both(lambda m: m.baddbmm(m.ones(2, 2), m.ones(2, 2, 3), m.ones(2, 4, 2)), RuntimeError,
                "[2, 2, 3]", "[2, 4, 2]")


@pytest.mark.parametrize("sa,sb", [((2,), (3,)), ((2, 3), (4, 2)), ((2,), (2, 3)), ((2, 1, 3), (2, 2)),
                                   ((), (3,))])
def test_kron(sa, sb):
    run([sa, sb], lambda m, a, b: m.kron(a, b))
    run([sa, sb], lambda m, a, b: a.kron(b), dtype="int32")


@pytest.mark.parametrize("sa,sb,dim", [((4, 3), (4, 3), 1), ((3, 2), (3, 2), 0), ((2, 3), (1, 3), -1),
                                       ((2, 3, 3), (2, 3, 3), None)])
def test_cross(sa, sb, dim):
    if dim is None:
        run([sa, sb], lambda m, a, b: m.linalg.cross(a, b, dim=1) if m is torch else m.cross(a, b))
    else:
        run([sa, sb], lambda m, a, b: m.cross(a, b, dim=dim))
        run([sa, sb], lambda m, a, b: a.cross(b, dim))


def test_cross_gradcheck_and_errors():
    check_gradcheck([(2, 3), (2, 3)], lambda a, b: ember.cross(a, b, dim=1))
    raises_both(lambda m: m.cross(m.ones(2, 4), m.ones(2, 4)), RuntimeError, "no dimension of size 3")
    raises_both(lambda m: m.cross(m.ones(3, 4), m.ones(3, 4), dim=1), RuntimeError, "must have length 3")
    raises_both(lambda m: m.cross(m.ones(2, 3), m.ones(3), dim=-1), RuntimeError, "number of dimensions")
    raises_both(lambda m: m.cross(m.ones(2, 3), m.ones(4, 3), dim=1), RuntimeError, "[2, 3]", "[4, 3]")


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (0, 3)])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_trace(shape, dtype):
    run([shape], lambda m, x: m.trace(x), dtype=dtype)
    run([shape], lambda m, x: x.trace(), dtype=dtype)


def test_trace_gradcheck_and_errors():
    check_gradcheck([(3, 4)], lambda x: (x * x).trace())
    raises_both(lambda m: m.trace(m.ones(3)), RuntimeError, "expected a matrix")
