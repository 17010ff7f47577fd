"""ember.compile's pairs: a batch norm whose result only a ReLU reads replays as one op
(batch_norm_relu), and so does a ReLU whose result only a 2x2 max pool reads (relu_max_pool),
with eager ember's values, gradients and running statistics bit for bit; a result also read
elsewhere keeps its two ops."""
import copy

import numpy as np
import pytest

import ember
import ember.nn as nn

from helpers import kernel_path
from helpers_compile import entries


class ConvBnRelu(nn.Module):
    """A ResNet stem, then a second batch norm whose result is also returned."""

    def __init__(self, keep_second: bool):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)
        self.keep_second = keep_second

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()
        z = self.bn2(h)
        out = ember.relu(z)
        return (out, z) if self.keep_second else out


def _steps(compiled):
    return [s.name for e in entries(compiled) if e.graph is not None for s in e.graph.steps]


def _train(model, x, g, calls):
    """Run ``calls`` training calls; the last one's output and every gradient and buffer."""
    for _ in range(calls):
        model.zero_grad()
        out = model(x)
        outs = out if isinstance(out, tuple) else (out,)
        ember.autograd.backward(list(outs), [g] * len(outs))
    values = [o.detach().numpy() for o in outs]
    values += [p.grad.numpy() for p in model.parameters()]
    values += [b.numpy() for b in model.buffers()]
    return values


def _eagers_bits(eager, x_shape, g_shape, compiled_kernels):
    """Train ``eager`` and a compiled copy of it for 3 calls each on the same random input and
    output gradient; assert the same bits and return the compiled graph's step names."""
    compiled = ember.compile(copy.deepcopy(eager))
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(x_shape).astype(np.float32))
    g = ember.tensor(rng.standard_normal(g_shape).astype(np.float32))
    with kernel_path(compiled_kernels):
        got = _train(compiled, x, g, 3)
        want = _train(eager, x, g, 3)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    return _steps(compiled)


@pytest.mark.parametrize("compiled_kernels", [True, False])
@pytest.mark.parametrize("keep_second", [False, True])
def test_batch_norm_then_relu_replays_as_one_step_with_eagers_bits(keep_second, compiled_kernels):
    ember.manual_seed(0)
    names = _eagers_bits(ConvBnRelu(keep_second), (8, 3, 6, 6), (8, 4, 6, 6), compiled_kernels)
    pairs = [n for n in names if n.endswith("batch_norm+relu")]
    # the first batch norm is read by its ReLU alone; the second also by the return when kept
    assert len(pairs) == (1 if keep_second else 2), names


def test_a_batch_norm_read_twice_is_not_paired():
    bn = nn.BatchNorm1d(3)
    def twice(x):
        y = bn(x)
        return ember.relu(y) + y

    compiled = ember.compile(twice)
    x = ember.randn(5, 3, 4)
    for _ in range(3):
        compiled(x)
    names = _steps(compiled)
    assert names and not any(n.endswith("+relu") for n in names), names


class LeNetStem(nn.Module):
    """Conv - ReLU - max pool twice; the second ReLU's result also read by a slice when ``keep``."""

    def __init__(self, keep: bool):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 5, padding=2), nn.Conv2d(4, 6, 5)
        self.pool = nn.MaxPool2d(2)
        self.keep = keep

    def forward(self, x):
        h = self.pool(ember.relu(self.conv1(x)))
        r = ember.relu(self.conv2(h))
        out = self.pool(r)
        return out + r[..., ::2, ::2] if self.keep else out


@pytest.mark.parametrize("compiled_kernels", [True, False])
@pytest.mark.parametrize("keep", [False, True])
def test_relu_then_max_pool_replays_as_one_step_with_eagers_bits(keep, compiled_kernels):
    ember.manual_seed(0)
    names = _eagers_bits(LeNetStem(keep), (8, 1, 16, 16), (8, 6, 2, 2), compiled_kernels)
    pairs = [n for n in names if n.startswith("relu+") and "MaxPool2D" in n]
    assert len(pairs) == (1 if keep else 2), names


@pytest.mark.parametrize("case", ["relu read twice", "indices returned", "3x3 windows"])
def test_max_pools_that_are_not_paired(case):
    def fn(x):
        r = ember.relu(x)
        if case == "relu read twice":
            return ember.nn.functional.max_pool2d(r, 2) + r[..., ::2, ::2]
        if case == "indices returned":
            return ember.nn.functional.max_pool2d(r, 2, return_indices=True)
        return ember.nn.functional.max_pool2d(r, 3)

    compiled = ember.compile(fn)
    x = ember.randn(2, 3, 8, 8, requires_grad=True)
    for _ in range(3):
        compiled(x)
    names = _steps(compiled)
    assert names and not any(n.startswith("relu+") for n in names), names
