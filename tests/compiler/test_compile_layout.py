"""ember.compile's layout rewrite (compiler/layout.py): a CNN's replay computes channels-last,
bit for bit as eager does on the input laid out channels-last, and everything the caller
sees (results, gradients, writes in place) is as eager's."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.compiler import fusion

from helpers_compile import replaying, rewritten

CL = ember.channels_last


class Block(nn.Module):
    """conv - batch norm - ReLU twice with a shortcut: a ResNet block on 16 channels."""

    def __init__(self, c=16):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        return (self.bn2(self.conv2(out)) + x).relu()


def _twins(build, seed=0):
    ember.manual_seed(seed)
    a = build()
    ember.manual_seed(seed)
    return a, build()


def _x(*shape, seed=1, requires_grad=False):
    g = ember.Generator().manual_seed(seed)
    return ember.randn(*shape, generator=g).requires_grad_(requires_grad)


def _run(model, x):
    """The result and the parameters' gradients of model(x).sum()."""
    out = model(x)
    out.sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    return out, grads


def _compare(build, x, channels_last=True, options=None, calls=3):
    """``calls`` calls of ``build()`` compiled and of its eager twin on ``x``: the same values and
    parameter gradients, bit for bit, the twin's input laid out channels-last from the first
    replay on where ``channels_last``. Returns the compiled model, replaying."""
    model, twin = _twins(build)
    compiled = ember.compile(model, options=options)
    for i in range(calls):
        got, got_grads = _run(compiled, x)
        want, want_grads = _run(twin, x.contiguous(memory_format=CL) if channels_last and i >= 2 else x)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        for a, b in zip(got_grads, want_grads):
            np.testing.assert_array_equal(a, b)
    assert replaying(compiled)
    return compiled


def test_replay_is_eager_on_channels_last_input_with_eager_layouts_outside():
    model, twin = _twins(lambda: nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                               Block(), nn.MaxPool2d(2)))
    compiled = ember.compile(model)
    for i in range(4):
        x = _x(4, 3, 12, 12, seed=i, requires_grad=True)
        got, got_grads = _run(compiled, x)
        x_eager = _x(4, 3, 12, 12, seed=i, requires_grad=True)
        want, want_grads = _run(twin, x_eager.contiguous(memory_format=CL) if i >= 2 else x_eager)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        for a, b in zip(got_grads, want_grads):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(x.grad.numpy(), x_eager.grad.numpy())
        # the caller's tensors are laid out as eager lays them out: the result, the input's gradient
        assert got.stride() == want.contiguous().stride() and got.is_contiguous()
        assert x.grad.stride() == x.stride()
    assert rewritten(compiled)
    for a, b in zip(model.buffers(), twin.buffers()):  # batch norm's running statistics
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fused_runs_loop_over_channels_last_operands(monkeypatch):
    model, twin = _twins(Block)
    compiled = ember.compile(model)
    x = _x(2, 16, 8, 8)
    for _ in range(2):
        _run(compiled, x)
        _run(twin, x)

    def unfused(*args):
        raise AssertionError("a channels-last run fell back to its steps")
    monkeypatch.setattr(fusion.Region, "run_steps", unfused)
    got, got_grads = _run(compiled, x)
    want, want_grads = _run(twin, x.contiguous(memory_format=CL))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    for a, b in zip(got_grads, want_grads):
        np.testing.assert_array_equal(a, b)
    steps = [s.name for e in compiled.__dict__["_compiled"].cache.values() for s in e.graph.steps]
    assert any(name.startswith("ember.compile>fused(Add, Relu") for name in steps)


class ScaledConv(nn.Module):
    """A convolution, then a per-channel scale: an operand broadcast over a channels-last run."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.scale = nn.Parameter(ember.rand(1, 16, 1, 1))

    def forward(self, x):
        return (self.conv(x) * self.scale + 1.0).relu()


def test_a_broadcast_operand_over_channels_last_values_is_computed_as_eager():
    assert rewritten(_compare(ScaledConv, _x(2, 16, 6, 6)))


class Viewed(nn.Module):
    """A view of a convolution's result, which eager's layout allows and channels-last does not."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 8, 3)
        self.fc = nn.Linear(8 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).relu().view(x.shape[0], -1))


def test_ops_that_need_eager_layout_read_a_row_major_copy():
    model, twin = _twins(Viewed)
    compiled = ember.compile(model)
    x = _x(3, 16, 6, 6)
    for _ in range(3):
        got, got_grads = _run(compiled, x)
        want, want_grads = _run(twin, x)
        ember.testing.assert_close(got, want)
        for a, b in zip(got_grads, want_grads):
            ember.testing.assert_close(ember.tensor(a), ember.tensor(b))
    assert replaying(compiled) and rewritten(compiled)


class Writes(nn.Module):
    """A convolution's result, then ``then`` of it, which writes in place."""

    def __init__(self, then):
        super().__init__()
        self.conv, self.then = nn.Conv2d(16, 16, 3), then

    def forward(self, x):
        return self.then(self.conv(x))


def _write_after_view(y):
    """Writes into y after a view of it was taken: eager's view sees the write."""
    flat = y.view(-1)
    y.add_(1.0)
    return flat


def _write_through_view(y):
    """Writes into a view of y: eager's y sees the write."""
    y = y.relu()
    y.flatten(1).mul_(2.0)
    return y


def _inplace_activation(y):
    """ReLU(inplace=True): a write no copy stands in for."""
    return F.relu(y, inplace=True).mean((2, 3))


@pytest.mark.parametrize("then, rewrites", [(_write_after_view, False), (_write_through_view, False),
                                            (_inplace_activation, True)])
def test_writes_in_place_reach_what_they_reach_in_eager(then, rewrites):
    model, twin = _twins(lambda: Writes(then))
    compiled = ember.compile(model)
    x = _x(2, 16, 6, 6)
    with ember.no_grad():
        for _ in range(3):
            got, want = compiled(x), twin(x)
            if rewrites:  # (its mean adds in another order)
                ember.testing.assert_close(got, want)
            else:
                np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert replaying(compiled) and rewritten(compiled) == rewrites


@pytest.mark.parametrize("channels, groups, size, dtype, rewrites", [
    (16, 1, 3, ember.float32, True), (64, 1, 3, ember.float32, True), (8, 8, 3, ember.float32, True),  # depthwise
    (8, 1, 3, ember.float32, False), (128, 1, 3, ember.float32, False), (16, 1, 1, ember.float32, False),  # 1x1
    (16, 1, 3, ember.float64, False)])
def test_only_convolutions_that_gain_are_rewritten(channels, groups, size, dtype, rewrites):
    model = nn.Sequential(nn.Conv2d(channels, channels, size, groups=groups), nn.ReLU()).to(dtype)
    compiled = ember.compile(model)
    x = _x(2, channels, 6, 6).to(dtype)
    for _ in range(3):
        compiled(x)
    assert replaying(compiled) and rewritten(compiled) == rewrites


class Skip(nn.Module):
    """A U-Net's skip connection: two channels-last values concatenated, then convolved; with
    ``normalize``, one of them through group norm, whose result is row-major."""

    def __init__(self, normalize=False):
        super().__init__()
        self.down, self.up = nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(32, 16, 3, padding=1)
        self.normalize = normalize

    def forward(self, x):
        a = self.down(x).relu()
        b = F.interpolate(F.max_pool2d(a, 2), scale_factor=2)
        return self.up(ember.cat([a, F.group_norm(b, 4) if self.normalize else b], 1))


def test_concatenated_channels_last_values_stay_channels_last():
    compiled = _compare(Skip, _x(2, 16, 8, 8))
    steps = [s.name for e in compiled.__dict__["_compiled"].cache.values() for s in e.graph.steps]
    assert steps.count("ember.compile>to channels_last") == 1


def test_a_copy_back_and_forth_between_convolutions_keeps_the_layouts():
    # group norm reads a row-major copy, and the next convolution would copy the
    # concatenation channels-last again: the graph is left as it is
    assert not rewritten(_compare(lambda: Skip(normalize=True), _x(2, 16, 8, 8), channels_last=False))


def test_layout_optimization_option_off_keeps_the_model_layout():
    compiled = _compare(Block, _x(2, 16, 8, 8), channels_last=False, options={"layout_optimization": False})
    assert not rewritten(compiled)


# What the rewrite lets read channels-last values (layout._keeping): each gives the values and
# gradients it gives on row-major ones.
KEEPING = {
    "relu": F.relu, "relu6": F.relu6, "leaky_relu": F.leaky_relu, "hardtanh": F.hardtanh, "silu": F.silu,
    "gelu": F.gelu, "elu": F.elu, "selu": F.selu, "celu": F.celu, "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid, "mish": F.mish, "softplus": F.softplus, "sigmoid": F.sigmoid, "tanh": F.tanh,
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "dropout": lambda x: F.dropout(x, 0.5), "dropout2d": lambda x: F.dropout2d(x, 0.5),
    "pad": lambda x: F.pad(x, (1, 2, 0, 1)), "pad reflect": lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
    "max_pool2d": lambda x: F.max_pool2d(x, 2), "max_pool2d 3x3": lambda x: F.max_pool2d(x, 3, 2, 1),
    "avg_pool2d": lambda x: F.avg_pool2d(x, 2), "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 3),
    "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, 2),
    "interpolate": lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "interpolate nearest": lambda x: F.interpolate(x, size=(7, 5)),
    "getitem": lambda x: x[:, 1:, ::2], "add": lambda x: x + x * 2.0 - x / 3.0, "neg pow": lambda x: (-x) ** 2,
    "exp": ember.exp, "clamp": lambda x: x.clamp(-0.5, 0.5), "threshold": lambda x: F.threshold(x, 0.1, 0.0),
    "conv": lambda x: F.conv2d(x, ember.ones(4, 6, 3, 3) / 9),
}


@pytest.mark.parametrize("name", sorted(KEEPING))
def test_layout_keeping_ops_compute_channels_last_values_as_row_major_ones(name):
    x = _x(2, 6, 5, 7, requires_grad=True)
    x_cl = x.detach().contiguous(memory_format=CL).requires_grad_()
    results = []
    for t in (x, x_cl):
        ember.manual_seed(3)
        out = KEEPING[name](t)
        out.backward(ember.ones_like(out).contiguous())
        results.append((out, t.grad))
    (row, row_grad), (cl, cl_grad) = results
    ember.testing.assert_close(cl, row)
    ember.testing.assert_close(cl_grad, row_grad)
    assert cl_grad.stride() == x_cl.stride()


def test_keeping_covers_every_op_the_rewrite_lets_through():
    from ember.compiler import layout
    from ember.ops.indexing import getitem
    named = {getattr(F, n, None) for n in KEEPING} | {getitem}
    assert layout._KEEPING_FUNCTIONS <= named  # each function the rewrite keeps is tested above


def test_a_compiled_training_step_trains_as_eager_on_channels_last_input():
    """A whole step (forward, backward, SGD) through ember.compile: the same losses and
    parameters as eager's steps on the input laid out channels-last."""
    from ember.vision import models

    def train(compiled):
        ember.manual_seed(0)
        model = models.resnet20()
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = ember.compile(step) if compiled else step
        losses = []
        for i in range(4):
            g = ember.Generator().manual_seed(i)
            x, y = ember.randn(4, 3, 16, 16, generator=g), ember.randint(0, 10, (4,), generator=g)
            losses.append(float(run(x if compiled or i < 2 else x.contiguous(memory_format=CL), y)))
        return losses, list(model.parameters()), run

    losses, params, run = train(True)
    eager_losses, eager_params, _ = train(False)
    assert losses == eager_losses
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert rewritten(run)
