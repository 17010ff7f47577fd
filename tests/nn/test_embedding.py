"""F.embedding / F.embedding_bag and the Embedding / EmbeddingBag layers against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from helpers import assert_close, check_gradcheck, check_op, copy_weights, to_ember

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional


def lib(t):
    """(nn.functional, index constructor) of the framework ``t`` belongs to."""
    if isinstance(t, torch.Tensor):
        return TF, torch.tensor
    return F, ember.tensor


# ---- F.embedding ---------------------------------------------------------------------------
@pytest.mark.parametrize("idx", [[3, 0, 3, 9], [[1, 2, 1], [4, 4, 4]], 7, np.zeros((0, 2), np.int64),
                                 [[[5]], [[6]]]])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 4}, {"padding_idx": -6},
                                    {"scale_grad_by_freq": True}, {"padding_idx": 1, "scale_grad_by_freq": True}])
def test_embedding_values_and_weight_grad(idx, kwargs):
    def fn(w):
        f, make = lib(w)
        return f.embedding(make(idx), w, **kwargs)
    check_op([(10, 3)], fn)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_embedding_dtypes(dtype, index_dtype):
    idx = np.array([[2, 0], [2, 5]], dtype=index_dtype)
    check_op([(6, 4)], lambda w: lib(w)[0].embedding(lib(w)[1](idx), w, padding_idx=0), dtype=dtype)


def test_embedding_gradcheck_first_and_second_order():
    idx = ember.tensor([[0, 2, 2], [5, 1, 2]])
    check_gradcheck([(6, 3)], lambda w: F.embedding(idx, w) ** 2)
    # padding_idx and scale_grad_by_freq alter the gradient on purpose (finite differences
    # disagree); its own derivative must still be consistent
    w = ember.randn(6, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=1, scale_grad_by_freq=True),
                                        [w])


def test_embedding_double_backward_through_the_weight_gradient():
    idx = [1, 1, 3]
    out = {}
    for m, f in ((torch, TF), (ember, F)):
        w = m.tensor(np.arange(12, dtype=np.float64).reshape(4, 3) / 10, requires_grad=True)
        g = m.tensor(np.linspace(-1, 1, 9).reshape(3, 3), requires_grad=True)
        (gw,) = m.autograd.grad(f.embedding(m.tensor(idx), w), w, g, create_graph=True)
        (gw * gw).sum().backward()
        out[m.__name__] = (gw, g.grad)
    assert_close(out["ember"][0], out["torch"][0], 1e-12, 1e-12)
    assert_close(out["ember"][1], out["torch"][1], 1e-12, 1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5])
def test_embedding_max_norm_renormalises_in_place(norm_type):
    w_np = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32) * 2
    idx = [[1, 5, 1], [7, 0, 2]]
    w_t, w_e = torch.tensor(w_np, requires_grad=True), ember.tensor(w_np, requires_grad=True)
    out_t = TF.embedding(torch.tensor(idx), w_t, max_norm=1.5, norm_type=norm_type)
    out_e = F.embedding(ember.tensor(idx), w_e, max_norm=1.5, norm_type=norm_type)
    assert_close(out_e, out_t)
    assert_close(w_e, w_t)  # looked-up rows scaled in place, the others untouched
    assert np.array_equal(w_e.detach().cpu().numpy()[[3, 4, 6]], w_np[[3, 4, 6]])
    cot = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    out_t.backward(torch.tensor(cot))
    out_e.backward(ember.tensor(cot))
    assert_close(w_e.grad, w_t.grad)


def test_embedding_errors():
    w = ember.zeros(10, 3)
    for bad in ([10], [-1], [[0, 12]]):
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(ember.tensor(bad), w)
        with pytest.raises(IndexError, match="index out of range in self"):
            TF.embedding(torch.tensor(bad), torch.zeros(10, 3))
    for m, f, weight in ((torch, TF, torch.zeros(10, 3)), (ember, F, w)):
        with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types: Long, Int"):
            f.embedding(m.tensor([1.0]), weight)
        with pytest.raises(RuntimeError, match="'indices' to have one of the following scalar types: Long, Int"):
            f.embedding(m.tensor([1], dtype=m.int16), weight)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            f.embedding(m.tensor([1]), weight, padding_idx=10)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            f.embedding(m.tensor([1]), weight, padding_idx=-11)
        with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
            f.embedding(m.tensor([1]), m.zeros(3))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(ember.tensor([1]), w, sparse=True)


def test_embedding_gradient_scatter_matches_repeated_lookups_at_scale():
    # the word language model's shape: many repeats of frequent words in a big table
    rng = np.random.default_rng(0)
    idx = np.minimum(rng.zipf(1.3, (35, 20)) - 1, 9999)
    w_np = rng.standard_normal((10000, 16)).astype(np.float32)
    cot = rng.standard_normal((35, 20, 16)).astype(np.float32)
    grads = []
    for m, f in ((torch, TF), (ember, F)):
        w = m.tensor(w_np, requires_grad=True)
        f.embedding(m.tensor(idx), w).backward(m.tensor(cot))
        grads.append(w.grad)
    assert_close(grads[1], grads[0], 1e-5, 1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2, "scale_grad_by_freq": True}])
def test_embedding_gradient_kernel_gives_the_numpy_paths_bits(dtype, kwargs):
    # the compiled scatter adds the rows in lookup order, as SciPy's product and np.add.at do
    from ember.backend import kernels
    if kernels.cpu() is None:
        pytest.skip("compiled kernels are not in use here")
    rng = np.random.default_rng(1)
    idx = ember.tensor(rng.integers(0, 50, (30, 7)))
    cot = ember.tensor(rng.standard_normal((30, 7, 9)).astype(dtype))
    grads = []
    for off in (False, True):
        w = ember.tensor(rng.standard_normal((50, 9)).astype(dtype), requires_grad=True)
        if off:
            with kernels.off():
                F.embedding(idx, w, **kwargs).backward(cot)
        else:
            F.embedding(idx, w, **kwargs).backward(cot)
        grads.append(w.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.count_nonzero(grads[0].any(axis=1)) > 10


# ---- nn.Embedding --------------------------------------------------------------------------
def run_pair(e_mod, t_mod, *inputs, cot_seed=1):
    """Copy weights, run both modules on the same inputs, back-propagate one random cotangent and
    compare outputs and parameter gradients."""
    copy_weights(e_mod, t_mod)
    out_t = t_mod(*inputs)
    out_e = e_mod(*(to_ember(i) if isinstance(i, torch.Tensor) else i for i in inputs))
    assert_close(out_e, out_t)
    cot = np.random.default_rng(cot_seed).standard_normal(tuple(out_t.shape)).astype(np.float32)
    out_t.backward(torch.tensor(cot))
    out_e.backward(ember.tensor(cot))
    e_params = dict(e_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        if p.grad is None:
            assert e_params[name].grad is None, name
        else:
            assert_close(e_params[name].grad, p.grad, 1e-5, 1e-4, f"grad of {name}")
    return out_e, out_t


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 0}, {"padding_idx": -2}, {"max_norm": 1.0},
                                    {"scale_grad_by_freq": True, "padding_idx": 3}])
def test_embedding_module_parity(kwargs):
    idx = torch.tensor([[0, 3, 3, 8], [9, 1, 0, 8]])
    e, t = nn.Embedding(10, 5, **kwargs), tnn.Embedding(10, 5, **kwargs)
    assert e.padding_idx == t.padding_idx and repr(e) == repr(t)
    run_pair(e, t, idx)
    if "padding_idx" in kwargs:
        assert not np.any(e.weight.grad.cpu().numpy()[t.padding_idx])


def test_embedding_init_and_repr():
    ember.manual_seed(0)
    e = nn.Embedding(500, 40, padding_idx=3)
    w = e.weight.detach().cpu().numpy()
    assert not np.any(w[3]) and abs(w.std() - 1) < 0.02 and abs(w.mean()) < 0.02
    assert list(e.state_dict()) == ["weight"] and e.weight.requires_grad
    for kw in ({}, {"padding_idx": 1, "max_norm": 2.0, "norm_type": 1.0, "scale_grad_by_freq": True}):
        assert repr(nn.Embedding(6, 2, **kw)) == repr(tnn.Embedding(6, 2, **kw))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(3, 2, _weight=ember.zeros(2, 2))
    with pytest.raises(NotImplementedError, match="dense gradients"):
        nn.Embedding(3, 2, sparse=True)
    e = nn.Embedding(4, 2, dtype=ember.float64)
    assert e.weight.dtype == ember.float64


def test_embedding_from_pretrained():
    table = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = nn.Embedding.from_pretrained(table)
    assert not e.weight.requires_grad and (e.num_embeddings, e.embedding_dim) == (3, 2)
    assert np.array_equal(e(ember.tensor([2, 0])).cpu().numpy(), [[5.0, 6.0], [1.0, 2.0]])
    table[0, 0] = 9.0  # shared, not copied
    assert e.weight[0, 0].item() == 9.0
    e = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert e.weight.requires_grad and e.padding_idx == 1
    e(ember.tensor([1, 2])).sum().backward()
    assert np.array_equal(e.weight.grad.cpu().numpy(), [[0, 0], [0, 0], [1, 1]])
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(ember.zeros(3))


def test_embedding_trains_with_sgd():
    ember.manual_seed(0)
    emb, head = nn.Embedding(5, 4), nn.Linear(4, 5)
    opt = ember.optim.SGD(list(emb.parameters()) + list(head.parameters()), lr=0.5)
    x = ember.tensor([0, 1, 2, 3, 4])
    first = None
    for _ in range(60):
        loss = F.cross_entropy(head(emb(x)), x)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first


# ---- F.embedding_bag ---------------------------------------------------------------------------
BAGS = [  # (input, offsets, include_last_offset)
    ([[1, 2, 4], [4, 3, 9], [0, 0, 0]], None, False),
    ([1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 5], False),  # an empty bag
    ([1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 8], True),
    ([7], [0], False),
]


@pytest.mark.parametrize("bags", BAGS)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_parity(bags, mode, padding_idx):
    idx, offsets, last = bags

    def fn(w):
        f, make = lib(w)
        return f.embedding_bag(make(idx), w, None if offsets is None else make(offsets), mode=mode,
                               include_last_offset=last, padding_idx=padding_idx)
    check_op([(10, 3)], fn)


@pytest.mark.parametrize("bags", BAGS[:3])
def test_embedding_bag_per_sample_weights(bags):
    idx, offsets, last = bags
    shape = np.shape(idx)

    def fn(w, psw):
        f, make = lib(w)
        return f.embedding_bag(make(idx), w, None if offsets is None else make(offsets), mode="sum",
                               per_sample_weights=psw, include_last_offset=last, padding_idx=2)
    check_op([(10, 3), shape], fn)


def test_embedding_bag_gradcheck_and_options():
    idx, off = ember.tensor([1, 2, 4, 2, 0]), ember.tensor([0, 2, 2])
    check_gradcheck([(6, 3)], lambda w: F.embedding_bag(idx, w, off, mode="mean"))
    check_gradcheck([(6, 3), (5,)], lambda w, p: F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p))
    check_gradcheck([(6, 3)], lambda w: F.embedding_bag(idx, w, off, mode="max"), second_order=False)
    # max_norm renormalises the looked-up rows first, as for embedding
    check_op([(6, 3)], lambda w: lib(w)[0].embedding_bag(lib(w)[1]([[1, 2], [5, 1]]), w.detach().clone() * 3,
                                                         max_norm=1.0, mode="sum"), grad=False)


def test_embedding_bag_errors():
    w = ember.zeros(6, 3)
    cases = [
        (dict(input=[[1, 2]], offsets=[0]), ValueError, "if input is 2D, then offsets has to be None"),
        (dict(input=[1, 2]), ValueError, "offsets has to be a 1D Tensor but got None"),
        (dict(input=[1, 2], offsets=[1]), RuntimeError, "offsets\\[0\\] has to be 0"),
        (dict(input=[1, 2], offsets=[0, 3]), RuntimeError, "offsets\\[-1\\] can not be greater than input's length 2"),
        (dict(input=[[1, 7]]), RuntimeError,
         "Index 1 of input takes value 7 which is not in the valid range \\[0, 6\\)"),
        (dict(input=[[1, 2]], mode="min"), ValueError, "mode has to be one of sum, mean or max"),
        (dict(input=[[1, 2]], mode="max", scale_grad_by_freq=True), ValueError, "max mode does not support scaling"),
        (dict(input=[[1, 2]], mode="mean", per_sample_weights=[[1.0, 1.0]]), NotImplementedError,
         "per_sample_weights is only supported for mode='sum'"),
        (dict(input=[[1, 2]], mode="sum", per_sample_weights=[1.0, 1.0]), ValueError, "must have the same shape"),
        (dict(input=[[[1]]]), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of dimension 3"),
    ]
    for kwargs, exc, match in cases:
        for m, f, weight in ((torch, TF, torch.zeros(6, 3)), (ember, F, w)):
            args = {k: m.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
            with pytest.raises(exc, match=match):
                f.embedding_bag(weight=weight, **args)
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(ember.tensor([1, 2, 3]), w, ember.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(ember.tensor([[1]]), ember.zeros(3))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_module_parity_and_repr(mode):
    kwargs = dict(mode=mode, padding_idx=0, include_last_offset=True)
    e, t = nn.EmbeddingBag(8, 3, **kwargs), tnn.EmbeddingBag(8, 3, **kwargs)
    assert repr(e) == repr(t) and not np.any(e.weight.detach().cpu().numpy()[0])
    run_pair(e, t, torch.tensor([1, 0, 4, 4, 7, 2]), torch.tensor([0, 1, 4, 6]))
    assert repr(nn.EmbeddingBag(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)) == \
        repr(tnn.EmbeddingBag(5, 2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True))


def test_embedding_bag_module_per_sample_weights_and_from_pretrained():
    e, t = nn.EmbeddingBag(8, 3, mode="sum"), tnn.EmbeddingBag(8, 3, mode="sum")
    psw = torch.tensor([[0.5, 2.0], [1.0, -1.0]])
    run_pair(e, t, torch.tensor([[1, 3], [3, 3]]), None, psw)
    table = ember.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    bag = nn.EmbeddingBag.from_pretrained(table, mode="max")
    assert not bag.weight.requires_grad and bag.mode == "max"
    assert np.array_equal(bag(ember.tensor([[0, 1], [2, 0]])).cpu().numpy(), [[1.0, 2.0], [4.0, 4.0]])
    assert nn.EmbeddingBag.from_pretrained(table, freeze=False).weight.requires_grad
