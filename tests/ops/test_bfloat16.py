"""bfloat16 against PyTorch's CPU bfloat16: the dtype object, promotion, ops and their
gradients (bit for bit where PyTorch computes in float32 and rounds once; within a stated
number of bfloat16 units in the last place where its kernel's arithmetic differs), autocast's
default, files, and conversions."""
from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RS = np.random.RandomState(0)
A = RS.randn(4, 6) * 3
B = RS.randn(4, 6)
P = np.abs(A) + 0.1
TARGET = [0, 1, 2, 5]


def _bf(lib, a, requires_grad=False):
    """The same bfloat16 values in either library (rounded once from float32)."""
    t = lib.tensor(np.asarray(a, np.float32)).to(lib.bfloat16)
    return t.requires_grad_() if requires_grad else t


def _bits(t) -> np.ndarray:
    """A bfloat16 (or other) result as exact float64 values."""
    return np.asarray(t.detach().float().numpy() if t.dtype.is_floating_point else t.detach().numpy(),
                      np.float64)


def _same_dtype(e, t) -> None:
    assert e.dtype.name == str(t.dtype).replace("torch.", ""), f"dtype {e.dtype} vs {t.dtype}"


def _ulp(v):
    return 2.0 ** (np.floor(np.log2(np.maximum(np.abs(v), 2.0 ** -126))) - 7)


def _assert_ulps(e, t, ulps: int, of_largest: int = 0) -> None:
    """Values within ``ulps`` bfloat16 units in the last place of PyTorch's (0 means equal bits),
    plus ``of_largest`` units of the largest value (for results that cancel to near zero)."""
    _same_dtype(e, t)
    a, b = _bits(e), _bits(t)
    if ulps == of_largest == 0:
        np.testing.assert_array_equal(a, b)
        return
    allowed = ulps * _ulp(b) + of_largest * _ulp(np.abs(b).max(initial=0))
    assert np.all(np.abs(a - b) <= allowed), f"beyond {ulps} ulp: {a} vs {b}"


# ---- the dtype ---------------------------------------------------------------------------
def test_dtype_object_like_torch():
    d = ember.bfloat16
    assert d.name == "bfloat16" and repr(d) == "ember.bfloat16"
    assert d.itemsize == torch.bfloat16.itemsize == 2
    assert d.is_floating_point is torch.bfloat16.is_floating_point is True
    assert d.is_complex is False
    for name in ("bfloat16", "float16", "float32", "float64"):
        e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(e, field) == getattr(t, field), (name, field)
    assert repr(ember.finfo(ember.bfloat16)) == repr(torch.finfo(torch.bfloat16))


def test_legacy_type_and_conversions():
    x = ember.tensor([0.1, 1.5, -3.25], dtype=ember.bfloat16)
    assert x.type() == "ember.BFloat16Tensor" and torch.tensor([1.0]).bfloat16().type() == "torch.BFloat16Tensor"
    assert isinstance(x, ember.BFloat16Tensor) and not isinstance(x.float(), ember.BFloat16Tensor)
    assert ember.BFloat16Tensor([1, 2]).dtype is ember.bfloat16
    assert x.element_size() == 2 and x.is_floating_point()
    assert ember.randn(3).bfloat16().dtype is ember.bfloat16
    assert x.to(ember.float32).to(ember.bfloat16).dtype is ember.bfloat16
    t = torch.tensor([0.1, 1.5, -3.25], dtype=torch.bfloat16)
    assert x.tolist() == t.tolist() and all(type(v) is float for v in x.tolist())
    assert type(x[0].item()) is float and x[0].item() == t[0].item()
    # numpy(): PyTorch raises TypeError; ember gives the bfloat16 array, same bits
    with pytest.raises(TypeError, match="BFloat16"):
        t.numpy()
    assert x.numpy().dtype.name == "bfloat16" and x.numpy().itemsize == 2
    np.testing.assert_array_equal(x.numpy().astype(np.float32), t.float().numpy())


def test_float64_to_bfloat16_rounds_like_torch():
    # values near bfloat16's rounding midpoints, where one rounding and two differ
    v = np.array([1 + 2.0 ** -8 + 2.0 ** -30, 1 + 2.0 ** -8, 3 * (1 + 2.0 ** -8) - 2.0 ** -40, 1e38, -7.3e-39])
    v = np.concatenate([v, RS.randn(200) * 1e3])
    _assert_ulps(ember.tensor(v).to(ember.bfloat16), torch.tensor(v).to(torch.bfloat16), 0)
    _assert_ulps(ember.tensor(v, dtype=ember.bfloat16), torch.tensor(v, dtype=torch.bfloat16), 0)


def test_printing_like_torch():
    for v in ([0.1, 1.5, -3.25], [1.0, 2.0], [1e-5, 3e4]):
        e, t = ember.tensor(v, dtype=ember.bfloat16), torch.tensor(v, dtype=torch.bfloat16)
        assert repr(e) == repr(t).replace("torch.", "ember.")
    e = ember.ones(2, dtype=ember.bfloat16, requires_grad=True)
    assert repr(e) == "tensor([1., 1.], dtype=ember.bfloat16, requires_grad=True)"


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(2, 3, dtype=L.bfloat16), lambda L: L.ones(2, dtype=L.bfloat16),
    lambda L: L.full((2,), 3.3, dtype=L.bfloat16), lambda L: L.arange(5, dtype=L.bfloat16),
    lambda L: L.arange(0, 2.5, 0.3, dtype=L.bfloat16),
    lambda L: L.eye(3, dtype=L.bfloat16), lambda L: L.zeros_like(L.ones(2, dtype=L.bfloat16)),
    lambda L: L.full_like(L.ones(2, dtype=L.bfloat16), 0.1), lambda L: L.tensor(1e39, dtype=L.bfloat16),
])
def test_creation_like_torch(make):
    _assert_ulps(make(ember), make(torch), 0)


@pytest.mark.parametrize("make", [
    lambda L: L.randn(3, dtype=L.bfloat16), lambda L: L.rand(3, dtype=L.bfloat16),
    lambda L: L.empty(3, dtype=L.bfloat16), lambda L: L.randn_like(L.ones(2, dtype=L.bfloat16)),
    lambda L: L.empty_like(L.ones(2, dtype=L.bfloat16)),
    # PyTorch's bfloat16 linspace steps in bfloat16 arithmetic: values may differ in the last bit
    lambda L: L.linspace(0, 1, 7, dtype=L.bfloat16),
])
def test_creation_dtype(make):
    _same_dtype(make(ember), make(torch))


# ---- promotion ---------------------------------------------------------------------------
_OTHERS = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool", "complex64"]


@pytest.mark.parametrize("other", _OTHERS)
def test_promotion_with_tensors_like_torch(other):
    e_o, t_o = getattr(ember, other), getattr(torch, other)
    assert ember.promote_types(ember.bfloat16, e_o).name == str(torch.promote_types(torch.bfloat16, t_o))[6:]
    assert ember.promote_types(e_o, ember.bfloat16).name == str(torch.promote_types(t_o, torch.bfloat16))[6:]
    for shape in ((3,), ()):  # a dimensioned other, and a 0-d one (which does not promote within its category)
        e = ember.ones(3, dtype=ember.bfloat16) + ember.ones(shape, dtype=e_o)
        t = torch.ones(3, dtype=torch.bfloat16) + torch.ones(shape, dtype=t_o)
        _same_dtype(e, t)


@pytest.mark.parametrize("scalar", [0.1, 3, 1e39])
def test_python_scalars_keep_bfloat16(scalar):
    for op in (lambda x, s: x + s, lambda x, s: x * s, lambda x, s: s - x, lambda x, s: x / s):
        _assert_ulps(op(_bf(ember, A), scalar), op(_bf(torch, A), scalar), 0)


# ---- forward values ----------------------------------------------------------------------
def _f(L):
    return L.nn.functional


# Ops PyTorch computes in float32 and rounds once (or which only move values): equal bits.
BITWISE = {
    "add": lambda L: _bf(L, A) + _bf(L, B), "sub": lambda L: _bf(L, A) - _bf(L, B),
    "mul": lambda L: _bf(L, A) * _bf(L, B), "div": lambda L: _bf(L, A) / _bf(L, B),
    "mul 0-d float32": lambda L: _bf(L, A) * L.tensor(0.1), "div number": lambda L: _bf(L, A) / 3.3,
    "pow": lambda L: _bf(L, P) ** 1.3, "exp": lambda L: _bf(L, B).exp(), "log": lambda L: _bf(L, P).log(),
    "sqrt": lambda L: _bf(L, P).sqrt(), "sin": lambda L: _bf(L, A).sin(), "tanh": lambda L: _bf(L, A).tanh(),
    "sigmoid": lambda L: _bf(L, A).sigmoid(), "erf": lambda L: L.erf(_bf(L, B)), "abs": lambda L: _bf(L, A).abs(),
    "floor": lambda L: _bf(L, A).floor(), "round": lambda L: _bf(L, A).round(),
    "reciprocal": lambda L: _bf(L, A).reciprocal(), "log1p": lambda L: _bf(L, P).log1p(),
    "expm1": lambda L: _bf(L, B).expm1(), "atan2": lambda L: L.atan2(_bf(L, A), _bf(L, B)),
    "maximum": lambda L: L.maximum(_bf(L, A), _bf(L, B)), "clamp": lambda L: _bf(L, A).clamp(-1.1, 2.2),
    "relu": lambda L: L.relu(_bf(L, A)), "gelu": lambda L: _f(L).gelu(_bf(L, A)),
    "gelu tanh": lambda L: _f(L).gelu(_bf(L, A), approximate="tanh"), "silu": lambda L: _f(L).silu(_bf(L, A)),
    "softplus": lambda L: _f(L).softplus(_bf(L, A)), "elu": lambda L: _f(L).elu(_bf(L, A)),
    "leaky_relu": lambda L: _f(L).leaky_relu(_bf(L, A), 0.1), "hardswish": lambda L: _f(L).hardswish(_bf(L, A)),
    "logsigmoid": lambda L: _f(L).logsigmoid(_bf(L, A)),
    "eq": lambda L: _bf(L, A) == _bf(L, B), "lt number": lambda L: _bf(L, A) < 0.5,
    "where": lambda L: L.where(_bf(L, A) > 0, _bf(L, A), _bf(L, B)),
    "masked_fill": lambda L: _bf(L, A).masked_fill(_bf(L, A) > 0, 0.1),
    "sum": lambda L: _bf(L, A).sum(), "sum dim": lambda L: _bf(L, A).sum(1), "mean": lambda L: _bf(L, A).mean(0),
    "var": lambda L: _bf(L, A).var(1), "std": lambda L: _bf(L, A).std(), "norm": lambda L: _bf(L, A).norm(),
    "vector_norm 1": lambda L: L.linalg.vector_norm(_bf(L, A), 1, dim=1),
    "max": lambda L: _bf(L, A).max(1).values, "argmax": lambda L: _bf(L, A).argmax(1),
    "amin": lambda L: _bf(L, A).amin(0), "cumsum": lambda L: _bf(L, A).cumsum(1),
    "cumprod": lambda L: _bf(L, P).cumprod(1), "logsumexp": lambda L: _bf(L, A).logsumexp(1),
    "matmul": lambda L: _bf(L, A) @ _bf(L, B).T,
    "matmul long": lambda L: _bf(L, np.tile(A, (1, 50))) @ _bf(L, np.tile(B, (1, 50))).T,
    "bmm": lambda L: L.bmm(_bf(L, A).reshape(2, 2, 6), _bf(L, B).reshape(2, 6, 2)),
    "linear": lambda L: _f(L).linear(_bf(L, A), _bf(L, B), _bf(L, B[0, :4])),
    "einsum": lambda L: L.einsum("ij,kj->ik", _bf(L, A), _bf(L, B)),
    "conv2d": lambda L: _f(L).conv2d(_bf(L, np.tile(A, (2, 2)).reshape(1, 2, 8, 6)), _bf(L, B[:, :4].reshape(2, 2, 2, 2)),
                                     _bf(L, B[0, :2])),
    "softmax": lambda L: L.softmax(_bf(L, A), 1),
    "cross_entropy": lambda L: _f(L).cross_entropy(_bf(L, A), L.tensor(TARGET)),
    "nll_loss": lambda L: _f(L).nll_loss(L.log_softmax(_bf(L, A), 1), L.tensor(TARGET)),
    "mse_loss": lambda L: _f(L).mse_loss(_bf(L, A), _bf(L, B)), "l1_loss": lambda L: _f(L).l1_loss(_bf(L, A), _bf(L, B)),
    "smooth_l1_loss": lambda L: _f(L).smooth_l1_loss(_bf(L, A), _bf(L, B)),
    "bce_with_logits": lambda L: _f(L).binary_cross_entropy_with_logits(_bf(L, A), _bf(L, (B > 0) * 1.0)),
    "layer_norm": lambda L: _f(L).layer_norm(_bf(L, A), (6,)),
    "layer_norm affine": lambda L: _f(L).layer_norm(_bf(L, A), (6,), _bf(L, B[0]), _bf(L, B[1])),
    "group_norm": lambda L: _f(L).group_norm(_bf(L, A.reshape(2, 6, 2)), 3),
    "max_pool2d": lambda L: _f(L).max_pool2d(_bf(L, A.reshape(1, 1, 4, 6)), 2),
    "avg_pool2d": lambda L: _f(L).avg_pool2d(_bf(L, A.reshape(1, 1, 4, 6)), 2),
    "adaptive_avg_pool2d": lambda L: _f(L).adaptive_avg_pool2d(_bf(L, A.reshape(1, 1, 4, 6)), (1, 1)),
    "interpolate bilinear": lambda L: _f(L).interpolate(_bf(L, A.reshape(1, 1, 4, 6)), scale_factor=2, mode="bilinear"),
    "index": lambda L: _bf(L, A)[L.tensor([0, 2])][:, 1:4], "cat": lambda L: L.cat([_bf(L, A), _bf(L, B)]),
    "gather": lambda L: _bf(L, A).gather(1, L.tensor([[0], [1], [2], [3]])),
    "sort": lambda L: _bf(L, A).sort(1).values, "topk": lambda L: _bf(L, A).topk(2).values,
    "embedding": lambda L: _f(L).embedding(L.tensor([1, 3]), _bf(L, A)),
    "normalize": lambda L: _f(L).normalize(_bf(L, A)), "cosine_similarity": lambda L: _f(L).cosine_similarity(_bf(L, A), _bf(L, B)),
    "+ float16 (float32)": lambda L: _bf(L, A) + L.tensor(B, dtype=L.float16),
    "* int64 0-d": lambda L: _bf(L, A) * L.tensor(3),
}

# Ops whose PyTorch kernel rounds differently from one float32 computation (vectorized rsqrt
# approximations, fused multiply-adds, intermediates rounded to bfloat16): within 1-2 ulp.
WITHIN_ULPS = {
    "rsqrt": (lambda L: _bf(L, P).rsqrt(), 1),
    "add alpha": (lambda L: L.add(_bf(L, A), _bf(L, B), alpha=0.3), 1),
    "lerp": (lambda L: L.lerp(_bf(L, A), _bf(L, B), 0.3), 2),
    "addcmul": (lambda L: L.addcmul(_bf(L, A), _bf(L, B), _bf(L, B), value=0.5), 2),
    "prod": (lambda L: _bf(L, P).prod(1), 1),
    "log_softmax": (lambda L: L.log_softmax(_bf(L, A), 1), 1),
    "batch_norm": (lambda L: _f(L).batch_norm(_bf(L, A), None, None, training=True), 2),
    "rms_norm": (lambda L: _f(L).rms_norm(_bf(L, A), (6,)), 1),
    "scaled_dot_product_attention": (lambda L: _f(L).scaled_dot_product_attention(
        _bf(L, A.reshape(1, 4, 6)), _bf(L, B.reshape(1, 4, 6)), _bf(L, A.reshape(1, 4, 6))), 1),
}


@pytest.mark.parametrize("name", BITWISE)
def test_forward_bitwise(name):
    _assert_ulps(BITWISE[name](ember), BITWISE[name](torch), 0)


@pytest.mark.parametrize("name", WITHIN_ULPS)
def test_forward_within_ulps(name):
    fn, ulps = WITHIN_ULPS[name]
    _assert_ulps(fn(ember), fn(torch), ulps)


# ---- gradients ---------------------------------------------------------------------------
GRADS = {  # name: (loss of x and y, ulps allowed in the gradients, ulps of the largest gradient)
    "mul": (lambda L, x, y: (x * y).sum(), 0), "exp": (lambda L, x, y: (x.exp() * y).sum(), 0),
    "tanh": (lambda L, x, y: (x.tanh() * y).sum(), 0), "sigmoid": (lambda L, x, y: (x.sigmoid() * y).sum(), 0),
    "relu": (lambda L, x, y: (x.relu() * y).sum(), 0), "mean": (lambda L, x, y: x.mean() * 2, 0),
    "mse_loss": (lambda L, x, y: _f(L).mse_loss(x, y), 0), "matmul": (lambda L, x, y: (x @ y.T).sum(), 0),
    "linear": (lambda L, x, y: _f(L).linear(x, y).sum(), 0), "var": (lambda L, x, y: x.var(), 0),
    "softmax": (lambda L, x, y: (L.softmax(x, 1) * y).sum(), 0),
    "log_softmax": (lambda L, x, y: (L.log_softmax(x, 1) * y).sum(), 1),
    "silu": (lambda L, x, y: (_f(L).silu(x) * y).sum(), 0),
    # PyTorch's backward kernels round intermediates differently here; gelu's and
    # cross-entropy's gradients cancel to near zero, where an ulp of the result says little
    "div": (lambda L, x, y: (x / y).sum(), 2), "norm": (lambda L, x, y: x.norm(), 1),
    "gelu": (lambda L, x, y: (_f(L).gelu(x) * y).sum(), 1, 1),
    "cross_entropy": (lambda L, x, y: _f(L).cross_entropy(x, L.tensor(TARGET)), 2, 1),
    "layer_norm": (lambda L, x, y: (_f(L).layer_norm(x, (6,)) * y).sum(), 3),
}


@pytest.mark.parametrize("name", GRADS)
def test_gradients(name):
    fn, *ulps = GRADS[name]
    grads = []
    for L in (ember, torch):
        x, y = _bf(L, A, True), _bf(L, B, True)
        fn(L, x, y).backward()
        grads.append((x.grad, y.grad))
    for e, t in zip(*grads):
        assert (e is None) == (t is None)
        if t is not None:
            _assert_ulps(e, t, *ulps)


def test_module_bfloat16_trains_like_torch():
    torch.manual_seed(0)
    t_mod = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.GELU(), torch.nn.LayerNorm(5), torch.nn.Linear(5, 3))
    e_mod = ember.nn.Sequential(ember.nn.Linear(6, 5), ember.nn.GELU(), ember.nn.LayerNorm(5), ember.nn.Linear(5, 3))
    e_mod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    t_mod.bfloat16()
    assert e_mod.bfloat16() is e_mod
    assert all(p.dtype is ember.bfloat16 for p in e_mod.parameters())
    outs = []
    for L, mod in ((ember, e_mod), (torch, t_mod)):
        y = mod(_bf(L, A))
        _f(L).cross_entropy(y, L.tensor([0, 1, 2, 0])).backward()
        outs.append((y, [p.grad for p in mod.parameters()]))
    _assert_ulps(outs[0][0], outs[1][0], 1)
    for e, t in zip(outs[0][1], outs[1][1]):
        _assert_ulps(e, t, 2, 1)


# ---- files -------------------------------------------------------------------------------
def test_torch_save_load_both_ways(tmp_path):
    t = torch.randn(3, 4).bfloat16()
    torch.save({"w": t, "row": t[1]}, tmp_path / "t.pt")
    for mmap in (False, True):
        got = ember.load(tmp_path / "t.pt", mmap=mmap)
        _assert_ulps(got["w"], t, 0)
        _assert_ulps(got["row"], t[1], 0)
    e = ember.randn(2, 5).bfloat16()
    ember.save({"x": e}, tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt")["x"]
    assert back.dtype is torch.bfloat16
    np.testing.assert_array_equal(back.float().numpy(), e.float().numpy())


def test_safetensors_both_ways(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file
    e = ember.randn(2, 5).bfloat16()
    ember.io.save_safetensors({"x": e}, tmp_path / "e.safetensors")
    back = load_file(tmp_path / "e.safetensors")["x"]
    assert back.dtype is torch.bfloat16
    np.testing.assert_array_equal(back.float().numpy(), e.float().numpy())
    _assert_ulps(ember.io.load_safetensors(tmp_path / "e.safetensors")["x"], back, 0)
    t = torch.randn(3, 4).bfloat16()
    save_file({"y": t}, tmp_path / "t.safetensors")
    _assert_ulps(ember.io.load_safetensors(tmp_path / "t.safetensors")["y"], t, 0)
