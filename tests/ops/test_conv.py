"""conv1d/2d/3d, conv_transpose1d/2d/3d, unfold and fold against torch.nn.functional,
plus float64 finite differences of first and second derivatives."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from helpers import assert_close, check_gradcheck, check_op, make_inputs

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _f(x):
    return TF if isinstance(x, torch.Tensor) else F


# (stride, padding, dilation, groups) for 4 input and 8 output channels
CONFIGS = [(1, 0, 1, 1), (2, 1, 1, 1), (1, "same", 2, 1), (3, 2, 2, 1), (1, 1, 1, 2), (2, 0, 1, 4),
           (1, "valid", 1, 4), ((2, 1, 1), (0, 1, 2), (1, 2, 1), 1)]
SIZES = {1: (7,), 2: (7, 6), 3: (5, 6, 4)}
KERNELS = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}


def _per_dim(value, k):
    return value[:k] if isinstance(value, tuple) else value


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("config", CONFIGS)
def test_conv_parity(k, config):
    stride, padding, dilation, groups = (_per_dim(v, k) for v in config)
    name = f"conv{k}d"
    shapes = [(2, 4) + SIZES[k], (8, 4 // groups) + KERNELS[k], (8,)]
    check_op(shapes, lambda x, w, b: getattr(_f(x), name)(x, w, b, stride, padding, dilation, groups))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("config", [c for c in CONFIGS if not isinstance(c[1], str)])
def test_conv_transpose_parity(k, config):
    stride, padding, dilation, groups = (_per_dim(v, k) for v in config)
    name = f"conv_transpose{k}d"
    shapes = [(2, 4) + SIZES[k], (4, 8 // groups) + KERNELS[k], (8,)]
    largest = tuple(max(s, d) - 1 for s, d in np.broadcast(stride, dilation))  # per dim
    for out_pad in (0, largest):
        check_op(shapes, lambda x, w, b: getattr(_f(x), name)(x, w, b, stride, padding, out_pad, groups, dilation))


@pytest.mark.parametrize("case", [
    # (input shape, weight shape, kwargs): odd sizes, batch 1, channel 1, 1x1, depthwise, big padding
    ((1, 1, 9, 11), (1, 1, 3, 3), dict()),
    ((1, 1, 5, 5), (3, 1, 5, 5), dict()),
    ((3, 2, 8, 8), (5, 2, 1, 1), dict()),
    ((3, 2, 8, 8), (5, 2, 1, 1), dict(stride=2)),
    ((2, 6, 7, 7), (6, 1, 3, 3), dict(padding=1, groups=6)),
    ((2, 3, 7, 7), (6, 1, 3, 3), dict(stride=2, padding=1, groups=3)),
    ((2, 2, 4, 4), (3, 2, 3, 3), dict(padding=4)),
    ((2, 2, 6, 7), (3, 2, 4, 2), dict(padding="same")),
    ((2, 2, 6, 7), (3, 2, 4, 3), dict(padding="same", dilation=(1, 2))),
    ((2, 2, 5, 5), (3, 2, 2, 2), dict(stride=(3, 2), padding=(0, 1))),
    ((3, 9, 9), (4, 3, 3, 3), dict(padding=1)),
    ((0, 2, 5, 5), (3, 2, 3, 3), dict()),
])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's, about its own copy
def test_conv2d_cases(case, bias):
    x_shape, w_shape, kwargs = case
    shapes = [x_shape, w_shape] + ([(w_shape[0],)] if bias else [])
    check_op(shapes, lambda x, w, *b: _f(x).conv2d(x, w, *b, **kwargs))


def test_conv2d_float64_and_unbatched_conv1d():
    check_op([(2, 3, 6, 5), (4, 3, 3, 3), (4,)], lambda x, w, b: _f(x).conv2d(x, w, b, 1, 1), dtype="float64")
    check_op([(3, 10), (2, 3, 4)], lambda x, w: _f(x).conv1d(x, w, stride=2), dtype="float64")
    check_op([(2, 5, 4, 4), (3, 2, 3, 3, 3)], lambda x, w: _f(x).conv3d(x, w, padding=1))


def test_noncontiguous_operands():
    check_op([(2, 3, 6, 5), (3, 4, 3, 2)], lambda x, w: _f(x).conv2d(x.transpose(2, 3), w.transpose(0, 1), padding=1))
    check_op([(2, 3, 6, 5), (4, 3, 2, 3)],
             lambda x, w: _f(x).conv_transpose2d(x.transpose(2, 3), w.permute(1, 0, 3, 2), stride=2))


def test_conv2d_integer_input():
    x = torch.randint(-3, 4, (2, 3, 5, 5))
    w = torch.randint(-3, 4, (4, 3, 3, 3))
    out = F.conv2d(ember.tensor(x.cpu().numpy()), ember.tensor(w.cpu().numpy()), padding=1)
    assert_close(out, TF.conv2d(x, w, padding=1), 0, 0)


@pytest.mark.parametrize("case", [
    ((1, 3, 4, 4), (3, 1, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=3)),
    ((2, 2, 5, 3), (2, 3, 2, 4), dict(stride=(1, 3), padding=(1, 0), dilation=(2, 1))),
    ((2, 2, 3, 3), (2, 3, 3, 3), dict(stride=1, padding=2, dilation=2, output_padding=1)),
    ((2, 4, 3), (2, 3, 3, 3), dict(padding=1)),
])
def test_conv_transpose2d_cases(case):
    x_shape, w_shape, kwargs = case
    shapes = [x_shape, w_shape, (w_shape[1] * kwargs.get("groups", 1),)]
    check_op(shapes, lambda x, w, b: _f(x).conv_transpose2d(x, w, b, **kwargs))


def test_top_level_names():
    x, w = ember.randn(1, 2, 5, 5), ember.randn(3, 2, 3, 3)
    for name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        assert getattr(ember, name) is getattr(F, name)
    assert_close(ember.conv2d(x, w), TF.conv2d(torch.tensor(x.cpu().numpy()), torch.tensor(w.cpu().numpy())))


# ---- derivatives --------------------------------------------------------------------------
def test_conv_gradcheck():
    check_gradcheck([(2, 2, 5, 4), (4, 1, 2, 3), (4,)],
                    lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2))
    check_gradcheck([(1, 2, 5), (3, 2, 2)], lambda x, w: F.conv1d(x, w, padding="same"))
    check_gradcheck([(1, 1, 3, 3, 3), (2, 1, 2, 1, 2), (2,)], lambda x, w, b: F.conv3d(x, w, b, padding=(1, 0, 0)))
    # unit stride with fewer output than input channels, and depthwise: the input's gradient
    # is a convolution with the flipped kernel rather than a col2im
    check_gradcheck([(1, 3, 4, 4), (1, 3, 2, 3)], lambda x, w: F.conv2d(x, w, padding=1, dilation=(2, 1)))
    check_gradcheck([(2, 2, 4, 4), (4, 1, 3, 3)], lambda x, w: F.conv2d(x, w, padding=1, groups=2))


def test_conv_transpose_gradcheck():
    check_gradcheck([(2, 4, 3, 3), (4, 1, 2, 2), (2,)],
                    lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2))
    check_gradcheck([(1, 2, 4), (2, 2, 3)], lambda x, w: F.conv_transpose1d(x, w, padding=1, dilation=2))


def test_double_backward_matches_torch():
    """A gradient penalty: differentiate |d(loss)/dx|^2 with respect to x and the weight."""
    (xe, we), (xt, wt) = make_inputs([(2, 3, 6, 6), (4, 3, 3, 3)], "float64")
    results = []
    for lib, x, w in ((ember, xe, we), (torch, xt, wt)):
        y = lib.nn.functional.conv2d(x, w, stride=2, padding=1)
        (gx,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (gx * gx).sum().backward()
        results.append((gx, x.grad, w.grad))
    for e, t in zip(*results):
        assert_close(e, t, 1e-9, 1e-7)


def test_conv_saved_input_does_not_go_stale():
    """The weight gradient rebuilds the input's columns; an in-place change of the input
    after the forward is caught like for any saved tensor."""
    x = ember.randn(1, 2, 5, 5)
    w = ember.randn(3, 2, 3, 3, requires_grad=True)
    y = F.conv2d(x, w)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("op,shapes,kwargs", [
    ("conv2d", [(5, 3, 7, 6), (4, 3, 3, 3), (4,)], dict(stride=1, padding=1)),               # flipped gradient
    ("conv2d", [(5, 4, 7, 6), (6, 2, 3, 2), (6,)], dict(stride=2, padding=(1, 0), groups=2)),  # col2im gradient
    ("conv1d", [(3, 2, 9), (3, 2, 4), (3,)], dict(dilation=2)),
    ("conv_transpose2d", [(5, 3, 4, 4), (3, 2, 3, 3), (2,)], dict(stride=2, padding=1)),
])
@pytest.mark.parametrize("samples", [1, 2])
def test_columns_built_a_block_of_the_batch_at_a_time(monkeypatch, op, shapes, kwargs, samples):
    """Blocks of one sample, and of two with a shorter last block, give torch's values and
    gradients, first and second order."""
    import ember.ops.conv as conv_ops
    monkeypatch.setattr(conv_ops, "_batch_blocks", lambda x, g: [
        slice(s, min(s + samples, x.shape[0])) for s in range(0, x.shape[0], samples)])
    check_op(shapes, lambda x, w, b: getattr(_f(x), op)(x, w, b, **kwargs))
    check_gradcheck(shapes, lambda x, w, b: getattr(F, op)(x, w, b, **kwargs))


@pytest.mark.parametrize("n,limit", [(64, 1 << 23), (64, 1), (7, 3 * 4 * 9 * 25 * 3), (0, 1 << 23)])
def test_batch_blocks_cover_the_batch_within_the_limit(monkeypatch, n, limit):
    import ember.ops.conv as conv_ops
    monkeypatch.setattr(conv_ops, "_COLUMNS_BYTES", limit)
    x = np.zeros((n, 3, 5, 5), np.float32)
    g = conv_ops.Geometry((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, (5, 5), (5, 5))
    blocks = conv_ops._batch_blocks(x, g)
    assert [i for b in blocks for i in range(n)[b]] == list(range(n))
    per_sample = 3 * 9 * 25 * 4
    assert all(b.stop - b.start == max(1, min(n, limit // per_sample)) for b in blocks[:-1])
    assert 0 <= blocks[-1].stop - blocks[-1].start <= max(1, limit // per_sample)


# ---- unfold / fold ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(kernel_size=3), dict(kernel_size=(2, 3), padding=1, stride=(2, 1)),
                                    dict(kernel_size=2, dilation=2, stride=3, padding=(0, 2))])
def test_unfold_fold_parity(kwargs):
    check_op([(2, 3, 7, 8)], lambda x: _f(x).unfold(x, **kwargs))
    blocks = TF.unfold(torch.zeros(2, 3, 7, 8), **kwargs).shape
    check_op([tuple(blocks)], lambda c: _f(c).fold(c, (7, 8), **kwargs))
    check_op([tuple(blocks[1:])], lambda c: _f(c).fold(c, (7, 8), **kwargs))
    check_op([(3, 7, 8)], lambda x: _f(x).unfold(x, **kwargs), dtype="float64")


def test_unfold_fold_gradcheck():
    check_gradcheck([(1, 2, 5, 5)], lambda x: F.unfold(x, 3, padding=1, stride=2))
    check_gradcheck([(1, 8, 6)], lambda c: F.fold(c, (4, 3), 2, padding=(1, 0), stride=(2, 1)))


# ---- errors -------------------------------------------------------------------------------
def _raises(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


def test_conv_errors():
    x, w = ember.randn(8, 1, 28, 28), ember.randn(16, 3, 3, 3)
    _raises(RuntimeError, r"weight of size \[16, 3, 3, 3\], expected input\[8, 1, 28, 28\] to have 3 channels, "
            "but got 1 channels", lambda: F.conv2d(x, w))
    _raises(RuntimeError, r"padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\)",
            lambda: F.conv2d(ember.randn(8, 3, 2, 2), w))
    _raises(RuntimeError, r"Kernel size: \(5 x 5\)", lambda: F.conv2d(ember.randn(1, 3, 4, 4), w, dilation=2))
    _raises(RuntimeError, r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
            r"\[28, 28\]", lambda: F.conv2d(ember.randn(28, 28), w))
    _raises(RuntimeError, r"conv1d, but got input of size: \[2, 3, 5, 5\]",
            lambda: F.conv1d(ember.randn(2, 3, 5, 5), w))
    _raises(RuntimeError, r"expected a 4D weight .*got weight of size \[3, 3, 3\]",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(3, 3, 3)))
    _raises(RuntimeError, "expected weight to be divisible by 2 at dimension 0",
            lambda: F.conv2d(ember.randn(1, 6, 5, 5), ember.randn(3, 3, 3, 3), groups=2))
    _raises(RuntimeError, "non-positive groups", lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, groups=0))
    _raises(RuntimeError, r"expected bias to be 1-dimensional with 16 elements, but got bias of size \[10\]",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, ember.randn(10)))
    _raises(RuntimeError, "non-positive stride", lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, stride=0))
    _raises(RuntimeError, "negative padding", lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, padding=-1))
    _raises(RuntimeError, "dilation should be greater than zero",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, dilation=0))
    _raises(RuntimeError, "padding='same' is not supported for strided convolutions",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, stride=2, padding="same"))
    _raises(RuntimeError, "Invalid padding string: 'foo'", lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, padding="foo"))
    _raises(RuntimeError, r"input type \(ember.float64\) and weight type \(ember.float32\) should be the same",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5, dtype=ember.float64), w))
    _raises(RuntimeError, r"bias type \(ember.float64\)",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, ember.randn(16, dtype=ember.float64)))
    _raises(RuntimeError, r"list of 2 values to match the convolution dimensions, but got stride=\[1, 1, 1\]",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), w, stride=(1, 1, 1)))
    _raises(RuntimeError, r"expected weight to be at least 1 at dimension 0",
            lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(0, 3, 3, 3)))
    _raises(TypeError, "argument 'weight' must be Tensor", lambda: F.conv2d(x, np.zeros((1, 1, 3, 3))))


def test_conv_transpose_errors():
    w = ember.randn(16, 3, 3, 3)
    _raises(RuntimeError, "output padding must be smaller than either stride or dilation",
            lambda: F.conv_transpose2d(ember.randn(2, 16, 5, 5), w, output_padding=1))
    _raises(RuntimeError, r"Given transposed=1, weight of size \[16, 3, 3, 3\], expected input\[2, 3, 5, 5\] to "
            "have 16 channels, but got 3 channels instead", lambda: F.conv_transpose2d(ember.randn(2, 3, 5, 5), w))
    _raises(RuntimeError, r"calculated output size per channel \(-3 x -3\) is too small",
            lambda: F.conv_transpose2d(ember.randn(2, 16, 5, 5), w, padding=5))
    _raises(TypeError, "argument 'padding' must be tuple of ints, not str",
            lambda: F.conv_transpose2d(ember.randn(2, 16, 5, 5), w, padding="same"))
    _raises(RuntimeError, "expected weight to be divisible by 3 at dimension 0",
            lambda: F.conv_transpose2d(ember.randn(2, 16, 5, 5), w, groups=3))
    _raises(RuntimeError, r"transposed=1, weight of size \[16, 3, 3, 3\], expected bias to be 1-dimensional with 3 "
            r"elements, but got bias of size \[4\]",
            lambda: F.conv_transpose2d(ember.randn(2, 16, 5, 5), w, ember.randn(4)))


def test_unfold_fold_errors():
    _raises(RuntimeError, r"Expected 3D or 4D \(batch mode\) tensor .* but got: \[2, 3, 5, 5, 5\]",
            lambda: F.unfold(ember.randn(2, 3, 5, 5, 5), 3))
    _raises(RuntimeError, r"calculated shape of the array of sliding blocks as \(0, 0\), but its components must "
            "be at least one", lambda: F.unfold(ember.randn(2, 3, 2, 2), 3))
    _raises(RuntimeError, r"input.size\(1\)=26 and kernel_size=\(3, 3\)", lambda: F.fold(ember.randn(2, 26, 9), 5, 3))
    _raises(RuntimeError, r"number of sliding blocks 3 \* 3 = 9, but got input.size\(2\)=10",
            lambda: F.fold(ember.randn(2, 27, 10), (5, 5), 3))
    _raises(RuntimeError, r"Expected 2D or 3D \(batch mode\) tensor .* but got: \[2, 27, 10, 1\]",
            lambda: F.fold(ember.randn(2, 27, 10, 1), (5, 5), 3))
    _raises(RuntimeError, "stride should be greater than zero", lambda: F.unfold(ember.randn(1, 1, 4, 4), 2, stride=0))
