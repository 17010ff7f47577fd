"""Memory formats: strides, channels-last tensors and modules, and convolutions that keep them,
compared with PyTorch."""
import numpy as np
import pytest
import torch

import ember
from ember._layout import is_contiguous_as
from ember.backend import onednn


def both(make_torch, make_ember=None):
    """The same float32 values as a PyTorch tensor and an ember tensor, each made by its maker."""
    t = make_torch(torch)
    return t, (make_ember or make_torch)(ember)


VIEWS = [
    lambda m, x: x,
    lambda m, x: x.transpose(0, 2),
    lambda m, x: x.permute(2, 0, 1),
    lambda m, x: x[:, 1:, ::2],
    lambda m, x: x[1],
    lambda m, x: x[:, :, :1],
    lambda m, x: x.unsqueeze(1),
    lambda m, x: x.unsqueeze(-1),
    lambda m, x: x[:1].expand(4, 3, 5),
    lambda m, x: x.narrow(2, 1, 3),
    lambda m, x: x.reshape(12, 5),
    lambda m, x: x.flatten(),
    lambda m, x: x[:, :0],
]


@pytest.mark.parametrize("view", VIEWS)
def test_stride_and_storage_offset_match_pytorch(view):
    a = np.arange(60, dtype=np.float32).reshape(4, 3, 5)
    t, e = view(torch, torch.tensor(a)), view(ember, ember.tensor(a))
    assert e.stride() == t.stride()
    for d in range(-t.dim(), t.dim()):
        assert e.stride(d) == t.stride(d)
    assert e.storage_offset() == t.storage_offset()
    assert e.is_contiguous() == t.is_contiguous()


def test_stride_of_a_bad_dim_raises_index_error():
    with pytest.raises(IndexError):
        ember.zeros(2, 3).stride(2)


@pytest.mark.parametrize("shape, fmt", [((2, 3, 4, 5), "channels_last"), ((2, 3, 4, 5, 6), "channels_last_3d"),
                                        ((1, 7, 3, 2), "channels_last")])
def test_contiguous_to_and_clone_in_a_format(shape, fmt):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t, e = torch.tensor(a), ember.tensor(a)
    tf, ef = getattr(torch, fmt), getattr(ember, fmt)
    for make in (lambda m, x, f: x.contiguous(memory_format=f), lambda m, x, f: x.to(memory_format=f),
                 lambda m, x, f: x.clone(memory_format=f), lambda m, x, f: x.to(m.float64, memory_format=f)):
        tr, er = make(torch, t, tf), make(ember, e, ef)
        assert er.stride() == tr.stride()
        assert er.is_contiguous(memory_format=ef) and not er.is_contiguous()
        np.testing.assert_array_equal(er.numpy(), tr.numpy())
        # and back, to row-major order
        assert make(ember, er, ember.contiguous_format).stride() == make(torch, tr, torch.contiguous_format).stride()
    ef_tensor = e.contiguous(memory_format=ef)
    assert ef_tensor.contiguous(memory_format=ef) is ef_tensor  # already in the format: itself
    assert ef_tensor.clone().stride() == t.contiguous(memory_format=tf).clone().stride()  # preserve_format


def test_clone_preserves_a_dense_layout_and_gradients_flow():
    a = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    t, e = torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True)
    tc, ec = t.t().clone(), e.t().clone()
    assert ec.stride() == tc.stride() == (1, 4)
    (ec * ember.arange(3.0)).sum().backward()
    (tc * torch.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    # a non-dense input gives a row-major copy, as in PyTorch
    assert e[:, ::2].clone().stride() == t[:, ::2].clone().stride()


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
def test_like_constructors_keep_or_set_the_format(name):
    t = torch.zeros(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    e = ember.zeros(2, 3, 4, 5).contiguous(memory_format=ember.channels_last)
    assert getattr(ember, name)(e).stride() == getattr(torch, name)(t).stride()
    kw_t, kw_e = {"memory_format": torch.contiguous_format}, {"memory_format": ember.contiguous_format}
    assert getattr(ember, name)(e, **kw_e).stride() == getattr(torch, name)(t, **kw_t).stride()
    assert getattr(ember, name)(e.transpose(1, 2)).stride() == getattr(torch, name)(t.transpose(1, 2)).stride()
    assert ember.full_like(e, 2.0).stride() == torch.full_like(t, 2.0).stride()
    assert (ember.full_like(e, 2.0).numpy() == 2).all()


def test_empty_in_a_format_and_its_errors():
    assert ember.empty(2, 3, 4, 5, memory_format=ember.channels_last).stride() == \
        torch.empty(2, 3, 4, 5, memory_format=torch.channels_last).stride()
    for m in (ember, torch):
        with pytest.raises(RuntimeError):
            m.empty(2, 3, 4, 5, memory_format=m.preserve_format)
        with pytest.raises(RuntimeError):
            m.empty(2, 3, memory_format=m.channels_last)
        with pytest.raises(RuntimeError):
            m.zeros(3, 2).t().contiguous(memory_format=m.preserve_format)


def test_module_to_channels_last_lays_out_4d_parameters():
    def build(m):
        m.manual_seed(0)
        return m.nn.Sequential(m.nn.Conv2d(3, 8, 3), m.nn.BatchNorm2d(8), m.nn.Flatten(), m.nn.Linear(8, 2))
    t, e = build(torch), build(ember)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    t.to(memory_format=torch.channels_last)
    assert e.to(memory_format=ember.channels_last) is e
    for (name, tp), (_, ep) in zip(t.named_parameters(), e.named_parameters()):
        assert ep.stride() == tp.stride(), name
        np.testing.assert_array_equal(ep.detach().numpy(), tp.detach().numpy())
    assert isinstance(e[0].weight, ember.nn.Parameter)


def test_a_leaf_gets_its_gradient_in_its_own_layout():
    a = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    t = torch.tensor(a).contiguous(memory_format=torch.channels_last).requires_grad_()
    e = ember.tensor(a).contiguous(memory_format=ember.channels_last).requires_grad_()
    g = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    (t * torch.tensor(g)).sum().backward()
    (e * ember.tensor(g)).sum().backward()  # a row-major gradient, laid out as the leaf
    assert e.grad.stride() == t.grad.stride()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_elementwise_ops_keep_channels_last():
    e = ember.randn(2, 3, 4, 5).contiguous(memory_format=ember.channels_last)
    for out in (e + 1, e * e, e.relu(), ember.sigmoid(e), ember.nn.functional.dropout(e, 0.5), -e):
        assert out.is_contiguous(memory_format=ember.channels_last)


# ---- convolutions -------------------------------------------------------------------------
CONVS = [  # (N, C, O, spatial, kernel, stride, padding, dilation, groups)
    (4, 16, 32, (12, 13), 3, 1, 1, 1, 1),
    (2, 6, 8, (9, 10), 5, 2, 2, 1, 2),
    (3, 8, 8, (7, 7), 3, 1, 1, 1, 8),
    (2, 5, 7, (11, 6), 3, 1, 2, 2, 1),
    (2, 4, 6, (6, 7), 1, 2, 0, 1, 1),
    (2, 4, 6, (5, 6, 7), 3, 1, 1, 1, 2),
]


def _formats(ndim):
    return ("channels_last", "channels_last_3d")[ndim - 4]


@pytest.mark.parametrize("case", CONVS)
@pytest.mark.parametrize("x_last, w_last", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("grad_last", [False, True])
def test_convolution_of_channels_last_operands_matches_pytorch(case, x_last, w_last, grad_last):
    n, c, o, spatial, k, stride, padding, dilation, groups = case
    rng = np.random.default_rng(sum(spatial) + c)
    x = rng.standard_normal((n, c) + spatial).astype(np.float32)
    w = rng.standard_normal((o, c // groups) + (k,) * len(spatial)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    fmt = _formats(x.ndim + 0)
    results = {}
    for m in (torch, ember):
        xm, wm = m.tensor(x), m.tensor(w)
        if x_last:
            xm = xm.contiguous(memory_format=getattr(m, fmt))
        if w_last:
            wm = wm.contiguous(memory_format=getattr(m, fmt))
        xm, wm, bm = xm.requires_grad_(), wm.requires_grad_(), m.tensor(b, requires_grad=True)
        conv = getattr(m.nn.functional, f"conv{len(spatial)}d")
        y = conv(xm, wm, bm, stride, padding, dilation, groups)
        gy = m.tensor(np.random.default_rng(5).standard_normal(tuple(y.shape)).astype(np.float32))
        if grad_last:
            gy = gy.contiguous(memory_format=getattr(m, fmt))
        y.backward(gy)
        results[m] = (y, xm.grad, wm.grad, bm.grad)
    for (te, ee), what in zip(zip(results[torch], results[ember]), ("output", "x.grad", "w.grad", "b.grad")):
        np.testing.assert_allclose(ee.detach().numpy(), te.detach().numpy(), rtol=1e-4, atol=1e-4, err_msg=what)
    y_t, y_e = results[torch][0], results[ember][0]
    # channels-last where PyTorch's is (a weight of one input channel per group, or of 1x1
    # taps, is both row-major and channels-last, and asks for neither)
    assert y_e.is_contiguous(memory_format=getattr(ember, fmt)) == y_t.is_contiguous(memory_format=getattr(torch, fmt))
    assert y_e.is_contiguous() == y_t.is_contiguous()


@pytest.mark.parametrize("case", CONVS[:4])
def test_channels_last_convolution_equals_the_row_major_one_without_onednn(case):
    """The NumPy path (float64, and float32 without oneDNN) takes channels-last arrays too."""
    n, c, o, spatial, k, stride, padding, dilation, groups = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, c) + spatial)
    w = rng.standard_normal((o, c // groups, k, k))
    ref = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w), None, stride, padding, dilation, groups)
    xl = ember.tensor(x).contiguous(memory_format=ember.channels_last)
    wl = ember.tensor(w).contiguous(memory_format=ember.channels_last)
    np.testing.assert_allclose(ember.nn.functional.conv2d(xl, wl, None, stride, padding, dilation, groups).numpy(),
                               ref.numpy(), rtol=1e-12, atol=1e-12)
    with onednn.off():
        xf, wf = xl.float(), wl.float()
        got = ember.nn.functional.conv2d(xf, wf, None, stride, padding, dilation, groups)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_channels_last_convolution_float64_finite_differences_and_double_backward():
    rng = np.random.default_rng(8)
    x = ember.tensor(rng.standard_normal((2, 3, 5, 6))).contiguous(memory_format=ember.channels_last)
    w = ember.tensor(rng.standard_normal((4, 3, 3, 3))).contiguous(memory_format=ember.channels_last)
    x.requires_grad_(), w.requires_grad_()
    f = lambda a, b: ember.nn.functional.conv2d(a, b, padding=1, stride=(1, 2))  # noqa: E731
    assert ember.autograd.gradcheck(f, (x, w))
    assert ember.autograd.gradgradcheck(f, (x, w))


def test_channels_last_weight_gradient_keeps_the_weights_layout():
    conv = ember.nn.Conv2d(8, 16, 3, padding=1).to(memory_format=ember.channels_last)
    x = ember.randn(2, 8, 6, 6).contiguous(memory_format=ember.channels_last)
    conv(x).sum().backward()
    assert conv.weight.grad.stride() == conv.weight.stride()
    assert is_contiguous_as(conv.weight.grad._data, ember.channels_last)


# ---- a channels-last model, trained -----------------------------------------------------------
def _small_cnn(m):
    m.manual_seed(0)
    return m.nn.Sequential(
        m.nn.Conv2d(3, 8, 3, padding=1, bias=False), m.nn.BatchNorm2d(8), m.nn.ReLU(),
        m.nn.Conv2d(8, 16, 3, stride=2, padding=1), m.nn.ReLU(), m.nn.Dropout(0.0),
        m.nn.MaxPool2d(2), m.nn.AdaptiveAvgPool2d(1), m.nn.Flatten(), m.nn.Linear(16, 5))


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_a_channels_last_model_trains_step_for_step_like_pytorch(optimizer):
    t, e = _small_cnn(torch), _small_cnn(ember)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    t.to(memory_format=torch.channels_last)
    e.to(memory_format=ember.channels_last)
    kwargs = dict(lr=0.1, momentum=0.9, weight_decay=1e-3) if optimizer == "SGD" else dict(lr=1e-2)
    opt_t = getattr(torch.optim, optimizer)(t.parameters(), **kwargs)
    opt_e = getattr(ember.optim, optimizer)(e.parameters(), **kwargs)
    rng = np.random.default_rng(4)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 10, 10)).astype(np.float32)
        y = rng.integers(0, 5, 4)
        for m, model, opt in ((torch, t, opt_t), (ember, e, opt_e)):
            opt.zero_grad()
            xm = m.tensor(x).contiguous(memory_format=m.channels_last)
            m.nn.functional.cross_entropy(model(xm), m.tensor(y)).backward()
            opt.step()
    for (name, tp), (_, ep) in zip(t.named_parameters(), e.named_parameters()):
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
        assert ep.stride() == tp.stride(), name
    for (name, tb), (_, eb) in zip(t.named_buffers(), e.named_buffers()):
        np.testing.assert_allclose(eb.numpy(), tb.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


POOLS = [
    lambda m, x: m.nn.functional.max_pool2d(x, 2),
    lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1),
    lambda m, x: m.nn.functional.max_pool2d(x, 2, ceil_mode=True, dilation=1),
    lambda m, x: m.nn.functional.avg_pool2d(x, 2),
    lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 5),
    lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 3),
    lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1),
    lambda m, x: m.nn.functional.adaptive_max_pool2d(x, 3),
    lambda m, x: m.nn.functional.max_pool2d(x.relu(), 2),
]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pooling_keeps_channels_last_with_pytorchs_values_and_gradients(pool, dtype):
    a = np.random.default_rng(6).standard_normal((3, 8, 10, 11)).astype(dtype)
    out = {}
    for m in (torch, ember):
        x = m.tensor(a).contiguous(memory_format=m.channels_last).requires_grad_()
        y = pool(m, x)
        g = m.tensor(np.random.default_rng(7).standard_normal(tuple(y.shape)).astype(dtype))
        y.backward(g)
        out[m] = y, x.grad
    tol = 1e-6 if dtype == "float32" else 1e-12
    for te, ee in zip(out[torch], out[ember]):
        np.testing.assert_allclose(ee.detach().numpy(), te.detach().numpy(), rtol=tol, atol=tol)
        last = te.is_contiguous(memory_format=torch.channels_last)
        assert ee.is_contiguous(memory_format=ember.channels_last) == last
        assert ee.is_contiguous() == te.is_contiguous()


def test_deepcopy_keeps_a_channels_last_parameter_channels_last():
    import copy
    conv = ember.nn.Conv2d(4, 8, 3).to(memory_format=ember.channels_last)
    twin = copy.deepcopy(conv)
    assert twin.weight.stride() == conv.weight.stride() == torch.nn.Conv2d(4, 8, 3).to(
        memory_format=torch.channels_last).weight.stride()
    np.testing.assert_array_equal(twin.weight.detach().numpy(), conv.weight.detach().numpy())


def test_compiled_channels_last_model_trains_like_eager():
    import copy
    eager = _small_cnn(ember).to(memory_format=ember.channels_last)
    twin = copy.deepcopy(eager)
    compiled = ember.compile(twin)
    opts = [ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, twin)]
    rng = np.random.default_rng(9)
    x = ember.tensor(rng.standard_normal((4, 3, 10, 10)).astype(np.float32)).contiguous(
        memory_format=ember.channels_last)
    y = ember.tensor(rng.integers(0, 5, 4))
    for _ in range(3):
        losses = []
        for model, opt in zip((eager, compiled), opts):
            opt.zero_grad()
            loss = ember.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == losses[1]
    for a, b in zip(eager.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert a.stride() == b.stride()


@pytest.mark.parametrize("pad", [(1, 1, 1, 1), (2, 0, 0, 3), (-1, 2, 1, -2), (0, 0, 0, 0), (1, 1, 1, 1, 1, 1)])
def test_constant_padding_keeps_channels_last(pad):
    a = np.random.default_rng(8).standard_normal((2, 5, 6, 7)).astype(np.float32)
    out = {}
    for m in (torch, ember):
        x = m.tensor(a).contiguous(memory_format=m.channels_last).requires_grad_()
        y = m.nn.functional.pad(x, pad, value=1.5)
        y.backward(m.ones_like(y) * 2)
        out[m] = y, x.grad
    for te, ee in zip(out[torch], out[ember]):
        np.testing.assert_array_equal(ee.detach().numpy(), te.detach().numpy())
        last = te.is_contiguous(memory_format=torch.channels_last)
        assert ee.is_contiguous(memory_format=ember.channels_last) == last


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=(5, 9), mode="bilinear"),
                                    dict(scale_factor=0.5, mode="bicubic", align_corners=True),
                                    dict(size=(3, 4), mode="area")])
def test_interpolate_gives_channels_last_for_channels_last(kwargs):
    a = np.random.default_rng(10).standard_normal((2, 4, 6, 8)).astype(np.float32)
    out = {}
    for m in (torch, ember):
        x = m.tensor(a).contiguous(memory_format=m.channels_last).requires_grad_()
        y = m.nn.functional.interpolate(x, **kwargs)
        y.backward(m.ones_like(y))
        out[m] = y, x.grad
    for te, ee in zip(out[torch], out[ember]):
        np.testing.assert_allclose(ee.detach().numpy(), te.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert out[ember][0].is_contiguous(memory_format=ember.channels_last)
    assert out[torch][0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("layouts", [(True, True), (True, False), (False, False), (True, True, True)])
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cat_keeps_a_layout_its_inputs_share_as_pytorch_does(layouts, dim):
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal((2, 3 + i if dim == 1 else 3, 4, 5)).astype(np.float32) for i in range(len(layouts))]
    out = {}
    for m in (torch, ember):
        xs = [m.tensor(a).contiguous(memory_format=m.channels_last if last else m.contiguous_format)
              .requires_grad_() for a, last in zip(arrays, layouts)]
        if dim != 1:
            xs = [x for x in xs[:1] for _ in layouts]
        y = m.cat(xs, dim)
        y.backward(m.arange(y.numel(), dtype=m.float32).reshape(y.shape))
        out[m] = y, [x.grad for x in xs]
    (ty, tgrads), (ey, egrads) = out[torch], out[ember]
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    assert ey.stride() == ty.stride()
    for te, ee in zip(tgrads, egrads):
        np.testing.assert_array_equal(ee.numpy(), te.numpy())


@pytest.mark.parametrize("index", [(slice(None), slice(None), slice(None, None, 2), slice(None, None, 2)),
                                   (slice(1, None), slice(0, 2)), (Ellipsis, 3)])
def test_slicing_gradient_keeps_the_inputs_layout(index):
    """A slice's gradient is laid out as its input, so that it adds to the input's other
    gradients (a residual branch's) in one layout."""
    a = np.random.default_rng(11).standard_normal((2, 4, 6, 6)).astype(np.float32)
    x = ember.tensor(a).contiguous(memory_format=ember.channels_last).requires_grad_()
    g, = ember.autograd.grad(x[index].sum() * 2, x)
    assert g.is_contiguous(memory_format=ember.channels_last)
    t = torch.tensor(a, requires_grad=True)
    want, = torch.autograd.grad(t[index].sum() * 2, t)
    np.testing.assert_array_equal(g.numpy(), want.numpy())


DIM_ORDER_CASES = [
    lambda m: m.zeros(2, 3, 4, 5), lambda m: m.zeros(2, 3, 4, 5).contiguous(memory_format=m.channels_last),
    lambda m: m.zeros(2, 3, 4, 5, 6).contiguous(memory_format=m.channels_last_3d), lambda m: m.zeros(3, 4).t(),
    lambda m: m.zeros(2, 3, 4).permute(2, 0, 1), lambda m: m.zeros(4, 1).expand(4, 3), lambda m: m.zeros(2, 1, 3),
    lambda m: m.zeros(1, 2, 3, 4), lambda m: m.zeros(2, 3, 1, 1).contiguous(memory_format=m.channels_last),
    lambda m: m.zeros(4, 6)[:, ::2], lambda m: m.zeros(5), lambda m: m.zeros(()), lambda m: m.zeros(2, 0, 3),
    lambda m: m.zeros(2, 3, 4, 5).contiguous(memory_format=m.channels_last)[:, :, ::2],
    lambda m: m.zeros(3, 3)[:, None, :].expand(3, 2, 3),
]
CHECKS = [False, True, ("contiguous_format",), ("channels_last",), ("contiguous_format", "channels_last"), 3, (3,)]


@pytest.mark.parametrize("check", CHECKS, ids=str)
@pytest.mark.parametrize("make", DIM_ORDER_CASES)
def test_dim_order_matches_pytorch(make, check):
    def outcome(m):
        arg = [getattr(m, f) if isinstance(f, str) else f for f in check] if isinstance(check, tuple) else check
        try:
            return "ok", make(m).dim_order(ambiguity_check=arg)
        except (TypeError, RuntimeError) as e:
            return type(e).__name__, str(e)
    assert outcome(ember) == outcome(torch)
