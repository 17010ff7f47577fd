"""interpolate (every mode, align_corners, size or scale_factor), pixel_shuffle / pixel_unshuffle
and channel_shuffle against torch.nn.functional: values, gradients, second derivatives, errors."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from helpers import assert_close, check_gradcheck, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def F(x):
    return EF if isinstance(x, ember.Tensor) else TF


SPECS = [{"size": 4}, {"size": 9}, {"size": 2}, {"scale_factor": 2}, {"scale_factor": 1.7}, {"scale_factor": 0.6},
         {"scale_factor": 2.5, "recompute_scale_factor": True}]
# (mode, input dims, align_corners options); inputs have odd spatial sizes 3, 5 (, 7)
MODES = [("nearest", 3, [None]), ("nearest", 4, [None]), ("nearest", 5, [None]), ("nearest-exact", 4, [None]),
         ("area", 3, [None]), ("area", 4, [None]), ("area", 5, [None]), ("linear", 3, [False, True]),
         ("bilinear", 4, [False, True]), ("bicubic", 4, [False, True]), ("trilinear", 5, [False, True])]
CASES = [(mode, ndim, ac, spec) for mode, ndim, acs in MODES for ac in acs for spec in SPECS]
SPATIAL = (5, 3, 7)


def _shape(ndim):
    return (2, 2) + SPATIAL[:ndim - 2]


def _id(case):
    mode, ndim, ac, spec = case
    return f"{mode}-{ndim}d-ac{ac}-" + "-".join(f"{k}{v}" for k, v in spec.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_interpolate_parity(case):
    mode, ndim, ac, spec = case
    check_op([_shape(ndim)], lambda x: F(x).interpolate(x, mode=mode, align_corners=ac, **spec))


@pytest.mark.parametrize("mode,ndim,ac", [("nearest", 4, None), ("nearest-exact", 3, None), ("linear", 3, True),
                                          ("bilinear", 4, False), ("bicubic", 4, True), ("trilinear", 5, False),
                                          ("area", 4, None)])
@pytest.mark.parametrize("spec", [{"size": (3, 8, 2)}, {"scale_factor": (2.2, 0.7, 1.5)}])
def test_interpolate_per_dim_sizes_float64(mode, ndim, ac, spec):
    spec = {k: v[:ndim - 2] for k, v in spec.items()}
    check_op([_shape(ndim)], lambda x: F(x).interpolate(x, mode=mode, align_corners=ac, **spec), dtype="float64")


def test_interpolate_scale_factor_positions():
    """Without recompute_scale_factor, positions use 1 / scale_factor rather than the sizes' ratio."""
    x = np.arange(7.0, dtype=np.float32).reshape(1, 1, 7)
    for mode in ("nearest", "linear"):
        e = EF.interpolate(ember.tensor(x), scale_factor=1.35, mode=mode)
        assert_close(e, TF.interpolate(torch.tensor(x), scale_factor=1.35, mode=mode))
        assert not np.allclose(e.cpu().numpy(), EF.interpolate(ember.tensor(x), size=9, mode=mode).cpu().numpy())


@pytest.mark.parametrize("mode,ndim", [("nearest", 3), ("nearest", 4), ("nearest-exact", 4), ("bilinear", 4),
                                       ("bicubic", 4), ("area", 4)])
def test_interpolate_scale_near_one(mode, ndim):
    """A scale that keeps the size: linear modes copy, 1-D nearest and bicubic still use 1 / scale.
    PyTorch's backward of those two then copies the gradient straight through, which is not the
    gradient of its forward; ember's is (checked by finite differences)."""
    grad = mode not in ("nearest", "bicubic")
    check_op([_shape(ndim)], lambda x: F(x).interpolate(x, scale_factor=1.0001, mode=mode), grad=grad)
    check_gradcheck([_shape(ndim)], lambda x: EF.interpolate(x, scale_factor=1.0001, mode=mode), second_order=False)


def test_interpolate_nearest_indices_match_exactly():
    """Nearest modes pick the same pixel as PyTorch for every size pair (positions in float32)."""
    for mode in ("nearest", "nearest-exact"):
        for n_in in (1, 2, 3, 5, 7, 12):
            x = np.arange(float(n_in), dtype=np.float32).reshape(1, 1, 1, n_in)
            for n_out in range(1, 45):
                e = EF.interpolate(ember.tensor(x), size=(1, n_out), mode=mode).cpu().numpy()
                t = TF.interpolate(torch.tensor(x), size=(1, n_out), mode=mode).cpu().numpy()
                np.testing.assert_array_equal(e, t, err_msg=f"{mode} {n_in} -> {n_out}")


# PyTorch's antialiased kernels mis-handle an output width of 1 (every row reads the first input
# row); the cases keep the width above 1.
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("ac", [False, True])
@pytest.mark.parametrize("spec", [{"size": (3, 2)}, {"size": (2, 4)}, {"size": (11, 13)},
                                  {"scale_factor": 0.4}, {"scale_factor": (0.3, 2.5)}])
def test_interpolate_antialias(mode, ac, spec):
    check_op([(2, 2, 9, 7)], lambda x: F(x).interpolate(x, mode=mode, align_corners=ac, antialias=True, **spec))


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area"])
def test_interpolate_half_and_empty_batch(mode):
    check_op([(2, 2, 5, 3)], lambda x: F(x).interpolate(x, size=(4, 6), mode=mode), dtype="float16")
    check_op([(0, 2, 5, 3)], lambda x: F(x).interpolate(x, size=(4, 6), mode=mode))


def test_interpolate_integer_inputs():
    check_op([(1, 2, 3, 4)], lambda x: F(x).interpolate(x, size=(5, 7)), dtype="uint8", low=0, high=255)
    x = ember.arange(12, dtype=ember.int64).reshape(1, 1, 3, 4)
    out = EF.interpolate(x, scale_factor=2)
    assert out.dtype == ember.int64
    np.testing.assert_array_equal(out.cpu().numpy(), EF.interpolate(x.double(), scale_factor=2).cpu().numpy())
    with pytest.raises(NotImplementedError, match="\"upsample_bilinear\" not implemented for 'Long'.*float"):
        EF.interpolate(x, scale_factor=2, mode="bilinear")


def test_interpolate_area_may_give_empty_outputs():
    check_op([(2, 3, 1, 4)], lambda x: F(x).interpolate(x, scale_factor=0.5, mode="area"), grad=False)


def test_interpolate_identity_is_a_copy():
    x = ember.randn(1, 2, 3, 4, requires_grad=True)
    y = EF.interpolate(x, size=(3, 4), mode="bilinear")
    assert y is not x and y._data is not x._data
    assert_close(y, torch.tensor(x.detach().cpu().numpy()))
    y.sum().backward()
    assert np.all(x.grad.cpu().numpy() == 1)


@pytest.mark.parametrize("mode,ndim,spec", [("nearest", 3, {"size": 5}), ("nearest-exact", 4, {"size": (2, 5)}),
                                            ("linear", 3, {"scale_factor": 1.6}), ("bilinear", 4, {"size": (4, 2)}),
                                            ("bicubic", 4, {"size": (4, 5)}), ("trilinear", 5, {"size": (3, 2, 3)}),
                                            ("area", 4, {"size": (2, 3)})])
def test_interpolate_gradcheck(mode, ndim, spec):
    shape = (1, 2) + (3, 4, 2)[:ndim - 2]
    check_gradcheck([shape], lambda x: EF.interpolate(x, mode=mode, **spec))


def test_interpolate_antialias_gradcheck():
    check_gradcheck([(1, 1, 6, 5)], lambda x: EF.interpolate(x, size=(3, 7), mode="bicubic", antialias=True))


def test_deprecated_upsample_functions():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    for name, kwargs in [("upsample", {"scale_factor": 2, "mode": "bilinear"}), ("upsample_nearest", {"size": 5}),
                         ("upsample_bilinear", {"scale_factor": 2})]:
        with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
            e = getattr(EF, name)(ember.tensor(x), **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_close(e, getattr(TF, name)(torch.tensor(x), **kwargs))


@pytest.mark.parametrize("call,error,match", [
    (lambda F, x: F.interpolate(x, size=3, scale_factor=2), ValueError, "only one of size or scale_factor"),
    (lambda F, x: F.interpolate(x), ValueError, "either size or scale_factor should be defined"),
    (lambda F, x: F.interpolate(x, size=3, mode="linear"), NotImplementedError,
     "Got 4D input, but linear mode needs 3D input"),
    (lambda F, x: F.interpolate(x[0], size=3, mode="bilinear"), NotImplementedError,
     "Got 3D input, but bilinear mode needs 4D input"),
    (lambda F, x: F.interpolate(x, size=3, mode="trilinear"), NotImplementedError,
     "Got 4D input, but trilinear mode needs 5D input"),
    (lambda F, x: F.interpolate(x[None], size=3, mode="bicubic"), NotImplementedError,
     r"Only 3D, 4D and 5D input Tensors supported \(got 5D\).*\(got bicubic\)"),
    (lambda F, x: F.interpolate(x[0, 0], size=3), NotImplementedError, r"\(got 2D\)"),
    (lambda F, x: F.interpolate(x, size=3, mode="foo"), NotImplementedError, r"\(got foo\)"),
    (lambda F, x: F.interpolate(x, size=3, align_corners=False), ValueError,
     "align_corners option can only be set with the interpolating modes"),
    (lambda F, x: F.interpolate(x, size=(3, 3, 3)), ValueError,
     r"spatial dimensions of \[5, 5\] and output size of \(3, 3, 3\)"),
    (lambda F, x: F.interpolate(x, scale_factor=(2, 2, 2)), ValueError, "scale_factor of shape \\(2, 2, 2\\)"),
    (lambda F, x: F.interpolate(x, size=3, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful with an explicit size"),
    (lambda F, x: F.interpolate(x, size=0), RuntimeError,
     r"Input and output sizes should be greater than 0, but got input \(H: 5, W: 5\) output \(H: 0, W: 0\)"),
    (lambda F, x: F.interpolate(x[:, :, 0], scale_factor=0.1, mode="linear"), RuntimeError,
     r"input \(W: 5\) and output \(W: 0\)"),
    (lambda F, x: F.interpolate(x, size=3, antialias=True), ValueError,
     "Anti-alias option is restricted to bilinear and bicubic modes"),
    (lambda F, x: F.interpolate(x, size=3.0), TypeError, "size must be int"),
    (lambda F, x: F.interpolate(x, size=(2, None)), TypeError, "size must be int"),
    (lambda F, x: F.interpolate(x, scale_factor=(2, None)), TypeError, "scale_factor must be float"),
])
def test_interpolate_errors(call, error, match):
    """ember's message; PyTorch refuses the same call with the same exception type."""
    with pytest.raises(error, match=match):
        call(EF, ember.zeros(1, 2, 5, 5))
    with pytest.raises(error):
        call(TF, torch.zeros(1, 2, 5, 5))


# ---- pixel shuffle, channel shuffle ------------------------------------------------------------
@pytest.mark.parametrize("shape,r", [((1, 4, 2, 3), 2), ((2, 9, 3, 1), 3), ((8, 2, 2), 2), ((2, 1, 4, 2, 3), 2),
                                     ((3, 5, 2, 2), 1)])
def test_pixel_shuffle_parity(shape, r):
    check_op([shape], lambda x: F(x).pixel_shuffle(x, r))
    unshuffled = shape[:-3] + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
    check_op([unshuffled], lambda x: F(x).pixel_unshuffle(x, r))


def test_pixel_shuffle_empty_batch():
    """PyTorch mishandles these (pixel_unshuffle returns its input; pixel_shuffle's backward fails)."""
    x = ember.zeros(0, 4, 2, 2, requires_grad=True)
    y = EF.pixel_shuffle(x, 2)
    assert y.shape == (0, 1, 4, 4) and EF.pixel_unshuffle(y, 2).shape == (0, 4, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 4, 2, 2)


def test_pixel_shuffle_roundtrip_gradcheck_and_top_level():
    x = ember.randn(2, 8, 3, 5)
    np.testing.assert_array_equal(EF.pixel_unshuffle(EF.pixel_shuffle(x, 2), 2).cpu().numpy(), x.cpu().numpy())
    assert ember.pixel_shuffle is EF.pixel_shuffle and ember.pixel_unshuffle is EF.pixel_unshuffle
    check_gradcheck([(1, 4, 2, 3)], lambda x: EF.pixel_shuffle(x, 2))
    check_gradcheck([(1, 1, 4, 2)], lambda x: EF.pixel_unshuffle(x, 2))


@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 2), ((2, 6, 2, 2), 3), ((1, 4, 1, 1, 2), 4), ((2, 6, 3), 1),
                                          ((0, 4, 2), 2)])
def test_channel_shuffle_parity(shape, groups):
    check_op([shape], lambda x: (ember if isinstance(x, ember.Tensor) else torch).channel_shuffle(x, groups))
    check_op([shape], lambda x: F(x).channel_shuffle(x, groups), grad=False)


def test_channel_shuffle_order_and_gradcheck():
    x = ember.arange(6.0).reshape(1, 6, 1)
    assert EF.channel_shuffle(x, 2).reshape(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    check_gradcheck([(1, 6, 2)], lambda x: EF.channel_shuffle(x, 3))


@pytest.mark.parametrize("call,error,match", [
    (lambda F: F.pixel_shuffle(F_zeros(F, 4, 4), 2), RuntimeError,
     r"pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 dimension\(s\)"),
    (lambda F: F.pixel_shuffle(F_zeros(F, 5, 4, 4), 2), RuntimeError,
     r"divisible by the square of upscale_factor, but input.size\(-3\)=5 is not divisible by 4"),
    (lambda F: F.pixel_shuffle(F_zeros(F, 4, 4, 4), 0), RuntimeError, "expects a positive upscale_factor, but got 0"),
    (lambda F: F.pixel_shuffle(F_zeros(F, 4, 4, 4), 2.0), TypeError, "must be int, not float"),
    (lambda F: F.pixel_unshuffle(F_zeros(F, 1, 5, 4), 2), RuntimeError,
     r"expects height to be divisible by downscale_factor, but input.size\(-2\)=5 is not divisible by 2"),
    (lambda F: F.pixel_unshuffle(F_zeros(F, 1, 4, 5), 2), RuntimeError,
     r"expects width to be divisible by downscale_factor, but input.size\(-1\)=5"),
    (lambda F: F.pixel_unshuffle(F_zeros(F, 1, 4, 4), -1), RuntimeError, "expects a positive downscale_factor"),
    (lambda F: F.channel_shuffle(F_zeros(F, 1, 5, 4), 2), RuntimeError,
     "Number of channels must be divisible by groups. Got 5 channels and 2 groups."),
    (lambda F: F.channel_shuffle(F_zeros(F, 1, 4, 4), 0), RuntimeError,
     "Number of groups to divide channels in must be positive. Value of groups:0"),
    (lambda F: F.channel_shuffle(F_zeros(F, 4, 4), 2), RuntimeError,
     r"channel_shuffle expects input with > 2 dims, but got input with sizes \[4, 4\]"),
])
def test_shuffle_errors_match_torch(call, error, match):
    with pytest.raises(error, match=match):
        call(EF)
    with pytest.raises(error, match=match):
        call(TF)


def F_zeros(F, *shape):
    return (ember if F is EF else torch).zeros(*shape)
