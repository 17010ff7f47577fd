"""Tensor creation, dtypes and promotion, devices, conversion and printing, against PyTorch."""
import itertools
import pickle

import numpy as np
import pytest

import ember
from helpers import DTYPES, assert_close, torch

NAMES = list(DTYPES)


@pytest.mark.parametrize("data", [1, 2.5, True, [1, 2], [1.0, 2], [[True, False]], [], [[1, 2], [3, 4]],
                                  np.arange(6, dtype=np.int32).reshape(2, 3), np.ones(3, np.float64)])
def test_tensor_infers_dtype_like_torch(data):
    assert_close(ember.tensor(data), torch.tensor(data))


def test_creation_functions_match_torch():
    for name in ("zeros", "ones", "empty"):
        e, t = getattr(ember, name)(2, 3), getattr(torch, name)(2, 3)
        assert e.shape == t.shape and e.dtype.name == str(t.dtype)[6:]
        e = getattr(ember, name)((2, 3), dtype=ember.int32)
        assert e.dtype == ember.int32 and e.shape == (2, 3)
    assert_close(ember.full((2, 2), 7), torch.full((2, 2), 7))
    assert_close(ember.full((2,), 1.5), torch.full((2,), 1.5))
    assert_close(ember.arange(5), torch.arange(5))
    assert_close(ember.arange(1, 2, 0.25), torch.arange(1, 2, 0.25))
    assert_close(ember.arange(10, 0, -3), torch.arange(10, 0, -3))
    assert_close(ember.linspace(0, 1, 7), torch.linspace(0, 1, 7))
    assert_close(ember.eye(3, 4), torch.eye(3, 4))
    x = ember.randn(2, 3, dtype=ember.float64)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        y = getattr(ember, name)(x)
        assert y.shape == x.shape and y.dtype == ember.float64
    assert_close(ember.full_like(x, 3.0), torch.full((2, 3), 3.0, dtype=torch.float64))


def test_negative_size_error():
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.zeros(2, -1)


def test_random_reproducible_and_distributed():
    ember.manual_seed(42)
    a = ember.randn(1000)
    ember.manual_seed(42)
    b = ember.randn(1000)
    assert ember.equal(a, b)
    assert abs(a.mean().item()) < 0.15 and abs(a.std().item() - 1) < 0.1
    u = ember.rand(10000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.02
    assert ember.randint(10, (3,)).shape == torch.randint(10, (3,)).shape  # randint(high, size)
    r = ember.randint(3, 7, (1000,))
    assert r.dtype == ember.int64 and set(r.tolist()) == {3, 4, 5, 6}
    p = ember.randperm(10)
    assert sorted(p.tolist()) == list(range(10))
    g = ember.Generator().manual_seed(1)
    assert ember.equal(ember.rand(5, generator=g), ember.rand(5, generator=ember.Generator().manual_seed(1)))
    bern = ember.bernoulli(ember.full((20000,), 0.3))
    assert abs(bern.mean().item() - 0.3) < 0.02
    m = ember.multinomial(ember.tensor([0.0, 1.0, 3.0]), 4000, replacement=True)
    counts = np.bincount(m.numpy(), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03
    n = ember.normal(2.0, 3.0, (20000,))
    assert abs(n.mean().item() - 2) < 0.1 and abs(n.std().item() - 3) < 0.1


def test_rng_state_roundtrip():
    state = ember.get_rng_state()
    a = ember.rand(3)
    ember.set_rng_state(state)
    assert ember.equal(a, ember.rand(3))


# ---- promotion ------------------------------------------------------------------------
def _sample(name, shape):
    e_dt, t_dt = DTYPES[name]
    arr = (np.arange(int(np.prod(shape))).reshape(shape) % 3 + 1).astype(e_dt.np)
    return ember.tensor(arr), torch.tensor(arr)


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_binary_promotion_matches_torch(a, b):
    for sa, sb in (((3,), (3,)), ((3,), ()), ((), (3,))):
        ea, ta = _sample(a, sa)
        eb, tb = _sample(b, sb)
        for op in ("add", "mul"):
            tr = getattr(torch, op)(ta, tb)
            er = getattr(ember, op)(ea, eb)
            assert er.dtype.name == str(tr.dtype)[6:], (op, a, b, sa, sb)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_scalar_promotion_matches_torch(name, scalar):
    e, t = _sample(name, (3,))
    for fn in (lambda x: x + scalar, lambda x: scalar * x, lambda x: x / 2):
        if name == "bool" and scalar is True:
            continue
        assert fn(e).dtype.name == str(fn(t).dtype)[6:]


def test_default_dtype():
    ember.set_default_dtype(ember.float64)
    assert ember.tensor([1.5]).dtype == ember.float64 and ember.zeros(1).dtype == ember.float64
    assert (ember.tensor([1]) * 0.5).dtype == ember.float64
    ember.set_default_dtype(ember.float32)
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)


@pytest.mark.parametrize("method,name", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                         ("long", "int64"), ("int", "int32"), ("bool", "bool"),
                                         ("short", "int16"), ("byte", "uint8")])
def test_conversion_methods(method, name):
    x = ember.tensor([0.0, 1.5, -2.0])
    t = torch.tensor([0.0, 1.5, -2.0])
    assert_close(getattr(x, method)(), getattr(t, method)())
    assert x.to(getattr(ember, name)).dtype.name == name


def test_cast_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == ember.float32 and x.grad.tolist() == [3.0, 3.0]


# ---- interop ------------------------------------------------------------------------------
def test_python_interop():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x[1, 0].item() == 3.0 and float(x[0, 1]) == 2.0 and int(x[1, 1]) == 4
    assert len(x) == 2 and x.size() == (2, 2) and x.size(-1) == 2 and x.dim() == 2 and x.numel() == 4
    assert isinstance(x.shape, ember.Size) and repr(x.shape) == "ember.Size([2, 2])"
    assert [r.tolist() for r in x] == [[1.0, 2.0], [3.0, 4.0]]
    assert np.array_equal(np.asarray(x), x.numpy())
    assert bool(ember.tensor([1])) and not bool(ember.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()
    with pytest.raises(TypeError):
        len(ember.tensor(1.0))
    assert f"{ember.tensor(3.14159):.2f}" == "3.14"
    assert [0, 1, 2][ember.tensor(1)] == 1
    assert ember.tensor(2.0) == 2.0
    assert (ember.tensor([1]) == None) is False  # noqa: E711


def test_numpy_sharing_and_grad_guard():
    a = np.zeros(3, np.float32)
    t = ember.from_numpy(a)
    t[0] = 1
    assert a[0] == 1
    with pytest.raises(RuntimeError, match="requires grad"):
        ember.ones(2, requires_grad=True).numpy()
    b = ember.as_tensor(a)
    assert b.numpy() is a or np.shares_memory(b.numpy(), a)


def test_pickle_roundtrip():
    x = ember.randn(2, 3).requires_grad_()
    y = pickle.loads(pickle.dumps(x))
    assert ember.equal(x.detach(), y.detach()) and y.requires_grad


def test_device():
    x = ember.ones(2)
    assert x.device == ember.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    assert x.to("cpu") is x and x.cpu() is x
    assert ember.device("cuda:1").index == 1
    with pytest.raises(RuntimeError, match="device"):
        ember.device("tpu")
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            x.cuda()


def test_cuda_device_without_an_index_is_pytorchs():
    """``device("cuda")`` names no GPU (the current one, where data is placed): its index,
    str, repr, equality and pickling are PyTorch's."""
    torch = pytest.importorskip("torch")
    for spec in ("cuda", "cuda:0", "cuda:1", "cpu"):
        e, t = ember.device(spec), torch.device(spec)
        assert (e.index, str(e), repr(e)) == (t.index, str(t), repr(t))
        assert pickle.loads(pickle.dumps(e)) == e
    assert ember.device("cuda") != ember.device("cuda:0") and torch.device("cuda") != torch.device("cuda:0")
    assert ember.device("cuda") == "cuda" and ember.device("cuda", 0) == "cuda:0"


def test_data_placed_on_cuda_without_an_index_goes_to_the_current_gpu(monkeypatch):
    """Where data is placed, "cuda" becomes the current GPU (ember.cuda.set_device), as
    PyTorch places it; the GPU here is a stand-in whose current device is 3."""
    from types import SimpleNamespace

    from ember.backend import cuda as backend_cuda
    from ember.backend.device import get_default_device, to_device
    fake = SimpleNamespace(cuda=SimpleNamespace(Device=lambda index=None: SimpleNamespace(id=3)))
    monkeypatch.setattr(backend_cuda, "is_available", lambda: True)
    monkeypatch.setattr(backend_cuda, "cupy", lambda: fake)
    assert to_device("cuda") == ember.device("cuda:3") and to_device(ember.device("cuda")) == "cuda:3"
    assert to_device("cuda:1") == "cuda:1" and to_device(0) == "cuda:0" and to_device(None) == "cpu"
    with ember.device("cuda"):
        assert get_default_device() == "cuda:3"
    assert get_default_device() == "cpu"


@pytest.mark.parametrize("data,kw", [([[1.0, 2.5], [-3.0, 4.0]], {}), ([1, 2, 3], {}), ([True, False], {}),
                                     ([1.0, 2.0], {"dtype": "float64"}), ([1, 2], {"dtype": "int32"}),
                                     ([[1e-5, 2.0]], {}), ([], {}), ([1.0, 2.0], {"requires_grad": True})])
def test_repr_matches_torch(data, kw):
    if "dtype" in kw:
        kw = {"dtype": kw["dtype"], **{k: v for k, v in kw.items() if k != "dtype"}}
        e = ember.tensor(data, dtype=getattr(ember, kw["dtype"]))
        t = torch.tensor(data, dtype=getattr(torch, kw["dtype"]))
    else:
        e, t = ember.tensor(data, **kw), torch.tensor(data, **kw)
    assert repr(e).replace("ember.", "torch.") == repr(t)


def test_repr_grad_fn():
    x = ember.ones(2, requires_grad=True)
    assert repr(x * 2) == "tensor([2., 2.], grad_fn=<MulBackward0>)"
