"""PyTorch's legacy names against PyTorch: FloatTensor & co., Tensor.type, grad_fn node names,
indexing with a range, and Tensor.unfold."""
import numpy as np
import pytest

import ember
from helpers import assert_close, check_gradcheck, check_op, to_ember, torch

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
          "CharTensor", "ByteTensor", "BoolTensor"]


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001  (the test compares which exception each raises)
        return type(e)


# ---- legacy tensor types -------------------------------------------------------------------
@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("args", [(2, 3), ([1, 0, 2],), ([[1.5, 2.7]],), (np.array([1.7, 0.0]),),
                                  (), (np.arange(3, dtype=np.int32),), ((4, 5),)])
def test_legacy_constructors_match_torch(name, args):
    e = getattr(ember, name)(*args)
    t = getattr(torch, name)(*args)
    assert e.dtype.name == str(t.dtype).replace("torch.", "") and tuple(e.shape) == tuple(t.shape)
    if args and not isinstance(args[0], int):  # sizes give uninitialised memory
        assert_close(e, t)


def test_legacy_constructor_of_size_is_uninitialised_shape():
    assert ember.FloatTensor(ember.Size([2, 4])).shape == torch.FloatTensor(torch.Size([2, 4])).shape
    assert ember.Tensor(ember.Size([3])).shape == (3,)


@pytest.mark.parametrize("arg", ["2.0", "'a'", "tensor_of_other_dtype", "two_lists"])
def test_legacy_constructor_errors_match_torch(arg):
    def make(lib):
        value = {"2.0": 2.0, "'a'": "a", "tensor_of_other_dtype": lib.tensor([1, 2]),
                 "two_lists": ([1], [2])}[arg]
        return lib.FloatTensor(*value) if arg == "two_lists" else lib.FloatTensor(value)
    assert _outcome(lambda: make(ember)) is _outcome(lambda: make(torch)) is TypeError


def test_legacy_constructor_of_same_dtype_tensor_shares_storage():
    x = ember.tensor([1.0, 2.0])
    y = ember.FloatTensor(x)
    y[0] = 5.0
    assert x[0].item() == 5.0


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_isinstance_of_legacy_type_matches_torch(name, dtype):
    e = ember.zeros(2, dtype=getattr(ember, dtype))
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    assert isinstance(e, getattr(ember, name)) == isinstance(t, getattr(torch, name))
    assert isinstance(e, ember.Tensor)
    assert not issubclass(getattr(ember, name), ember.Tensor)
    assert not isinstance(e.numpy(), getattr(ember, name))


@pytest.mark.parametrize("spec", ["torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor",
                                  "torch.HalfTensor", "torch.FloatTensor", "DoubleTensor_type",
                                  "IntTensor_type", "float64", "int8", "torch.float64", "foo"])
def test_tensor_type_matches_torch(spec):
    def convert(lib, x):
        if spec.endswith("_type"):
            return x.type(getattr(lib, spec[:-5]))
        if spec in ("float64", "int8"):
            return x.type(getattr(lib, spec))
        name = spec.replace("torch", "ember") if lib is ember else spec
        return x.type(name)
    t = torch.tensor([1.5, -2.0, 0.0])
    e = to_ember(t)
    got, want = _outcome(lambda: convert(ember, e)), _outcome(lambda: convert(torch, t))
    if isinstance(want, type):
        assert got is want
    else:
        assert_close(got, want)
        assert got.type() == want.type().replace("torch", "ember")
    if spec.startswith("torch.") and spec != "torch.float64":  # PyTorch's names are accepted too
        assert_close(e.type(spec), t.type(spec))


def test_type_without_argument_names_the_legacy_type():
    for d in ["float32", "float64", "int64", "uint8", "bool", "float16"]:
        assert ember.zeros(1, dtype=getattr(ember, d)).type() == \
            torch.zeros(1, dtype=getattr(torch, d)).type().replace("torch", "ember")


def test_type_as_matches_torch():
    t, o = torch.tensor([1.7, -2.2]), torch.tensor([1, 2])
    assert_close(to_ember(t).type_as(to_ember(o)), t.type_as(o))
    assert_close(to_ember(o).type_as(to_ember(t)), o.type_as(t))


def test_new_constructors_match_torch():
    t = torch.tensor([1, 2], dtype=torch.int32)
    e = to_ember(t)
    assert_close(e.new_tensor([3, 4]), t.new_tensor([3, 4]))
    assert_close(e.new_full((2,), 7), t.new_full((2,), 7))
    assert_close(e.new_ones(3), t.new_ones(3))
    assert_close(e.new_zeros((1, 2)), t.new_zeros((1, 2)))
    assert e.new_empty(4).shape == t.new_empty(4).shape and e.new_empty(4).dtype is ember.int32


# ---- grad_fn node names --------------------------------------------------------------------
def _cases(lib):
    F = lib.nn.functional
    return {
        "mul": lambda x, y, w, b: x * y, "add": lambda x, y, w, b: x + y,
        "sub": lambda x, y, w, b: x - y, "div": lambda x, y, w, b: x / y,
        "neg": lambda x, y, w, b: -x, "add_scalar": lambda x, y, w, b: x + 1,
        "pow2": lambda x, y, w, b: x ** 2, "pow3": lambda x, y, w, b: x ** 3,
        "pow_tensor": lambda x, y, w, b: x.abs() ** y, "rpow": lambda x, y, w, b: 2 ** x,
        "square": lambda x, y, w, b: x.square(),
        "mean": lambda x, y, w, b: x.mean(), "mean_dim": lambda x, y, w, b: x.mean(1),
        "sum": lambda x, y, w, b: x.sum(), "sum_dim": lambda x, y, w, b: x.sum((0, 1)),
        "nansum": lambda x, y, w, b: x.nansum(), "mm": lambda x, y, w, b: x @ w,
        "mv": lambda x, y, w, b: x @ w[:, 0], "dot": lambda x, y, w, b: x[0] @ x[1],
        "batched_matmul": lambda x, y, w, b: b @ w, "exp": lambda x, y, w, b: x.exp(),
        "relu": lambda x, y, w, b: x.relu(), "sigmoid": lambda x, y, w, b: x.sigmoid(),
        "tanh": lambda x, y, w, b: x.tanh(), "softmax": lambda x, y, w, b: x.softmax(1),
        "log_softmax": lambda x, y, w, b: F.log_softmax(x, 1), "view": lambda x, y, w, b: x.view(12),
        "flatten": lambda x, y, w, b: b.flatten(1), "t": lambda x, y, w, b: x.t(),
        "transpose": lambda x, y, w, b: b.transpose(0, 2), "permute": lambda x, y, w, b: b.permute(2, 0, 1),
        "unsqueeze": lambda x, y, w, b: x.unsqueeze(0), "squeeze_dim": lambda x, y, w, b: x[None].squeeze(0),
        "squeeze": lambda x, y, w, b: x[None].squeeze(), "select": lambda x, y, w, b: x[0],
        "slice": lambda x, y, w, b: x[:, 1:], "index": lambda x, y, w, b: x[[0, 1]],
        "mask": lambda x, y, w, b: x[x > 0], "alias": lambda x, y, w, b: x[...],
        "index_none": lambda x, y, w, b: x[:, None], "narrow": lambda x, y, w, b: x.narrow(0, 1, 1),
        "cat": lambda x, y, w, b: lib.cat([x, y]), "stack": lambda x, y, w, b: lib.stack([x, y]),
        "linear": lambda x, y, w, b: F.linear(x, w.t()),
        "linear_bias": lambda x, y, w, b: F.linear(x, w.t(), w[0]),
        "linear_3d": lambda x, y, w, b: F.linear(b, w.t(), w[0]),
        "cross_entropy": lambda x, y, w, b: F.cross_entropy(x, lib.tensor([0, 1, 2])),
        "max": lambda x, y, w, b: x.max(), "max_dim": lambda x, y, w, b: x.max(1)[0],
        "min": lambda x, y, w, b: x.min(), "min_dim": lambda x, y, w, b: x.min(0)[0],
        "amax": lambda x, y, w, b: x.amax(1), "clamp": lambda x, y, w, b: x.clamp(0, 1),
        "expand": lambda x, y, w, b: x[:1].expand(3, 4), "var": lambda x, y, w, b: x.var(),
        "std": lambda x, y, w, b: x.std(0), "where": lambda x, y, w, b: lib.where(x > 0, x, y),
        "clone": lambda x, y, w, b: x.clone(), "to_double": lambda x, y, w, b: x.double(),
        "cumsum": lambda x, y, w, b: x.cumsum(0), "logsumexp": lambda x, y, w, b: x.logsumexp(1),
        "split": lambda x, y, w, b: x.split(2)[0], "unbind": lambda x, y, w, b: x.unbind()[0],
        "gather": lambda x, y, w, b: x.gather(1, lib.zeros(3, 1, dtype=lib.long)),
        "layer_norm": lambda x, y, w, b: F.layer_norm(x, (4,)),
        "unfold": lambda x, y, w, b: x.unfold(1, 2, 1),
        "write_through_view": lambda x, y, w, b: _written(x.clone()),
    }


def _written(x):
    x[0] = 1.0
    return x


def _inputs(lib):
    lib.manual_seed(0)
    return (lib.randn(3, 4, requires_grad=True), lib.randn(3, 4, requires_grad=True),
            lib.randn(4, 5, requires_grad=True), lib.randn(2, 3, 4, requires_grad=True))


@pytest.mark.parametrize("op", list(_cases(ember)))
def test_grad_fn_names_match_torch(op):
    e = _cases(ember)[op](*_inputs(ember)).grad_fn
    t = _cases(torch)[op](*_inputs(torch)).grad_fn
    assert type(e).__name__ == type(t).__name__
    # PyTorch's name() of its C++ CopySlices node carries the C++ namespace
    assert e.name() == t.name().replace("torch::autograd::", "")


def test_custom_function_node_is_named_like_torch():
    class Double(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class TDouble(torch.autograd.Function):
        forward, backward = Double.forward, Double.backward

    e = Double.apply(ember.ones(1, requires_grad=True))
    t = TDouble.apply(torch.ones(1, requires_grad=True))
    assert e.grad_fn.name() == t.grad_fn.name().replace("TDouble", "Double") == "DoubleBackward"
    assert type(e.grad_fn).__name__ == "DoubleBackward" and isinstance(e.grad_fn, Double)
    e.sum().backward()


# ---- indexing with a range -----------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: x[range(4), [0, 1, 2, 0]],
    lambda x: x[range(1, 3)],
    lambda x: x[:, range(2)],
    lambda x: x[range(2), range(2)],
    lambda x: x[range(0)],
    lambda x: x[range(3, 0, -1), 1],
])
def test_index_with_range_matches_torch(fn):
    check_op([(4, 3)], fn)


def test_setitem_with_range_matches_torch():
    def write(x):
        x = x.clone()
        x[range(0, 4, 2), 1] = 0.0
        return x * 1
    check_op([(4, 3)], write)


# ---- Tensor.unfold -------------------------------------------------------------------------
@pytest.mark.parametrize("shape,args", [((7,), (0, 3, 2)), ((7,), (0, 3, 1)), ((7,), (-1, 7, 1)),
                                        ((4, 6), (1, 2, 2)), ((4, 6), (0, 2, 3)), ((2, 5, 3), (1, 2, 1)),
                                        ((5,), (0, 0, 1)), ((), (0, 1, 1)), ((3, 0), (1, 0, 1))])
def test_unfold_matches_torch(shape, args):
    check_op([shape], lambda x: x.unfold(*args))


def test_unfold_of_non_contiguous_input_matches_torch():
    check_op([(3, 6)], lambda x: x.t().unfold(0, 3, 2))


def test_unfold_gradients_first_and_second_order():
    check_gradcheck([(6, 3)], lambda x: x.unfold(0, 3, 1))
    check_gradcheck([(2, 7)], lambda x: x.unfold(1, 2, 3) * x.unfold(1, 2, 3))


@pytest.mark.parametrize("args", [(0, 6, 1), (0, 2, 0), (0, -1, 1), (1, 2, 1)])
def test_unfold_errors_match_torch(args):
    got = _outcome(lambda: ember.arange(5.0).unfold(*args))
    want = _outcome(lambda: torch.arange(5.0).unfold(*args))
    assert got is want


def test_unfold_is_a_view_sharing_storage_like_torch():
    def write(lib):
        base = lib.arange(6.0)
        windows = base.unfold(0, 2, 2)
        windows[1, 0] = -1.0
        base[5] = 9.0
        return base, windows
    (eb, ew), (tb, tw) = write(ember), write(torch)
    assert_close(eb, tb)
    assert_close(ew, tw)
    assert ew._base is eb


def test_write_through_unfold_view_gradient_matches_torch():
    def fn(x):
        y = x * 1
        y.unfold(0, 2, 2).mul_(3.0)
        return y
    check_op([(6,)], fn)


def test_overlapping_unfold_view_refuses_writes():
    with pytest.raises(RuntimeError, match="clone"):
        ember.arange(6.0).unfold(0, 3, 1).mul_(2.0)
