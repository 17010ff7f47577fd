"""ember.special (and the top-level lgamma, digamma, polygamma, mvlgamma, i0, sinc, igamma)
against torch.special: random inputs, edge values (0, -0, negative non-integers, large, inf,
nan), float32/float64 and integer inputs promoted as PyTorch promotes them."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import TOL, assert_close, torch

EDGES = [0.0, -0.0, -1.0, -1.5, -0.5, 0.5, 1.0, 2.5, 30.0, -30.0, np.inf, -np.inf, np.nan]
# PyTorch's polygamma(n >= 1) at the poles (non-positive integers) returns whatever its
# series gives there (6.6e32 for polygamma(1, -1)): a pole is not a value to compare
EDGES_OFF_POLES = [v for v in EDGES if not (v <= 0 and float(v).is_integer())] + [0.0]

UNARY = ["gammaln", "digamma", "psi", "erf", "erfc", "erfcx", "erfinv", "expit", "logit", "i0",
         "i0e", "i1", "i1e", "sinc", "ndtr", "ndtri", "log_ndtr", "entr", "log1p", "expm1", "exp2",
         "round", "bessel_j0", "bessel_j1", "spherical_bessel_j0"]
UNARY_CASES = [(n, (lambda name: lambda m, x: getattr(m.special, name)(x))(n)) for n in UNARY] + [
    ("polygamma0", lambda m, x: m.special.polygamma(0, x)),
    ("polygamma1", lambda m, x: m.special.polygamma(1, x)),
    ("polygamma3", lambda m, x: m.special.polygamma(3, x)),
    ("multigammaln1", lambda m, x: m.special.multigammaln(x, 1)),
    ("multigammaln3", lambda m, x: m.special.multigammaln(x, 3)),
    ("logit_eps", lambda m, x: m.special.logit(x, eps=1e-3)),
    ("lgamma", lambda m, x: m.lgamma(x)),
    ("top_digamma", lambda m, x: m.digamma(x)),
    ("top_polygamma2", lambda m, x: m.polygamma(2, x)),
    ("mvlgamma2", lambda m, x: m.mvlgamma(x, p=2)),
    ("top_i0", lambda m, x: m.i0(x)),
    ("top_sinc", lambda m, x: m.sinc(x)),
    ("method_lgamma", lambda m, x: x.lgamma()),
    ("method_digamma", lambda m, x: x.digamma()),
    ("method_polygamma", lambda m, x: x.polygamma(1)),
    ("method_mvlgamma", lambda m, x: x.mvlgamma(2)),
    ("method_i0", lambda m, x: x.i0()),
    ("method_sinc", lambda m, x: x.sinc()),
]


def _pair(dtype, values):
    arr = np.asarray(values, dtype=dtype)
    return ember.tensor(arr), torch.tensor(arr)


def _tol(dtype):
    return TOL.get(dtype, TOL["float32"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_random_and_edges(name, fn, dtype):
    rng = np.random.default_rng(1)
    edges = EDGES_OFF_POLES if "polygamma" in name else EDGES
    values = np.concatenate([rng.uniform(-4, 6, 40), rng.uniform(0, 1, 10), edges])
    e, t = _pair(dtype, values.reshape(7, -1) if values.size % 7 == 0 else values)
    atol, rtol = _tol(dtype)
    if name.startswith("bessel_j"):  # PyTorch's rational approximations for x > 5 are good to ~3e-7
        atol = max(atol, 1e-6)
    assert_close(fn(ember, e), fn(torch, t), atol, rtol)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name,fn", UNARY_CASES, ids=[c[0] for c in UNARY_CASES])
def test_unary_integer_inputs_promote(name, fn, dtype):
    values = np.array([0, 1, 1, 0]) if dtype == "bool" else np.arange(0, 9)
    e, t = _pair(dtype, values)
    _same_outcome(lambda: fn(ember, e), lambda: fn(torch, t))


def _same_outcome(ember_call, torch_call, what: str = "value"):
    """torch's result, or its exception type (special.round of an integer tensor, ...)."""
    try:
        expected = torch_call()
    except (TypeError, RuntimeError, NotImplementedError) as err:
        with pytest.raises(type(err)):
            ember_call()
        return
    assert_close(ember_call(), expected, *_tol("float32"), what=what)


def test_zero_dim_and_empty():
    for shape in [(), (0,), (2, 0, 3)]:
        arr = np.full(shape, 0.7)
        for name in ["gammaln", "digamma", "i1e", "ndtri", "sinc", "bessel_j1"]:
            assert_close(getattr(ember.special, name)(ember.tensor(arr)),
                         getattr(torch.special, name)(torch.tensor(arr)), what=f"{name}{shape}")


BINARY = ["xlogy", "xlog1py", "gammainc", "gammaincc", "zeta"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", BINARY)
def test_binary_edge_grid_and_broadcast(name, dtype):
    grid = np.array(EDGES + [2.0, 3.5])
    a, b = np.meshgrid(grid, grid, indexing="ij")
    (ea, ta), (eb, tb) = _pair(dtype, a), _pair(dtype, b)
    fe, ft = getattr(ember.special, name), getattr(torch.special, name)
    assert_close(fe(ea, eb), ft(ta, tb), *_tol(dtype))
    rng = np.random.default_rng(2)
    (ea, ta), (eb, tb) = _pair(dtype, rng.uniform(0.1, 4, (3, 1))), _pair(dtype, rng.uniform(-1, 4, (5,)))
    assert_close(fe(ea, eb), ft(ta, tb), *_tol(dtype), what="broadcast")


@pytest.mark.parametrize("name", BINARY)
def test_binary_numbers_and_integer_promotion(name):
    fe, ft = getattr(ember.special, name), getattr(torch.special, name)
    (ei, ti), (ef, tf) = _pair("int64", [1, 2, 3]), _pair("float64", [0.5, 1.5, 2.5])
    for what, (a_e, a_t), (b_e, b_t) in [("int, int", (ei, ti), (ei, ti)), ("int, float64", (ei, ti), (ef, tf)),
                                          ("number, tensor", (2.0, 2.0), (ef, tf)),
                                          ("tensor, number", (ef, tf), (3, 3))]:
        _same_outcome(lambda: fe(a_e, b_e), lambda: ft(a_t, b_t), what)


def test_top_level_igamma_and_methods():
    (ea, ta), (ex, tx) = _pair("float64", [0.5, 1.0, 3.0]), _pair("float64", [0.2, 2.0, 1.0])
    assert_close(ember.igamma(ea, ex), torch.igamma(ta, tx))
    assert_close(ember.igammac(ea, ex), torch.igammac(ta, tx))
    assert_close(ea.igamma(ex), ta.igamma(tx))
    assert_close(ea.igammac(ex), ta.igammac(tx))


INPLACE = [("lgamma_", ()), ("digamma_", ()), ("polygamma_", (2,)), ("mvlgamma_", (2,)),
           ("i0_", ()), ("sinc_", ()), ("igamma_", "other"), ("igammac_", "other")]


@pytest.mark.parametrize("name,args", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_forms(name, args):
    values = np.array([0.7, 1.5, 2.0, 4.0])
    e, t = _pair("float64", values)
    if args == "other":
        args_e, args_t = (ember.tensor(values[::-1].copy()),), (torch.tensor(values[::-1].copy()),)
    else:
        args_e = args_t = args
    out_e, out_t = getattr(e, name)(*args_e), getattr(t, name)(*args_t)
    assert out_e is e and out_t is t
    assert_close(e, t)


def test_inplace_on_integer_tensor_is_refused_like_torch():
    e, t = _pair("int64", [1, 2, 3])
    with pytest.raises(RuntimeError):
        t.lgamma_()
    with pytest.raises(RuntimeError):
        e.lgamma_()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_logsumexp(dim):
    rng = np.random.default_rng(3)
    e, t = _pair("float32", rng.standard_normal((3, 4)))
    assert_close(ember.special.softmax(e, dim), torch.special.softmax(t, dim))
    assert_close(ember.special.log_softmax(e, dim), torch.special.log_softmax(t, dim))
    assert_close(ember.special.softmax(e, dim, dtype=ember.float64),
                 torch.special.softmax(t, dim, dtype=torch.float64))
    assert_close(ember.special.logsumexp(e, dim), torch.special.logsumexp(t, dim))
    assert_close(ember.special.logsumexp(e, dim, keepdim=True), torch.special.logsumexp(t, dim, keepdim=True))


def test_round_decimals():
    e, t = _pair("float64", [1.2345, -2.5, 0.5, 1234.5])
    assert_close(ember.special.round(e), torch.special.round(t))
    assert_close(ember.special.round(e, decimals=2), torch.special.round(t, decimals=2))


@pytest.mark.parametrize("name", ["gammaln", "i0e", "ndtr", "zeta", "multigammaln", "polygamma"])
def test_out_argument(name):
    (e, t) = _pair("float64", [1.5, 2.5, 3.0])
    args = {"zeta": lambda x: (x, x), "multigammaln": lambda x: (x, 2),
            "polygamma": lambda x: (1, x)}.get(name, lambda x: (x,))
    out_e, out_t = ember.empty(3, dtype=ember.float64), torch.empty(3, dtype=torch.float64)
    r_e = getattr(ember.special, name)(*args(e), out=out_e)
    r_t = getattr(torch.special, name)(*args(t), out=out_t)
    assert r_e is out_e and r_t is out_t
    assert_close(out_e, out_t)


def test_argument_errors_match_torch():
    (e, t) = _pair("float64", [1.5, 2.5])
    for call in [lambda m, x: m.special.polygamma(-1, x), lambda m, x: m.special.multigammaln(x, 0),
                 lambda m, x: m.special.gammaln([1.0, 2.0]), lambda m, x: m.special.polygamma(1.5, x)]:
        with pytest.raises(Exception) as torch_err:
            call(torch, t)
        with pytest.raises(type(torch_err.value)):
            call(ember, e)
