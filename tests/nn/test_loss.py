"""Losses against torch.nn.functional and torch.nn: values, gradients, options, errors."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from helpers import assert_close, check_gradcheck, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["none", "mean", "sum"]
FLOATS = ["float32", "float64"]
NP = {"float32": np.float32, "float64": np.float64}


def _both(value):
    """A numpy array as (ember, torch) tensors; anything else unchanged for both."""
    if isinstance(value, np.ndarray):
        return ember.tensor(value), torch.tensor(value)
    return value, value


def check_loss(name, shapes, *consts, dtype="float32", low=-2.0, high=2.0, values=None,
               atol=None, rtol=None, **kwargs):
    """check_op on ``F.<name>(*float_inputs, *consts, **kwargs)``; arrays become tensors."""
    ec, tc = zip(*[_both(c) for c in consts]) if consts else ((), ())
    ek, tk = {}, {}
    for k, v in kwargs.items():
        ek[k], tk[k] = _both(v)
    return check_op(shapes, lambda *xs: getattr(TF, name)(*xs, *tc, **tk),
                    lambda *xs: getattr(EF, name)(*xs, *ec, **ek),
                    dtype=dtype, low=low, high=high, values=values, atol=atol, rtol=rtol)


def targets(shape, classes, seed=0, ignore=None, ignore_index=-100):
    """Random int64 class indices; with ``ignore``, that fraction set to ``ignore_index``."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, classes, size=shape)
    if ignore:
        t = np.where(rng.random(shape) < ignore, ignore_index, t)
    return t.astype(np.int64)


def weights(n, dtype="float32", seed=3):
    return np.random.default_rng(seed).uniform(0.2, 2.0, size=n).astype(NP[dtype])


# ---- regression --------------------------------------------------------------------------------
REGRESSION = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
              ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
              ("huber_loss", {}), ("huber_loss", {"delta": 0.3})]


@pytest.mark.parametrize("name,kw", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_regression(name, kw, reduction, dtype):
    for shapes in ([(3, 4), (3, 4)], [(), ()], [(0, 3), (0, 3)]):
        check_loss(name, shapes, dtype=dtype, reduction=reduction, **kw)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weight(name, reduction):
    w = weights((3, 4)).reshape(3, 4)
    check_loss(name, [(3, 4), (3, 4)], reduction=reduction, weight=w)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        getattr(EF, name)(ember.zeros(3, 4), ember.zeros(3, 4), weight=ember.ones(4))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_broadcast_warns(name):
    with pytest.warns(UserWarning, match=r"target size \(ember.Size\(\[3\]\)\) that is different"):
        getattr(EF, name)(ember.zeros(3, 1), ember.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_loss(name, [(3, 1), (3,)])


def test_regression_promotes_and_rejects_integers():
    out = EF.mse_loss(ember.tensor([1, 2]), ember.tensor([1.0, 3.0]))
    assert_close(out, TF.mse_loss(torch.tensor([1, 2]), torch.tensor([1.0, 3.0])))
    out = EF.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 3.0], dtype=ember.float64))
    assert out.dtype is ember.float64
    with pytest.raises(NotImplementedError, match="mse_loss.*'Long'"):
        EF.mse_loss(ember.tensor([1, 2]), ember.tensor([1, 3]))


def test_regression_errors_and_legacy_args():
    x = ember.zeros(2, 3)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        EF.mse_loss(x, x, reduction="avg")
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta"):
        EF.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
        EF.huber_loss(x, x, delta=0)
    for legacy, reduction in [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
                              ({"size_average": True, "reduce": True}, "mean")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{reduction}' instead"):
            check_loss("mse_loss", [(2, 3), (2, 3)], **legacy)


@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.7}),
                                     ("huber_loss", {"delta": 0.7})])
def test_regression_gradcheck(name, kw):
    # |diff| stays away from 0 and from beta/delta, where l1/smooth-l1/huber have kinks
    rng = np.random.default_rng(0)
    a = rng.uniform(-2, 2, (3, 4))
    b = a + rng.choice([-1, 1], (3, 4)) * rng.choice([0.2, 0.4, 1.2, 1.5], (3, 4))
    check_gradcheck([(3, 4), (3, 4)], lambda x, y: getattr(EF, name)(x, y, **kw), values=[a, b])


# ---- cross-entropy and nll ---------------------------------------------------------------------
# (input shape, target shape): 2-D, unbatched 1-D, K-dimensional, empty batch
CLASS_CASES = [((6, 5), (6,)), ((5,), ()), ((2, 3, 4), (2, 4)), ((2, 4, 2, 3), (2, 2, 3)),
               ((0, 4), (0,))]


@pytest.mark.parametrize("shape,tshape", CLASS_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_index_targets(name, shape, tshape, reduction, dtype):
    classes = shape[0] if len(shape) == 1 else shape[1]
    t = targets(tshape, classes)
    check_loss(name, [shape], t, dtype=dtype, reduction=reduction)
    check_loss(name, [shape], t, dtype=dtype, reduction=reduction, weight=weights(classes, dtype))


@pytest.mark.parametrize("shape,tshape", CLASS_CASES[:4])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_ignore_index(name, shape, tshape, reduction):
    classes = shape[0] if len(shape) == 1 else shape[1]
    for ignore_index in (-100, 1):
        t = targets(tshape, classes, ignore=0.4, ignore_index=ignore_index)
        for w in (None, weights(classes)):
            check_loss(name, [shape], t, reduction=reduction, ignore_index=ignore_index, weight=w)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_all_targets_ignored(name):
    # PyTorch's 0/0: the mean is nan and the gradient is 0
    t = np.full(4, -100, dtype=np.int64)
    check_loss(name, [(4, 3)], t)
    check_loss(name, [(4, 3)], t, reduction="sum")


@pytest.mark.parametrize("shape,tshape", CLASS_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.1, 1.0])
def test_label_smoothing(shape, tshape, reduction, smoothing):
    classes = shape[0] if len(shape) == 1 else shape[1]
    for ignore, w in ((None, None), (0.3, None), (0.3, weights(classes))):
        t = targets(tshape, classes, ignore=ignore)
        check_loss("cross_entropy", [shape], t, reduction=reduction, label_smoothing=smoothing,
                   weight=w)


@pytest.mark.parametrize("shape", [(4, 5), (5,), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_probability_targets(shape, reduction, dtype):
    classes = shape[0] if len(shape) == 1 else shape[1]
    # the target is an input too: its gradient is compared as well
    check_loss("cross_entropy", [shape, shape], dtype=dtype, low=0.0, high=1.0, reduction=reduction)
    check_loss("cross_entropy", [shape, shape], dtype=dtype, low=0.0, high=1.0, reduction=reduction,
               weight=weights(classes, dtype), label_smoothing=0.2)


def test_cross_entropy_accepts_uint8_targets():
    check_loss("cross_entropy", [(4, 3)], np.array([0, 2, 1, 2], dtype=np.uint8))


def test_cross_entropy_extreme_logits_are_finite():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, -1000.0]])
    t = np.array([1, 2, 0])
    for dtype in FLOATS:
        out, _ = check_loss("cross_entropy", [(3, 3)], t, dtype=dtype, values=[x])
        assert np.isfinite(out.item())
        check_loss("cross_entropy", [(3, 3)], t, dtype=dtype, values=[x], label_smoothing=0.1)


def test_cross_entropy_is_one_fused_node():
    x = ember.randn(4, 5, requires_grad=True)
    loss = EF.cross_entropy(x, ember.tensor([0, 1, 2, 3]))
    assert loss.grad_fn.name() == "NllLossBackward0"  # as in PyTorch
    assert loss.grad_fn.next_functions[0][0].name() == "AccumulateGrad"


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                {"ignore_index": 2}, {"label_smoothing": 0.2},
                                {"weight": ember.tensor([0.5, 1.0, 2.0, 1.5], dtype=ember.float64)}])
def test_cross_entropy_gradcheck(kw):
    t = ember.tensor([0, 2, 3, 2, 1])
    check_gradcheck([(5, 4)], lambda x: EF.cross_entropy(x, t, **kw))
    t3 = ember.tensor([[0, 2, 3], [2, 1, 1]])
    check_gradcheck([(2, 4, 3)], lambda x: EF.cross_entropy(x, t3, **kw))


def test_cross_entropy_probability_and_nll_gradcheck():
    check_gradcheck([(3, 4), (3, 4)], lambda x, t: EF.cross_entropy(x, t, label_smoothing=0.1),
                    low=0.0, high=1.0)
    t = ember.tensor([0, 2, 1])
    check_gradcheck([(3, 4)], lambda x: EF.nll_loss(x, t, weight=ember.tensor([1.0, 2.0, 0.5, 1.0],
                                                                            dtype=ember.float64)))


@pytest.mark.parametrize("t", [[1, 0, 4, 4], [1, -100, 4, -100]])  # every row kept, some ignored
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_double_backward_matches_torch(t, reduction):
    x_np = np.random.default_rng(0).standard_normal((4, 5))
    xe = ember.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    ge, = ember.autograd.grad(EF.cross_entropy(xe, ember.tensor(t), reduction=reduction), xe, create_graph=True)
    gt, = torch.autograd.grad(TF.cross_entropy(xt, torch.tensor(t), reduction=reduction), xt, create_graph=True)
    assert_close(ge, gt, atol=1e-10)
    (ge * ge).sum().backward()
    (gt * gt).sum().backward()
    assert_close(xe.grad, xt.grad, atol=1e-10)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_target_errors(name):
    fn = getattr(EF, name)
    x = ember.randn(4, 5)
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Float"):
        fn(x, ember.rand(4))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        fn(x, ember.tensor([1, 2, 3, 4], dtype=ember.int32))
    with pytest.raises(IndexError, match=r"Target 10 is out of bounds\..*5 classes"):
        fn(x, ember.tensor([1, 2, 3, 10]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        fn(x, ember.tensor([1, 2, 3, -1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(64\) to match target batch_size \(32\)\."):
        fn(ember.randn(64, 10), ember.zeros(32, dtype=ember.int64))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 5\]"):
        fn(ember.randn(2, 3, 4), ember.ones(2, 5, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        fn(x, ember.zeros(4, 1, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5 classes"):
        fn(x, ember.tensor([1, 2, 3, 4]), weight=ember.ones(3))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        fn(x, ember.tensor([1, 2, 3, 4]), weight=ember.ones(5, requires_grad=True))
    with pytest.raises(ValueError, match="For 1D input, 1D target must have size 1"):
        fn(ember.randn(5), ember.tensor([1, 2]))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        fn(x, ember.tensor([1, 2, 3, 4]), reduction="avg")
    # an out-of-range target equal to ignore_index is fine
    check_loss(name, [(4, 5)], np.array([1, 7, 3, 7]), ignore_index=7)


def test_cross_entropy_errors():
    x = ember.randn(4, 5)
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        EF.cross_entropy(x, ember.tensor([1, 2, 3, 4]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        EF.cross_entropy(x, ember.rand(4, 5), ignore_index=1)
    with pytest.raises(RuntimeError, match="Expected floating point type for target with class probabilities, got Long"):
        EF.cross_entropy(x, ember.zeros(4, 5, dtype=ember.int64))
    with pytest.raises(NotImplementedError, match="cross_entropy.*'Long'"):
        EF.cross_entropy(ember.zeros(4, 5, dtype=ember.int64), ember.tensor([1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        EF.nll_loss(ember.tensor(1.0), ember.tensor(0))


# ---- binary classification ---------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_cross_entropy(reduction, dtype):
    for shape in [(3, 4), (), (0, 2)]:
        check_loss("binary_cross_entropy", [shape, shape], dtype=dtype, low=0.02, high=0.98,
                   reduction=reduction)
    check_loss("binary_cross_entropy", [(3, 4), (3, 4)], dtype=dtype, low=0.02, high=0.98,
               reduction=reduction, weight=weights(4, dtype))


def test_binary_cross_entropy_saturated_probabilities():
    # log clamped at -100 and the gradient's denominator at 1e-12, exactly as PyTorch
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3])
    for dtype in FLOATS:
        check_loss("binary_cross_entropy", [(6,), (6,)], dtype=dtype, values=[x, t], reduction="sum")


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        EF.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))
    with pytest.raises(ValueError, match=r"Using a target size \(ember.Size\(\[3\]\)\) that is different "
                                         r"to the input size \(ember.Size\(\[3, 1\]\)\) is deprecated"):
        EF.binary_cross_entropy(ember.rand(3, 1), ember.rand(3))
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        EF.binary_cross_entropy(ember.rand(3), ember.rand(3, dtype=ember.float64))
    with pytest.raises(RuntimeError, match="weight of shape \\[3\\] is not broadcastable"):
        EF.binary_cross_entropy(ember.rand(4, 5), ember.rand(4, 5), weight=ember.ones(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_bce_with_logits(reduction, dtype):
    for shape in [(3, 4), (), (0, 4)]:
        check_loss("binary_cross_entropy_with_logits", [shape, shape], dtype=dtype, low=-3, high=3,
                   reduction=reduction)
    check_loss("binary_cross_entropy_with_logits", [(3, 4), (3, 4)], dtype=dtype, low=-3, high=3,
               reduction=reduction, weight=weights(4, dtype), pos_weight=weights(4, dtype, seed=5))


def test_bce_with_logits_large_logits():
    x = np.array([1000.0, -1000.0, 80.0, -80.0, 30.0, -30.0, 0.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.7, 0.5])
    for dtype in FLOATS:
        out, _ = check_loss("binary_cross_entropy_with_logits", [(7,), (7,)], dtype=dtype,
                            values=[x, t], reduction="none",
                            pos_weight=np.full(7, 2.5, dtype=NP[dtype]))
        assert np.all(np.isfinite(out.detach().cpu().numpy()))


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match=r"Target size \(ember.Size\(\[3\]\)\) must be the same as input "
                                         r"size \(ember.Size\(\[3, 1\]\)\)"):
        EF.binary_cross_entropy_with_logits(ember.rand(3, 1), ember.rand(3))


def test_binary_gradcheck():
    check_gradcheck([(3, 4), (3, 4)], lambda x, t: EF.binary_cross_entropy(x, t), low=0.05, high=0.95)
    pw = ember.tensor([0.5, 2.0, 1.0, 3.0], dtype=ember.float64)
    check_gradcheck([(3, 4), (3, 4)],
                    lambda x, t: EF.binary_cross_entropy_with_logits(x, t, pos_weight=pw), low=-3, high=3)


# ---- divergences and likelihoods ---------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_kl_div(reduction, log_target, dtype):
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, -0.1, (3, 4))
    t = rng.uniform(-3, 0, (3, 4)) if log_target else np.append(rng.uniform(0, 1, 11), 0.0).reshape(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'mean' warns that it is not 'batchmean' (tested below)
        check_loss("kl_div", [(3, 4), (3, 4)], dtype=dtype, values=[x, t], reduction=reduction,
                   log_target=log_target)
    check_gradcheck([(3, 4), (3, 4)], lambda a, b: EF.kl_div(a, b, reduction="sum", log_target=log_target),
                    values=[x, t if log_target else t + 0.1])


def test_kl_div_warnings_and_errors():
    x = ember.randn(2, 3)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        EF.kl_div(x, x)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        EF.kl_div(x, x, reduction="avg")
    with pytest.raises(RuntimeError, match="kl_div: Integral inputs not supported"):
        EF.kl_div(x, ember.ones(2, 3, dtype=ember.int64), reduction="sum")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll_loss(reduction, log_input, full):
    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 3, (3, 4))
    t = rng.integers(0, 5, (3, 4)).astype(np.float64)
    for dtype in FLOATS:
        check_loss("poisson_nll_loss", [(3, 4), (3, 4)], dtype=dtype, values=[x, t],
                   log_input=log_input, full=full, reduction=reduction)
    check_gradcheck([(3, 4)], lambda a: EF.poisson_nll_loss(a, ember.tensor(t), log_input, full), values=[x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(3, 4), (3,), (3, 1), (1, 4)])
def test_gaussian_nll_loss(reduction, var_shape):
    for dtype in FLOATS:
        for full in (False, True):
            check_loss("gaussian_nll_loss", [(3, 4), (3, 4), var_shape], dtype=dtype, low=0.1,
                       high=2.0, full=full, reduction=reduction)
    check_gradcheck([(3, 4), (3, 4), var_shape], lambda a, b, v: EF.gaussian_nll_loss(a, b, v), low=0.1, high=2)


def test_gaussian_nll_loss_clamps_small_variances_like_torch():
    v = np.array([0.0, 1e-9, 0.5, 2.0])
    check_loss("gaussian_nll_loss", [(4,), (4,), (4,)], values=[None, None, v], dtype="float64")
    check_loss("gaussian_nll_loss", [(2, 3), (2, 3)], 0.7)


def test_gaussian_nll_loss_errors():
    x = ember.zeros(4, 5)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        EF.gaussian_nll_loss(x, x, -ember.ones(4, 5))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        EF.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        EF.gaussian_nll_loss(x, x, ember.ones(3))
    with pytest.raises(ValueError, match="avg is not valid"):
        EF.gaussian_nll_loss(x, x, ember.ones(4), reduction="avg")


# ---- margins and embeddings ---------------------------------------------------------------------
def signs(shape, seed=0, values=(1, -1)):
    return np.random.default_rng(seed).choice(values, size=shape).astype(np.int64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_margin_losses(reduction, dtype):
    kw = {"dtype": dtype, "reduction": reduction}
    check_loss("margin_ranking_loss", [(6,), (6,)], signs(6), margin=0.3, **kw)
    check_loss("margin_ranking_loss", [(3, 2), (3, 2)], signs((3, 1)).astype(NP[dtype]), **kw)
    check_loss("hinge_embedding_loss", [(6,)], signs(6, values=(1, -1, 0)), margin=1.5, **kw)
    check_loss("hinge_embedding_loss", [(2, 3)], signs((2, 3)), **kw)
    check_loss("soft_margin_loss", [(2, 3)], signs((2, 3)).astype(NP[dtype]), **kw)
    check_loss("cosine_embedding_loss", [(5, 4), (5, 4)], signs(5, values=(1, -1, 0)), margin=0.2, **kw)
    check_loss("cosine_embedding_loss", [(4,), (4,)], np.array(-1), **kw)
    check_loss("multilabel_soft_margin_loss", [(3, 4)], signs((3, 4), values=(0, 1)).astype(NP[dtype]), **kw)
    check_loss("multilabel_soft_margin_loss", [(4,), (4,)], dtype=dtype, low=0, high=1,
               reduction=reduction, weight=weights(4, dtype))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin_loss(reduction, p, margin):
    for dtype in FLOATS:
        check_loss("multi_margin_loss", [(5, 4)], targets(5, 4), dtype=dtype, p=p, margin=margin,
                   reduction=reduction)
        check_loss("multi_margin_loss", [(5, 4)], targets(5, 4), dtype=dtype, p=p, margin=margin,
                   reduction=reduction, weight=weights(4, dtype))
    check_loss("multi_margin_loss", [(4,)], np.array(2), p=p, reduction=reduction)
    check_loss("multi_margin_loss", [(4,)], np.array([2]), p=p, reduction=reduction)


def test_multi_margin_loss_errors():
    x = ember.randn(3, 4)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        EF.multi_margin_loss(x, ember.tensor([1, 2, 3]), p=3)
    with pytest.raises(RuntimeError, match="Expected non-empty vector or matrix"):
        EF.multi_margin_loss(ember.randn(2, 3, 4), ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="target out of range"):
        EF.multi_margin_loss(x, ember.tensor([1, 2, 4]))
    with pytest.raises(RuntimeError, match=r"Expected target size \[3\], but got \[2\]"):
        EF.multi_margin_loss(x, ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"inconsistent weight size, expected 4 but got \[3\]"):
        EF.multi_margin_loss(x, ember.tensor([1, 2, 1]), weight=ember.rand(3))
    with pytest.raises(ValueError, match="weight must be one-dimensional"):
        EF.multi_margin_loss(x, ember.tensor([1, 2, 1]), weight=ember.rand(4, 1))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Int"):
        EF.multi_margin_loss(x, ember.tensor([1, 2, 1], dtype=ember.int32))


def test_margin_errors():
    with pytest.raises(RuntimeError, match="margin_ranking_loss : All input tensors should have same dimension"):
        EF.margin_ranking_loss(ember.randn(3), ember.randn(3, 1), ember.ones(3))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        EF.cosine_embedding_loss(ember.randn(3, 4), ember.randn(3, 4), ember.ones(1, 3))
    with pytest.raises(RuntimeError, match=r"1D target tensor expects 2D input tensors, but found inputs "
                                           r"with sizes \[2, 3, 4\] and \[2, 3, 4\]"):
        EF.cosine_embedding_loss(ember.randn(2, 3, 4), ember.randn(2, 3, 4), ember.ones(2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2, False), (2, True), (1, False), (3, True)])
def test_triplet_margin_loss(reduction, p, swap):
    for dtype in FLOATS:
        check_loss("triplet_margin_loss", [(5, 4)] * 3, dtype=dtype, p=p, swap=swap, margin=1.5,
                   reduction=reduction)
    check_loss("triplet_margin_loss", [(4,)] * 3, p=p, swap=swap, reduction=reduction)
    check_loss("triplet_margin_loss", [(2, 3, 4), (2, 3, 4), (1, 3, 4)], p=p, swap=swap, reduction=reduction)


def test_triplet_margin_loss_errors():
    a = ember.randn(3, 4)
    with pytest.raises(RuntimeError, match="anchor 2D, positive 2D, and negative 3D inputs"):
        EF.triplet_margin_loss(a, a, ember.randn(2, 3, 4))
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        EF.triplet_margin_loss(a, a, a, margin=0)


def test_margin_gradcheck():
    y = ember.tensor([1, -1, 1, -1, 1])
    check_gradcheck([(5,), (5,)], lambda a, b: EF.margin_ranking_loss(a, b, y, margin=0.1))
    check_gradcheck([(5, 3), (5, 3)], lambda a, b: EF.cosine_embedding_loss(a, b, y, margin=-0.5))
    check_gradcheck([(5,)], lambda a: EF.soft_margin_loss(a, y.double()))
    check_gradcheck([(5,)], lambda a: EF.hinge_embedding_loss(a, y, margin=3.0))
    check_gradcheck([(3, 4), (3, 4)], lambda a, t: EF.multilabel_soft_margin_loss(a, t), low=0, high=1)
    check_gradcheck([(4, 3), (4, 3), (4, 3)], lambda a, p, n: EF.triplet_margin_loss(a, p, n, margin=5.0))
    t = ember.tensor([0, 2, 1, 1])
    check_gradcheck([(4, 3)], lambda a: EF.multi_margin_loss(a, t, p=2, margin=5.0))


# ---- distances ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_cosine_similarity(dtype):
    for shapes, dim in [([(3, 4), (3, 4)], 1), ([(3, 4), (4,)], -1), ([(4,), (4,)], 0),
                        ([(2, 3, 4), (2, 1, 4)], 0), ([(2, 3, 4), (2, 3, 4)], -2),
                        ([(2, 3, 4), (3, 4)], 0)]:
        check_op(shapes, lambda a, b: TF.cosine_similarity(a, b, dim=dim),
                 lambda a, b: EF.cosine_similarity(a, b, dim=dim), dtype=dtype)
    check_gradcheck([(3, 4), (4,)], lambda a, b: EF.cosine_similarity(a, b, dim=-1))


def test_cosine_similarity_zero_vector_and_errors():
    check_op([(2, 3), (2, 3)], lambda a, b: TF.cosine_similarity(a, b), lambda a, b: EF.cosine_similarity(a, b),
             values=[np.zeros((2, 3)), None], dtype="float64", rtol=1e-6)
    with pytest.raises(IndexError, match="Dimension out of range"):
        EF.cosine_similarity(ember.randn(4), ember.randn(4))
    assert ember.cosine_similarity is EF.cosine_similarity
    assert ember.pairwise_distance is EF.pairwise_distance
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        EF.cosine_similarity(ember.tensor([1, 2]), ember.tensor([1, 3]), dim=0)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p, keepdim):
    for shapes in ([(3, 4), (3, 4)], [(3, 4), (4,)], [(4,), (4,)], [(2, 3, 4), (3, 4)]):
        check_op(shapes, lambda a, b: TF.pairwise_distance(a, b, p=p, keepdim=keepdim),
                 lambda a, b: EF.pairwise_distance(a, b, p=p, keepdim=keepdim))
    if p != float("inf"):
        check_gradcheck([(3, 4), (3, 4)], lambda a, b: EF.pairwise_distance(a, b, p=p, keepdim=keepdim))


# ---- modules ----------------------------------------------------------------------------------------
def _module_pair(name, *args, **kwargs):
    ek, tk = {}, {}
    for k, v in kwargs.items():
        ek[k], tk[k] = _both(v)
    return getattr(enn, name)(*args, **ek), getattr(torch.nn, name)(*args, **tk)


MODULES = [
    ("L1Loss", {}, [(3, 4), (3, 4)], ()),
    ("MSELoss", {"reduction": "sum"}, [(3, 4), (3, 4)], ()),
    ("SmoothL1Loss", {"beta": 0.5}, [(3, 4), (3, 4)], ()),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, [(3, 4), (3, 4)], ()),
    ("CrossEntropyLoss", {"weight": weights(5), "ignore_index": 1, "label_smoothing": 0.1},
     [(4, 5)], (targets(4, 5),)),
    ("CrossEntropyLoss", {}, [(2, 5, 3)], (targets((2, 3), 5),)),
    ("NLLLoss", {"weight": weights(5), "reduction": "sum"}, [(4, 5)], (targets(4, 5),)),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [(3, 4), (3, 4)], ()),
    ("PoissonNLLLoss", {"full": True}, [(3, 4)], (np.arange(12.0, dtype=np.float32).reshape(3, 4),)),
    ("GaussianNLLLoss", {"full": True}, [(3, 4), (3, 4)], (np.full(3, 0.5, dtype=np.float32),)),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [(3, 4), (3, 4)], (signs(3),)),
    ("MarginRankingLoss", {"margin": 0.2}, [(3,), (3,)], (signs(3),)),
    ("HingeEmbeddingLoss", {"margin": 2.0}, [(3,)], (signs(3),)),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}, [(3, 4)] * 3, ()),
    ("SoftMarginLoss", {}, [(3,)], (signs(3).astype(np.float32),)),
    ("MultiLabelSoftMarginLoss", {"weight": weights(4)}, [(3, 4)],
     (signs((3, 4), values=(0, 1)).astype(np.float32),)),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": weights(4)}, [(3, 4)], (targets(3, 4),)),
]


@pytest.mark.parametrize("name,kw,shapes,consts", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, kw, shapes, consts):
    em, tm = _module_pair(name, **kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    ec, tc = zip(*[_both(c) for c in consts]) if consts else ((), ())
    check_op(shapes, lambda *xs: tm(*xs, *tc), lambda *xs: em(*xs, *ec))


def test_binary_modules_match_torch():
    check_op([(3, 4), (3, 4)], torch.nn.BCELoss(weight=torch.tensor(weights(4))),
             enn.BCELoss(weight=ember.tensor(weights(4))), low=0.05, high=0.95)
    em, tm = _module_pair("BCEWithLogitsLoss", weight=weights(4), pos_weight=weights(4, seed=7))
    assert list(em.state_dict()) == list(tm.state_dict()) == ["weight", "pos_weight"]
    assert dict(em.named_buffers()).keys() == dict(tm.named_buffers()).keys()
    check_op([(3, 4), (3, 4)], tm, em, low=0, high=1)
    assert list(enn.BCEWithLogitsLoss().state_dict()) == []


def test_module_options_and_errors():
    for name in ("L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "KLDivLoss"):
        with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
            assert getattr(enn, name)(size_average=False).reduction == "sum"
    ce = enn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.2)
    assert (ce.ignore_index, ce.label_smoothing, ce.reduction, ce.weight) == (3, 0.2, "mean", None)
    with pytest.raises(ValueError, match="expected margin to be greater than 0, got 0 instead"):
        enn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        enn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D instead"):
        enn.MultiMarginLoss(weight=ember.ones(2, 2))
    assert isinstance(enn.MSELoss(), enn.Module)


def test_module_weight_follows_dtype_conversion():
    loss = enn.CrossEntropyLoss(weight=ember.tensor(weights(3))).double()
    assert loss.weight.dtype is ember.float64
    x = ember.randn(4, 3, dtype=ember.float64)
    assert loss(x, ember.tensor([0, 1, 2, 1])).dtype is ember.float64
