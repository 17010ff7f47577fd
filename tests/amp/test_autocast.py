"""autocast against PyTorch's CPU autocast (float16): each listed op's output dtype and
values, gradients in each input's own dtype, and the region mechanics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, to_torch

torch = pytest.importorskip("torch")

H, S = "float16", "float32"


def _f(lib):
    return lib.nn.functional


# (name, [(shape, dtype, low, high)] inputs, fn(lib, *inputs)); integer targets are made in fn
LOWER = [
    ("matmul", [((3, 4), S), ((4, 5), S)], lambda L, a, b: a @ b),
    ("matmul method", [((2, 3, 4), S), ((4, 5), S)], lambda L, a, b: a.matmul(b)),
    ("mm", [((3, 4), S), ((4, 5), S)], lambda L, a, b: L.mm(a, b)),
    ("bmm", [((2, 3, 4), S), ((2, 4, 5), S)], lambda L, a, b: L.bmm(a, b)),
    ("linear", [((3, 4), S), ((5, 4), S), ((5,), S)], lambda L, x, w, b: _f(L).linear(x, w, b)),
    ("linear fp16 input", [((3, 4), H), ((5, 4), S)], lambda L, x, w: _f(L).linear(x, w)),
    ("addmm", [((3, 5), S), ((3, 4), S), ((4, 5), S)], lambda L, c, a, b: L.addmm(c, a, b, beta=0.5)),
    ("baddbmm", [((2, 3, 5), S), ((2, 3, 4), S), ((2, 4, 5), S)], lambda L, c, a, b: L.baddbmm(c, a, b)),
    ("addbmm", [((3, 5), S), ((2, 3, 4), S), ((2, 4, 5), S)], lambda L, c, a, b: L.addbmm(c, a, b)),
    ("conv1d", [((2, 3, 8), S), ((4, 3, 3), S), ((4,), S)], lambda L, x, w, b: _f(L).conv1d(x, w, b)),
    ("conv2d", [((2, 3, 6, 6), S), ((4, 3, 3, 3), S)], lambda L, x, w: _f(L).conv2d(x, w, padding=1)),
    ("conv3d", [((1, 2, 4, 4, 4), S), ((3, 2, 2, 2, 2), S)], lambda L, x, w: _f(L).conv3d(x, w)),
    ("conv_transpose1d", [((2, 3, 5), S), ((3, 4, 3), S)], lambda L, x, w: _f(L).conv_transpose1d(x, w)),
    ("conv_transpose2d", [((1, 3, 4, 4), S), ((3, 2, 3, 3), S)],
     lambda L, x, w: _f(L).conv_transpose2d(x, w, stride=2)),
    ("conv_transpose3d", [((1, 2, 3, 3, 3), S), ((2, 2, 2, 2, 2), S)],
     lambda L, x, w: _f(L).conv_transpose3d(x, w)),
    ("prelu", [((2, 3, 4), S), ((3,), S)], lambda L, x, w: _f(L).prelu(x, w)),
    ("scaled_dot_product_attention", [((2, 3, 4), S), ((2, 5, 4), S), ((2, 5, 4), S)],
     lambda L, q, k, v: _f(L).scaled_dot_product_attention(q, k, v)),
    ("module Linear", [((3, 4), S)], lambda L, x: _linear_module(L)(x)),
]

FP32 = [
    ("mse_loss", [((3, 4), H), ((3, 4), H)], lambda L, a, b: _f(L).mse_loss(a, b)),
    ("l1_loss", [((3, 4), H), ((3, 4), H)], lambda L, a, b: _f(L).l1_loss(a, b)),
    ("smooth_l1_loss", [((3, 4), H), ((3, 4), H)], lambda L, a, b: _f(L).smooth_l1_loss(a, b)),
    ("huber_loss", [((3, 4), H), ((3, 4), H)], lambda L, a, b: _f(L).huber_loss(a, b, delta=0.5)),
    ("cross_entropy", [((4, 5), H)], lambda L, x: _f(L).cross_entropy(x, L.tensor([0, 4, 2, 1]))),
    ("nll_loss", [((4, 5), H)], lambda L, x: _f(L).nll_loss(x, L.tensor([0, 4, 2, 1]))),
    ("binary_cross_entropy", [((3, 4), H, 0.1, 0.9), ((3, 4), H, 0.0, 1.0)],
     lambda L, p, t: _f(L).binary_cross_entropy(p, t)),
    ("binary_cross_entropy_with_logits", [((3, 4), H), ((3, 4), H, 0.0, 1.0)],
     lambda L, x, t: _f(L).binary_cross_entropy_with_logits(x, t)),
    ("kl_div", [((3, 4), H), ((3, 4), H, 0.1, 1.0)], lambda L, x, t: _f(L).kl_div(x, t, reduction="batchmean")),
    ("poisson_nll_loss", [((3, 4), H), ((3, 4), H, 0.0, 3.0)], lambda L, x, t: _f(L).poisson_nll_loss(x, t)),
    ("soft_margin_loss", [((3, 4), H)], lambda L, x: _f(L).soft_margin_loss(x, _signs(L, (3, 4)))),
    ("multi_margin_loss", [((4, 5), H)], lambda L, x: _f(L).multi_margin_loss(x, L.tensor([0, 4, 2, 1]))),
    ("margin_ranking_loss", [((6,), H), ((6,), H)],
     lambda L, a, b: _f(L).margin_ranking_loss(a, b, _signs(L, (6,)), margin=0.1)),
    ("hinge_embedding_loss", [((3, 4), H)], lambda L, x: _f(L).hinge_embedding_loss(x, _signs(L, (3, 4)))),
    ("cosine_embedding_loss", [((4, 5), H), ((4, 5), H)],
     lambda L, a, b: _f(L).cosine_embedding_loss(a, b, _signs(L, (4,)))),
    ("triplet_margin_loss", [((4, 5), H), ((4, 5), H), ((4, 5), H)],
     lambda L, a, p, n: _f(L).triplet_margin_loss(a, p, n)),
    ("prod", [((3, 4), H, 0.5, 1.5)], lambda L, x: L.prod(x, 1)),
    ("prod method", [((3, 4), H, 0.5, 1.5)], lambda L, x: x.prod()),
    ("trace", [((4, 4), H)], lambda L, x: L.trace(x)),
    ("cdist", [((3, 4), H), ((5, 4), H)], lambda L, a, b: L.cdist(a, b)),
]

# Not on PyTorch's CPU lists: they run in the dtype they are given.
UNLISTED = [
    ("softmax", [((3, 4), H)], lambda L, x: _f(L).softmax(x, -1)),
    ("log_softmax", [((3, 4), H)], lambda L, x: _f(L).log_softmax(x, -1)),
    ("exp", [((3, 4), H)], lambda L, x: L.exp(x)),
    ("sum", [((3, 4), H)], lambda L, x: x.sum(0)),
    ("layer_norm", [((3, 4), H)], lambda L, x: _f(L).layer_norm(x, (4,))),
    ("relu", [((3, 4), S)], lambda L, x: _f(L).relu(x)),
    ("add", [((3, 4), H), ((3, 4), S)], lambda L, a, b: a + b),
    ("cat", [((3, 4), H), ((2, 4), S)], lambda L, a, b: L.cat([a, b])),
]


def _signs(L, shape):
    return L.tensor(np.where(np.arange(int(np.prod(shape))) % 3 == 0, -1.0, 1.0).reshape(shape).astype(np.float32))


def _linear_module(L):
    L.manual_seed(0)
    m = L.nn.Linear(4, 3)
    with L.no_grad():
        m.weight.copy_(L.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)))
        m.bias.copy_(L.tensor(np.array([0.1, -0.2, 0.3], np.float32)))
    return m


def _inputs(specs, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        shape, dtype = spec[:2]
        low, high = spec[2:] if len(spec) > 2 else (-2.0, 2.0)
        arrays.append(rng.uniform(low, high, shape).astype(dtype))
    return ([ember.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _run(specs, fn):
    e_in, t_in = _inputs(specs)
    with ember.autocast("cpu", dtype=ember.float16):
        e_out = fn(ember, *e_in)
    with torch.autocast("cpu", dtype=torch.float16):
        t_out = fn(torch, *t_in)
    return e_in, t_in, e_out, t_out


@pytest.mark.parametrize("name,specs,fn", LOWER + FP32 + UNLISTED, ids=[c[0] for c in LOWER + FP32 + UNLISTED])
def test_op_dtype_value_and_gradients_match_torch(name, specs, fn):
    e_in, t_in, e_out, t_out = _run(specs, fn)
    # float16 results carry float16 rounding; float32 ones computed from float16 inputs agree closely
    tol = (2e-2, 2e-2) if t_out.dtype == torch.float16 else (1e-3, 1e-3)
    assert_close(e_out, t_out, *tol)
    cot = np.random.default_rng(1).uniform(-1, 1, tuple(t_out.shape)).astype(str(t_out.dtype).replace("torch.", ""))
    e_out.backward(ember.tensor(cot))
    t_out.backward(torch.tensor(cot))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        assert (e.grad is None) == (t.grad is None), f"input {i}: gradient presence"
        if t.grad is not None:
            assert e.grad.dtype is e.dtype, f"input {i}: gradient dtype {e.grad.dtype}, parameter {e.dtype}"
            assert_close(e.grad, t.grad, 5e-2, 5e-2, f"gradient of input {i}")


def test_lower_op_output_is_autocast_dtype_and_fp32_op_output_is_float32():
    # the lists themselves: a float32 matmul runs in float16, a float16 loss in float32
    a = ember.randn(3, 4)
    with ember.autocast("cpu", dtype=ember.float16):
        assert (a @ a.T).dtype is ember.float16
        assert ember.nn.functional.mse_loss(a.half(), a.half()).dtype is ember.float32
    assert (a @ a.T).dtype is ember.float32


def test_inner_ops_of_an_fp32_op_stay_float32():
    # cdist is float32-listed; the products inside it must not drop back to float16
    e_in, t_in = _inputs([((6, 3), S, 100.0, 101.0), ((5, 3), S, 100.0, 101.0)])
    with ember.autocast("cpu"):
        e = ember.cdist(*e_in)
    t = torch.cdist(*t_in)
    assert_close(e, t, 1e-4, 1e-5)


def test_float64_inputs_are_not_cast():
    a = ember.randn(3, 4, dtype=ember.float64)
    with ember.autocast("cpu"):
        assert (a @ a.T).dtype is ember.float64


def test_explicit_out_and_dtype_are_not_autocast():
    a, b = ember.randn(3, 4), ember.randn(4, 5)
    ta, tb = to_torch(a), to_torch(b)
    out, tout = ember.empty(3, 5), torch.empty(3, 5)
    with ember.autocast("cpu"), warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.mm(a, b, out=out)
        e_prod = ember.prod(a.half(), dtype=ember.float16)
    with torch.autocast("cpu", dtype=torch.float16):
        torch.mm(ta, tb, out=tout)
        t_prod = torch.prod(ta.half(), dtype=torch.float16)
    assert_close(out, tout)
    assert_close(e_prod, t_prod, 1e-2, 1e-2)


def test_backward_inside_the_region_gives_parameter_dtype_gradients():
    x = ember.randn(4, 3)
    model = ember.nn.Sequential(ember.nn.Linear(3, 5), ember.nn.ReLU(), ember.nn.Linear(5, 2))
    with ember.autocast("cpu"):
        loss = ember.nn.functional.cross_entropy(model(x), ember.tensor([0, 1, 1, 0]))
        assert loss.dtype is ember.float32
        loss.backward()
    assert all(p.grad.dtype is ember.float32 for p in model.parameters())


def test_nesting_enabled_false_and_restore():
    assert not ember.is_autocast_enabled("cpu")
    with ember.autocast("cpu"):
        assert ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
            assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.float32
            with ember.autocast("cpu"):
                assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.bfloat16
        assert ember.is_autocast_enabled("cpu")
    assert not ember.is_autocast_enabled("cpu")
    with pytest.raises(ValueError):
        with ember.autocast("cpu"):
            raise ValueError("leaves the region")
    assert not ember.is_autocast_enabled("cpu")
    assert ember.is_autocast_enabled() is torch.is_autocast_enabled() is False


def test_decorator():
    @ember.autocast("cpu")
    def forward(a, b):
        assert ember.is_autocast_enabled("cpu")
        return a @ b

    assert forward(ember.ones(2, 3), ember.ones(3, 2)).dtype is ember.bfloat16
    assert not ember.is_autocast_enabled("cpu")


def test_unsupported_dtype_warns_and_disables_like_torch():
    for e_dtype, t_dtype in ((ember.float32, torch.float32), (ember.float64, torch.float64)):
        with pytest.warns(UserWarning, match="target dtype is not supported"):
            e = ember.autocast("cpu", dtype=e_dtype)
        with pytest.warns(UserWarning, match="target dtype is not supported"):
            t = torch.autocast("cpu", dtype=t_dtype)
        with e:
            assert ember.is_autocast_enabled("cpu") is False
        with t:
            assert torch.is_autocast_enabled("cpu") is False


def test_dtype_must_be_an_ember_dtype():
    with pytest.raises(TypeError, match="ember.bfloat16"):
        ember.autocast("cpu", dtype="bfloat16")
    with pytest.raises(TypeError, match="ember.bfloat16"):
        ember.autocast("cpu", dtype=torch.bfloat16)


def test_cpu_default_is_bfloat16_like_torch():
    assert str(ember.get_autocast_dtype("cpu")).split(".")[1] == str(torch.get_autocast_dtype("cpu")).split(".")[1]
    assert str(ember.get_autocast_dtype("cuda")).split(".")[1] == str(torch.get_autocast_dtype("cuda")).split(".")[1]
    with ember.autocast("cpu"), torch.autocast("cpu"):
        e, t = ember.ones(2, 3) @ ember.ones(3, 2), torch.ones(2, 3) @ torch.ones(3, 2)
        assert e.dtype is ember.bfloat16 and t.dtype is torch.bfloat16


def test_bfloat16_region_like_torch():
    rs = np.random.RandomState(0)
    x, w, target = rs.randn(4, 5), rs.randn(3, 5), np.array([0, 2, 1, 0])
    out = {}
    for lib in (ember, torch):
        xt = lib.tensor(x, dtype=lib.float32)
        wt = lib.tensor(w, dtype=lib.float32, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            y = _f(lib).linear(xt, wt)  # lower: bfloat16
            loss = _f(lib).cross_entropy(y, lib.tensor(target))  # fp32-listed: float32
        loss.backward()
        out[lib] = (y, loss, wt.grad)
    (ey, el, eg), (ty, tl, tg) = out[ember], out[torch]
    assert ey.dtype is ember.bfloat16 and el.dtype is ember.float32 and eg.dtype is ember.float32
    assert ty.dtype is torch.bfloat16 and tl.dtype is torch.float32 and tg.dtype is torch.float32
    # the bfloat16 GEMM accumulates in float32 and rounds once in both: equal bits
    np.testing.assert_array_equal(ey.float().detach().numpy(), ty.float().detach().numpy())
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-6)
    np.testing.assert_allclose(eg.numpy(), tg.numpy(), rtol=1e-2, atol=1e-3)


def test_bad_device_type_like_torch():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ember.autocast("tpu")
    with pytest.raises(RuntimeError):
        torch.autocast("tpu")
    with pytest.raises(ValueError):
        ember.autocast(0)
    with pytest.raises(ValueError):
        torch.autocast(0)


@pytest.mark.skipif(ember.cuda.is_available(), reason="CUDA present: autocast('cuda') is active")
def test_cuda_autocast_without_cuda_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        region = ember.autocast("cuda")
    with region:
        assert not ember.is_autocast_enabled("cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ember.cuda.amp.autocast()
    assert sorted(w.category.__name__ for w in caught) == ["FutureWarning", "UserWarning"]


def test_aliases():
    from ember.cpu.amp import autocast as cpu_autocast
    from ember.cuda.amp import GradScaler, autocast as cuda_autocast
    assert ember.amp.autocast is ember.autocast
    assert issubclass(cuda_autocast, ember.autocast) and issubclass(GradScaler, ember.amp.GradScaler)
    with pytest.warns(FutureWarning, match="ember.amp.autocast\\('cpu'"):
        region = cpu_autocast()
    with region:
        assert ember.is_autocast_enabled("cpu")
        assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.bfloat16
    assert isinstance(region, ember.autocast)


def test_every_listed_op_goes_through_the_dispatch_point():
    # a name in the lists that no public op is decorated with would silently never be cast
    from ember.amp.op_lists import LISTED
    namespaces = (ember, ember.nn.functional, ember.linalg)
    wrapped = {fn.__name__ for ns in namespaces for fn in vars(ns).values()
               if getattr(getattr(fn, "__code__", None), "co_filename", "").endswith("autocast_mode.py")}
    assert sorted(LISTED - wrapped) == []


def test_promote_and_refuse_policies(monkeypatch):
    # CUDA's lists use them; the mechanism is the same for every device type
    from ember.amp import op_lists
    monkeypatch.setitem(op_lists.POLICIES["cpu"], "dot", op_lists.PROMOTE)
    monkeypatch.setitem(op_lists.POLICIES["cpu"], "binary_cross_entropy", op_lists.REFUSE)
    h = ember.tensor([1.0, 2.0], dtype=ember.float16, requires_grad=True)
    s = ember.tensor([3.0, 4.0], requires_grad=True)
    with ember.autocast("cpu"):
        out = ember.dot(h, s)
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            ember.nn.functional.binary_cross_entropy(s.sigmoid(), s.detach().sigmoid())
    assert out.dtype is ember.float32 and out.item() == 11.0
    out.backward()
    assert h.grad.dtype is ember.float16 and s.grad.dtype is ember.float32
