"""Conv1d/2d/3d, ConvTranspose1d/2d/3d, Unfold and Fold against their PyTorch twins."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import check_module, check_op, copy_weights

torch = pytest.importorskip("torch")
tnn = torch.nn

SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 4, 6)}


def _pair(cls_name: str, *args, **kwargs):
    return getattr(nn, cls_name)(*args, **kwargs), getattr(tnn, cls_name)(*args, **kwargs)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(stride=2, padding=1, bias=False),
    dict(padding="same", dilation=2, padding_mode="reflect"),
    dict(padding=(1, 2, 0), padding_mode="replicate", groups=2),
    dict(padding=2, padding_mode="circular", stride=(1, 2, 1)),
    dict(padding="valid", groups=4),
])
def test_conv_module_parity(k, kwargs):
    kwargs = {key: v[:k] if isinstance(v, tuple) else v for key, v in kwargs.items()}
    e, t = _pair(f"Conv{k}d", 4, 8, 3, **kwargs)
    check_module(e, t, [(2, 4) + SPATIAL[k]])
    assert repr(e) == repr(t)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's, about its own copy
def test_conv2d_same_even_kernel_padding_modes(mode):
    e, t = _pair("Conv2d", 2, 3, (4, 3), padding="same", padding_mode=mode, dilation=(1, 2))
    check_module(e, t, [(2, 2, 6, 7)])
    assert e._reversed_padding_repeated_twice == t._reversed_padding_repeated_twice


@pytest.mark.parametrize("shape", [(1, 1, 9, 11), (3, 9, 9), (0, 3, 5, 5)])
def test_conv2d_batch_one_channel_one_unbatched_empty(shape):
    c = shape[-3]
    e, t = _pair("Conv2d", c, 2, 3, padding=1)
    check_module(e, t, [shape])


def test_conv2d_float64_depthwise():
    e, t = _pair("Conv2d", 6, 12, 3, padding=1, groups=6)
    check_module(e, t, [(2, 6, 5, 5)], dtype="float64")


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(stride=2, padding=1, output_padding=1, bias=False),
    dict(stride=(1, 2, 3), dilation=2, groups=2, output_padding=(1, 0, 2)),
])
def test_conv_transpose_module_parity(k, kwargs):
    kwargs = {key: v[:k] if isinstance(v, tuple) else v for key, v in kwargs.items()}
    e, t = _pair(f"ConvTranspose{k}d", 4, 6, 3, **kwargs)
    check_module(e, t, [(2, 4) + SPATIAL[k]])
    assert repr(e) == repr(t)


@pytest.mark.parametrize("output_size", [(14, 13), [1, 6, 13, 14], (6, 14, 14)])
def test_conv_transpose2d_output_size(output_size):
    e, t = _pair("ConvTranspose2d", 4, 6, 3, stride=2, padding=1)
    copy_weights(e, t)
    shape = (4, 7, 7) if len(output_size) == 3 else (1, 4, 7, 7)
    check_op([shape], lambda x: (t if isinstance(x, torch.Tensor) else e)(x, output_size))


def test_conv_transpose_output_size_errors():
    m = nn.ConvTranspose2d(4, 16, 3, stride=2)
    with pytest.raises(ValueError, match=r"requested an output size of \(20, 20\), but valid sizes range from "
                                         r"\[11, 11\] to \[12, 12\] \(for an input of \[5, 5\]\)"):
        m(ember.randn(1, 4, 5, 5), output_size=(20, 20))
    with pytest.raises(ValueError, match="for 4D input, output_size must have 2 or 4 elements \\(got 3\\)"):
        m(ember.randn(1, 4, 5, 5), output_size=(1, 11, 12))


def test_reprs_match_torch():
    cases = [("Conv2d", (3, 16, 3), dict(padding=1)), ("Conv1d", (4, 8, (3,)), dict(padding="valid")),
             ("Conv2d", (3, 16, 3), dict(padding="same", padding_mode="reflect", bias=False, dilation=2)),
             ("Conv3d", (2, 4, (1, 2, 3)), dict(stride=(2, 1, 1), groups=2)),
             ("ConvTranspose2d", (3, 16, 3), dict(stride=2, output_padding=1)),
             ("ConvTranspose1d", (4, 4, 5), dict(groups=4, dilation=3, bias=False))]
    for name, args, kwargs in cases:
        e, t = _pair(name, *args, **kwargs)
        assert repr(e) == repr(t)
        for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "transposed",
                     "output_padding", "groups", "padding_mode"):
            assert getattr(e, attr) == getattr(t, attr), (name, attr)
    assert repr(nn.Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))) == \
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"


def test_default_init_distribution():
    ember.manual_seed(0)
    conv = nn.Conv2d(16, 32, 5)
    fan_in = 16 * 5 * 5
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) is U(+-1/sqrt(fan_in))
    w, b = conv.weight.detach().cpu().numpy(), conv.bias.detach().cpu().numpy()
    assert w.shape == (32, 16, 5, 5) and b.shape == (32,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(b).max() <= bound and b.std() > 0.4 * bound
    convt = nn.ConvTranspose2d(16, 8, 3, groups=2)  # fan_in from weight dim 1: out / groups * k * k
    assert tuple(convt.weight.shape) == (16, 4, 3, 3)
    assert np.abs(convt.bias.detach().cpu().numpy()).max() <= 1 / math.sqrt(4 * 9)
    assert np.abs(convt.weight.detach().cpu().numpy()).max() > 0.95 / math.sqrt(4 * 9)


def test_constructor_options_and_errors():
    conv = nn.Conv2d(2, 4, 3, bias=False, dtype=ember.float64, device="cpu")
    assert conv.weight.dtype == ember.float64 and conv.bias is None
    assert [n for n, _ in conv.named_parameters()] == ["weight"]
    for kwargs, match in [(dict(groups=2), "in_channels must be divisible by groups"),
                          (dict(groups=0), "groups must be a positive integer"),
                          (dict(padding_mode="foo"), "padding_mode must be one of"),
                          (dict(padding="foo"), "Invalid padding string 'foo'"),
                          (dict(padding="same", stride=2), "padding='same' is not supported for strided")]:
        with pytest.raises(ValueError, match=match):
            nn.Conv2d(3, 16, 3, **kwargs)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 15, 3, groups=2)
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(4, 16, 3, padding_mode="reflect")


def test_teaching_errors():
    conv = nn.Conv2d(3, 16, 3)
    with pytest.raises(RuntimeError) as e:
        conv(ember.zeros(8, 1, 28, 28))
    assert str(e.value).startswith("Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected input with 3 channels "
                                   "(shape (N, 3, H, W)), got shape (8, 1, 28, 28).")
    with pytest.raises(RuntimeError, match=r"Conv2d\(1, 4.*\): expected input with 1 channels .*got shape "
                                           r"\(8, 28, 28\). A 3D input is read as unbatched .*x.unsqueeze\(1\)"):
        nn.Conv2d(1, 4, 3)(ember.zeros(8, 28, 28))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 16.*\): Calculated padded input size per channel: "
                                           r"\(2 x 2\). Kernel size: \(3 x 3\)"):
        conv(ember.zeros(8, 3, 2, 2))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 16.*\): expected a 4D input \(N, 3, H, W\) or an unbatched 3D "
                                           r"one \(3, H, W\), got shape \(28, 28\). Add the channel dim"):
        conv(ember.zeros(28, 28))
    with pytest.raises(RuntimeError, match=r"Conv1d\(3, 2.*\): expected a 3D input \(N, 3, L\)"):
        nn.Conv1d(3, 2, 3)(ember.zeros(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match="expected input of dtype ember.float32 .*got ember.float64"):
        conv(ember.zeros(1, 3, 5, 5, dtype=ember.float64))
    with pytest.raises(TypeError, match="expected a Tensor input, got ndarray"):
        conv(np.zeros((1, 3, 5, 5)))
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d\(3, 2.*\): expected input with 3 channels"):
        nn.ConvTranspose2d(3, 2, 3)(ember.zeros(1, 2, 5, 5))


def test_unfold_fold_modules():
    e, t = nn.Unfold(kernel_size=(2, 3), padding=1, stride=2), tnn.Unfold(kernel_size=(2, 3), padding=1, stride=2)
    assert repr(e) == repr(t)
    check_module(e, t, [(2, 3, 6, 7)])
    e, t = nn.Fold((6, 7), 3, padding=1), tnn.Fold((6, 7), 3, padding=1)
    assert repr(e) == repr(t)
    check_module(e, t, [(2, 18, 42)])


def test_small_cnn_trains_like_torch():
    """Three SGD steps of a conv net: same losses and weights as PyTorch."""
    def build(lib):
        m = lib.nn
        return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.ReLU(), m.Conv2d(4, 4, 3, stride=2, groups=2),
                            m.ReLU(), m.Flatten(), m.Linear(4 * 3 * 3, 3))
    e_model, t_model = build(ember), build(torch)
    e_model.load_state_dict(t_model.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    losses = []
    for lib, model, data, target in ((ember, e_model, ember.tensor(x), ember.tensor(y)),
                                     (torch, t_model, torch.tensor(x), torch.tensor(y))):
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(data), target)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for (name, p), tp in zip(e_model.named_parameters(), t_model.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().cpu().numpy(), atol=1e-5, err_msg=name)
