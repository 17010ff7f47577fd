"""nn.init's deprecated names, the distance modules, margin losses with several targets or a
user distance, pdist and gumbel_softmax, against torch: values, gradients, warnings, errors."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from helpers import assert_close, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DEPRECATED_INIT = [("uniform", ()), ("normal", ()), ("constant", (0.3,)), ("xavier_uniform", ()),
                   ("xavier_normal", ()), ("kaiming_uniform", ()), ("kaiming_normal", ()),
                   ("orthogonal", ()), ("sparse", (0.5,)), ("eye", ()), ("dirac", ())]


@pytest.mark.parametrize("name,args", DEPRECATED_INIT)
def test_deprecated_init_names_warn_and_fill(name, args):
    shape = (4, 2, 3) if name == "dirac" else (4, 3)
    e, t = ember.empty(shape), torch.empty(shape)
    with pytest.warns(FutureWarning) as e_rec:
        out = getattr(enn.init, name)(e, *args)
    with pytest.warns(FutureWarning) as t_rec:
        getattr(torch.nn.init, name)(t, *args)
    assert str(e_rec[0].message) == str(t_rec[0].message)
    assert out is e
    if name in ("constant", "eye", "dirac"):
        assert_close(e, t)
    # The random ones draw the same way as the underscore forms.
    ember.manual_seed(3)
    ref = getattr(enn.init, name + "_")(ember.empty(shape), *args)
    ember.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        again = getattr(enn.init, name)(ember.empty(shape), *args)
    np.testing.assert_array_equal(again.cpu().numpy(), ref.cpu().numpy())


@pytest.mark.parametrize("p,eps,keepdim", [(2.0, 1e-6, False), (1.0, 0.0, True), (3.0, 1e-3, False)])
def test_pairwise_distance_module(p, eps, keepdim):
    check_op([(5, 4), (5, 4)], torch.nn.PairwiseDistance(p, eps, keepdim),
             enn.PairwiseDistance(p, eps, keepdim), dtype="float64")


@pytest.mark.parametrize("dim", [1, 0, -1])
def test_cosine_similarity_module(dim):
    check_op([(3, 4, 5), (3, 4, 5)], torch.nn.CosineSimilarity(dim), enn.CosineSimilarity(dim), dtype="float64")


def test_container_and_nllloss2d_are_deprecated():
    with pytest.warns(FutureWarning, match="nn.Container"):
        c = enn.Container(a=enn.Linear(2, 3))
    assert list(dict(c.named_children())) == ["a"]
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        loss = enn.NLLLoss2d(ignore_index=1)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    y = np.random.default_rng(1).integers(0, 3, (2, 4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ref = torch.nn.NLLLoss2d(ignore_index=1)(torch.tensor(x), torch.tensor(y))
    assert_close(loss(ember.tensor(x), ember.tensor(y)), ref)


TARGETS = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 1, 1, 1, 1], [2, 2, -1, 0, 0]])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multilabel_margin_loss(reduction):
    tt, et = torch.tensor(TARGETS), ember.tensor(TARGETS)
    check_op([(4, 5)], lambda x: TF.multilabel_margin_loss(x, tt, reduction=reduction),
             lambda x: EF.multilabel_margin_loss(x, et, reduction=reduction), dtype="float64")
    check_op([(5,)], lambda x: TF.multilabel_margin_loss(x, tt[0], reduction=reduction),
             lambda x: enn.MultiLabelMarginLoss(reduction=reduction)(x, et[0]), dtype="float64")


def test_multilabel_margin_loss_errors():
    with pytest.raises(RuntimeError):
        TF.multilabel_margin_loss(torch.zeros(2, 3), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(RuntimeError, match="multilabel_margin_loss"):
        EF.multilabel_margin_loss(ember.zeros(2, 3), ember.zeros(2, 4, dtype=ember.long))


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_triplet_margin_with_distance_loss(swap, reduction):
    def run(lib, F):
        dist = lambda a, b: 1 - F.cosine_similarity(a, b)  # noqa: E731
        return lambda a, p, n: lib.nn.TripletMarginWithDistanceLoss(
            distance_function=dist, margin=0.5, swap=swap, reduction=reduction)(a, p, n)
    check_op([(6, 4)] * 3, run(torch, TF), run(ember, EF), dtype="float64")
    check_op([(6, 4)] * 3,
             lambda a, p, n: TF.triplet_margin_with_distance_loss(a, p, n, swap=swap, reduction=reduction),
             lambda a, p, n: EF.triplet_margin_with_distance_loss(a, p, n, swap=swap, reduction=reduction),
             dtype="float64")


def test_triplet_margin_with_distance_loss_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        EF.triplet_margin_with_distance_loss(x, x, x, margin=0)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        enn.TripletMarginWithDistanceLoss(margin=-1)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        EF.triplet_margin_with_distance_loss(x, x, ember.zeros(3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        EF.triplet_margin_with_distance_loss(x, x, x, reduction="avg")


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.5])
def test_pdist(p):
    values = np.random.default_rng(4).standard_normal((6, 3))
    values[4] = values[1]      # equal rows: distance 0
    values[0, 2] = values[3, 2]  # one equal coordinate
    check_op([(6, 3)], lambda x: TF.pdist(x, p), lambda x: EF.pdist(x, p), dtype="float64", values=[values])


def test_pdist_p0_values_and_errors():
    values = np.random.default_rng(5).integers(0, 2, (5, 3)).astype(np.float64)
    assert_close(EF.pdist(ember.tensor(values), 0), TF.pdist(torch.tensor(values), 0))
    with pytest.raises(RuntimeError, match="2D"):
        EF.pdist(ember.zeros(2, 3, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        EF.pdist(ember.zeros(2, 3), -1)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax(hard):
    logits = ember.randn(8, 5, requires_grad=True)
    y = EF.gumbel_softmax(logits, tau=0.7, hard=hard, dim=-1)
    assert_close(y.sum(-1), torch.ones(8))
    if hard:
        assert set(np.unique(y.detach().cpu().numpy())) <= {0.0, 1.0}
    # Same noise through torch's formula gives the same sample and the same gradient.
    ember.manual_seed(11)
    y = EF.gumbel_softmax(logits, tau=0.7, hard=hard)
    ember.manual_seed(11)
    g = -ember.empty(8, 5).exponential_().log()
    tl = torch.tensor(logits.detach().cpu().numpy(), requires_grad=True)
    ys = ((tl + torch.tensor(g.cpu().numpy())) / 0.7).softmax(-1)
    yt = (torch.zeros_like(ys).scatter_(-1, ys.argmax(-1, keepdim=True), 1.0) - ys.detach() + ys) if hard else ys
    assert_close(y, yt)
    cot = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    y.backward(ember.tensor(cot))
    yt.backward(torch.tensor(cot))
    assert_close(logits.grad, tl.grad)
    with pytest.warns(UserWarning, match="eps"):
        EF.gumbel_softmax(logits, eps=1e-5)


LAZY_CONVS = [("LazyConv1d", 1), ("LazyConv2d", 2), ("LazyConv3d", 3), ("LazyConvTranspose1d", 1),
              ("LazyConvTranspose2d", 2), ("LazyConvTranspose3d", 3)]


@pytest.mark.parametrize("name,k", LAZY_CONVS)
@pytest.mark.parametrize("batched", [True, False])
def test_lazy_conv_infers_in_channels(name, k, batched):
    kwargs = dict(groups=2, padding=1, stride=2)
    e_mod, t_mod = getattr(enn, name)(4, 3, **kwargs), getattr(torch.nn, name)(4, 3, **kwargs)
    param = e_mod.weight
    shape = ((2,) if batched else ()) + (6,) + (5,) * k
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    e_mod(ember.tensor(x))
    t_mod(torch.tensor(x))
    assert type(e_mod).__name__ == type(t_mod).__name__ == name.replace("Lazy", "")
    assert e_mod.in_channels == t_mod.in_channels == 6
    assert e_mod.weight is param  # an optimizer built before the first call still holds it
    assert tuple(e_mod.weight.shape) == tuple(t_mod.weight.shape)
    assert tuple(e_mod.bias.shape) == tuple(t_mod.bias.shape)
    # The default init ran once sized: U(+-1/sqrt(fan_in)), fan_in = weight dims 1..
    bound = 1 / np.sqrt(e_mod.weight[0].numel())
    assert np.abs(e_mod.weight.detach().cpu().numpy()).max() <= bound
    with ember.no_grad():
        e_mod.weight.copy_(ember.tensor(t_mod.weight.detach().cpu().numpy()))
        e_mod.bias.copy_(ember.tensor(t_mod.bias.detach().cpu().numpy()))
    check_op([shape], t_mod, e_mod)


def test_lazy_conv_state_dict_and_errors():
    src = torch.nn.Conv2d(6, 4, 3, bias=False)
    e_mod = enn.LazyConv2d(4, 3, bias=False)
    e_mod.load_state_dict({"weight": ember.tensor(src.weight.detach().cpu().numpy())})
    assert tuple(e_mod.weight.shape) == (4, 6, 3, 3) and e_mod.bias is None
    check_op([(1, 6, 5, 5)], src, e_mod)
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) input"):
        enn.LazyConv2d(4, 3)(ember.zeros(6, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        enn.LazyConv1d(4, 3, groups=2)(ember.zeros(1, 3, 5))


def _randomize_bn(e_bn, t_bn, seed):
    rng = np.random.default_rng(seed)
    n = t_bn.num_features
    values = {"running_mean": rng.standard_normal(n), "running_var": rng.uniform(0.5, 2, n),
              "weight": rng.standard_normal(n), "bias": rng.standard_normal(n)}
    with torch.no_grad(), ember.no_grad():
        for name, v in values.items():
            getattr(t_bn, name).copy_(torch.tensor(v))
            getattr(e_bn, name).copy_(ember.tensor(v))


@pytest.mark.parametrize("name,bn,k,transpose", [("Conv2d", "BatchNorm2d", 2, False),
                                                  ("Conv1d", "BatchNorm1d", 1, False),
                                                  ("ConvTranspose2d", "BatchNorm2d", 2, True)])
@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_eval(name, bn, k, transpose, bias):
    t_conv = getattr(torch.nn, name)(3, 4, 3, bias=bias).eval()
    e_conv = getattr(enn, name)(3, 4, 3, bias=bias).eval()
    e_conv.load_state_dict({key: ember.tensor(v.cpu().numpy()) for key, v in t_conv.state_dict().items()})
    t_bn, e_bn = getattr(torch.nn, bn)(4).eval(), getattr(enn, bn)(4).eval()
    _randomize_bn(e_bn, t_bn, 1)
    t_fused = torch.nn.utils.fuse_conv_bn_eval(t_conv, t_bn, transpose)
    e_fused = enn.utils.fuse_conv_bn_eval(e_conv, e_bn, transpose)
    assert e_fused is not e_conv and isinstance(e_fused.weight, enn.Parameter)
    assert_close(e_fused.weight, t_fused.weight)
    assert_close(e_fused.bias, t_fused.bias)
    check_op([(2, 3) + (6,) * k], t_fused, e_fused)
    # the fused layer computes bn(conv(x))
    x = ember.randn(2, 3, *(6,) * k)
    assert_close(e_fused(x), torch.tensor(e_bn(e_conv(x)).detach().cpu().numpy()))


def test_fuse_linear_bn_eval_and_errors():
    t_lin, e_lin = torch.nn.Linear(3, 4).eval(), enn.Linear(3, 4).eval()
    e_lin.load_state_dict({key: ember.tensor(v.cpu().numpy()) for key, v in t_lin.state_dict().items()})
    t_bn, e_bn = torch.nn.BatchNorm1d(4).eval(), enn.BatchNorm1d(4).eval()
    _randomize_bn(e_bn, t_bn, 2)
    t_fused = torch.nn.utils.fuse_linear_bn_eval(t_lin, t_bn)
    e_fused = enn.utils.fuse_linear_bn_eval(e_lin, e_bn)
    check_op([(5, 3)], t_fused, e_fused)
    w, b = enn.utils.fuse_linear_bn_weights(e_lin.weight, None, e_bn.running_mean, e_bn.running_var, e_bn.eps,
                                            e_bn.weight, e_bn.bias)
    tw, tb = torch.nn.utils.fuse_linear_bn_weights(t_lin.weight, None, t_bn.running_mean, t_bn.running_var,
                                                   t_bn.eps, t_bn.weight, t_bn.bias)
    assert_close(w, tw)
    assert_close(b, tb)
    assert b.requires_grad == tb.requires_grad
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        enn.utils.fuse_linear_bn_eval(e_lin.train(), e_bn)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        enn.utils.fuse_linear_bn_eval(e_lin.eval(), enn.BatchNorm1d(3).eval())
    with pytest.raises(AssertionError, match="must not be None"):
        enn.utils.fuse_linear_bn_eval(e_lin, enn.BatchNorm1d(4, track_running_stats=False).eval())


def test_skip_init_and_stateless_functional_call():
    m = enn.utils.skip_init(enn.Linear, 3, 4, bias=False)
    assert isinstance(m, enn.Linear) and tuple(m.weight.shape) == (4, 3) and m.bias is None
    with pytest.raises(RuntimeError, match="Expected a Module"):
        enn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="must support a 'device' arg"):
        enn.utils.skip_init(enn.ReLU)
    t_lin = torch.nn.Linear(2, 3)
    e_lin = enn.Linear(2, 3)
    w = np.random.default_rng(3).standard_normal((3, 2)).astype(np.float32)
    x = np.ones((1, 2), np.float32)
    with pytest.warns(FutureWarning) as t_rec:
        ref = torch.nn.utils.stateless.functional_call(t_lin, {"weight": torch.tensor(w), "bias": torch.zeros(3)},
                                                       (torch.tensor(x),))
    with pytest.warns(FutureWarning) as e_rec:
        out = enn.utils.stateless.functional_call(e_lin, {"weight": ember.tensor(w), "bias": ember.zeros(3)},
                                                  (ember.tensor(x),))
    assert str(e_rec[0].message) == str(t_rec[0].message)
    assert_close(out, ref)


LAZY_NORMS = [("LazyBatchNorm1d", 1), ("LazyBatchNorm2d", 2), ("LazyBatchNorm3d", 3), ("LazyInstanceNorm1d", 1),
              ("LazyInstanceNorm2d", 2), ("LazyInstanceNorm3d", 3)]


@pytest.mark.parametrize("name,k", LAZY_NORMS)
@pytest.mark.parametrize("affine,track", [(True, True), (False, True), (True, False)])
def test_lazy_norm_infers_num_features(name, k, affine, track):
    e_mod = getattr(enn, name)(affine=affine, track_running_stats=track)
    t_mod = getattr(torch.nn, name)(affine=affine, track_running_stats=track)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    held = e_mod.running_mean
    assert isinstance(held, enn.UninitializedBuffer) == track
    shape = (4, 3) + (5,) * k
    e_mod.train(), t_mod.train()
    check_op([shape], t_mod, e_mod)
    assert type(e_mod).__name__ == type(t_mod).__name__
    assert e_mod.num_features == t_mod.num_features == 3
    if track:
        assert e_mod.running_mean is held and type(held) is ember.Tensor
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            assert_close(getattr(e_mod, key), getattr(t_mod, key))


def test_lazy_norm_dtype_state_dict_and_unbatched():
    m = enn.LazyBatchNorm1d().double()
    assert m.running_mean.dtype == ember.float64 and m.weight.dtype == ember.float64
    m(ember.randn(4, 3, dtype=ember.float64))
    assert m.running_var.dtype == ember.float64
    src = torch.nn.BatchNorm2d(5)
    _randomize_bn(enn.BatchNorm2d(5), src, 3)
    e_mod = enn.LazyBatchNorm2d().eval()
    e_mod.load_state_dict({key: ember.tensor(v.cpu().numpy()) for key, v in src.state_dict().items()})
    check_op([(2, 5, 3, 3)], src.eval(), e_mod)
    assert e_mod.num_features == 5
    # An unbatched (C, L) input has its channels first.
    inst = enn.LazyInstanceNorm1d()
    inst(ember.randn(3, 7))
    assert inst.num_features == 3
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        enn.LazyBatchNorm1d()(ember.zeros(2, 3, 4, 5))


def test_uninitialized_buffer():
    e_buf, t_buf = enn.UninitializedBuffer(), torch.nn.UninitializedBuffer()
    assert e_buf.requires_grad == t_buf.requires_grad
    with pytest.raises(RuntimeError, match="uninitialized"):
        e_buf.shape
    e_buf.materialize((2, 3))
    assert type(e_buf) is ember.Tensor and tuple(e_buf.shape) == (2, 3)
    assert e_buf.dtype == ember.get_default_dtype()


@pytest.mark.parametrize("size,replicas", [(10, 3), (2, 5), (12, 4), (7, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_unshuffled_matches_torch(size, replicas, drop_last):
    from torch.utils.data import DistributedSampler as TorchSampler

    from ember.utils.data import DistributedSampler
    for rank in range(replicas):
        e = DistributedSampler(range(size), replicas, rank, shuffle=False, drop_last=drop_last)
        t = TorchSampler(range(size), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(e) == list(t) and len(e) == len(t)


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shuffle_partitions_each_epoch(drop_last):
    from ember.utils.data import DistributedSampler
    samplers = [DistributedSampler(range(10), 3, r, seed=5, drop_last=drop_last) for r in range(3)]
    orders = []
    for epoch in (0, 1):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert all(len(share) == len(samplers[0]) for share in shares)
        flat = sorted(i for share in shares for i in share)
        if drop_last:  # 9 distinct indices, none repeated
            assert len(set(flat)) == len(flat) == 9
        else:  # all 10, two of them twice (padding)
            assert set(flat) == set(range(10)) and len(flat) == 12
        assert shares == [list(s) for s in samplers]  # the same order again within an epoch
        orders.append(shares)
    assert orders[0] != orders[1]


def test_distributed_sampler_errors():
    from torch.utils.data import DistributedSampler as TorchSampler

    from ember.utils.data import DistributedSampler
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), 3, 3)
    with pytest.raises(ValueError, match="Invalid rank 3"):
        TorchSampler(range(4), 3, 3)
    with pytest.raises(ValueError, match="pass num_replicas= and rank="):  # PyTorch: ValueError from get_world_size
        DistributedSampler(range(4))


def test_pdist_and_ctc_loss_are_top_level_as_in_torch():
    assert ember.pdist is ember.nn.functional.pdist
    assert ember.ctc_loss is ember.nn.functional.ctc_loss
    assert hasattr(torch, "pdist") and hasattr(torch, "ctc_loss")
