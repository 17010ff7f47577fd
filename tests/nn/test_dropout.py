"""Dropout family: statistics, gradients through the mask, train/eval, channel structure."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics_and_scaling(p):
    x = ember.ones(400, 250, requires_grad=True)
    y = F.dropout(x, p)
    kept = y.detach().numpy() != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / (1 - p), rtol=1e-6)
    g = np.random.default_rng(0).standard_normal((400, 250)).astype(np.float32)
    y.backward(ember.tensor(g))
    # The gradient goes through the same mask and scale as the values.
    np.testing.assert_allclose(x.grad.numpy(), g * y.detach().numpy(), rtol=1e-6)


def test_dropout_module_train_eval():
    m = nn.Dropout(0.5)
    x = ember.ones(50, 40)
    assert m(x).numpy().min() == 0
    m.eval()
    assert m(x) is x
    m.train()
    assert (m(x).numpy() == 0).any()
    assert repr(m) == repr(tnn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout(0.1, True)) == repr(tnn.Dropout(0.1, True))


def test_dropout_inside_model_changes_with_mode():
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5), nn.Linear(10, 1))
    x = ember.randn(8, 10)
    model.eval()
    a, b = model(x).detach().numpy(), model(x).detach().numpy()
    assert np.array_equal(a, b)
    model.train()
    assert not np.array_equal(model(x).detach().numpy(), model(x).detach().numpy())


def test_dropout_edge_values():
    x = ember.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.7, training=False) is x
    y = F.dropout(x, 1.0)
    assert np.all(y.detach().numpy() == 0) and y.requires_grad
    y.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    assert F.dropout(ember.zeros(0, 3), 0.5).shape == (0, 3)
    assert F.dropout(ember.tensor(2.0), 0.5).shape == ()
    half = F.dropout(ember.ones(1000, dtype=ember.float16), 0.5)
    assert half.dtype == ember.float16 and set(np.unique(half.numpy())) <= {0.0, 2.0}
    ember.manual_seed(3)
    a = F.dropout(ember.ones(100), 0.5).numpy()
    ember.manual_seed(3)
    assert np.array_equal(a, F.dropout(ember.ones(100), 0.5).numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_p_validation_matches_torch(p):
    msg = f"dropout probability has to be between 0 and 1, but got {p}"
    for build in (tnn.Dropout, nn.Dropout, nn.Dropout2d, nn.AlphaDropout):
        with pytest.raises(ValueError, match=msg):
            build(p)
    with pytest.raises(ValueError, match=msg):
        F.dropout(ember.ones(2), p)
    with pytest.raises(ValueError, match=msg):
        F.alpha_dropout(ember.ones(2), p, True)


def test_dropout_inplace():
    x = ember.ones(30, 30)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and (x.numpy() == 0).any() and set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.Dropout(0.5, inplace=True)(leaf)
    h = leaf * 1
    out = nn.Dropout(0.5, inplace=True)(h)
    out.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), out.detach().numpy())


def _channels_all_or_nothing(y: np.ndarray, lead: int) -> np.ndarray:
    """Per channel (the first ``lead`` dims), whether it was kept; asserts whole channels."""
    flat = y.reshape(y.shape[:lead] + (-1,))
    kept = flat != 0
    assert np.all(kept.all(-1) | (~kept).all(-1)), "a channel was partly dropped"
    return kept.all(-1)


@pytest.mark.parametrize("fn,shape,lead", [
    (F.dropout1d, (20, 30, 7), 2), (F.dropout1d, (40, 7), 1), (F.dropout2d, (20, 30, 3, 3), 2),
    (F.dropout3d, (10, 40, 2, 2, 2), 2), (F.dropout3d, (60, 2, 2, 3), 1),
])
def test_channel_dropout(fn, shape, lead):
    x = ember.ones(shape, requires_grad=True)
    y = fn(x, 0.4)
    kept = _channels_all_or_nothing(y.detach().numpy(), lead)
    assert abs(1 - kept.mean() - 0.4) < 0.12
    np.testing.assert_allclose(y.detach().numpy()[y.detach().numpy() != 0], 1 / 0.6, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())
    assert fn(x, 0.4, training=False) is x


def test_channel_dropout_warnings_and_errors():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(ember.ones(2, 2, 2, 2))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        y = F.dropout2d(ember.ones(20, 30, 4), 0.5)
    _channels_all_or_nothing(y.numpy(), 2)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        F.dropout2d(ember.ones(3, 3))
    with pytest.warns(UserWarning, match="3-D input to dropout3d"):
        F.dropout3d(ember.ones(3, 3, 3))


def test_channel_dropout_modules():
    for e, t, shape in [(nn.Dropout1d(0.3), tnn.Dropout1d(0.3), (2, 3, 4)),
                        (nn.Dropout2d(), tnn.Dropout2d(), (2, 3, 4, 4)),
                        (nn.Dropout3d(0.1, True), tnn.Dropout3d(0.1, True), (2, 3, 4, 4, 4)),
                        (nn.FeatureAlphaDropout(), tnn.FeatureAlphaDropout(), (2, 3, 4)),
                        (nn.AlphaDropout(0.2), tnn.AlphaDropout(0.2), (2, 3))]:
        assert repr(e) == repr(t)
        x = ember.ones(shape)
        assert e(x).shape == shape
        e.eval()
        assert e(x) is x


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(0)
    x = ember.randn(500, 400, requires_grad=True)
    y = F.alpha_dropout(x, 0.3, training=True)
    v = y.detach().numpy()
    assert abs(v.mean()) < 0.02 and abs(v.std() - 1) < 0.02
    # Dropped units all take one value: a * (-alpha') + b.
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.3 + 1) * 0.7)
    dropped_value = -1.7580993408473766 * a + 1.7580993408473766 * a * 0.3
    dropped = np.isclose(v, dropped_value, atol=1e-6)
    assert abs(dropped.mean() - 0.3) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0, a), rtol=1e-5)
    assert F.alpha_dropout(x, 0.3) is x  # training defaults to False, as in PyTorch
    with ember.no_grad():
        assert np.all(F.alpha_dropout(x, 1.0, True).numpy() == 0)


def test_feature_alpha_dropout_drops_channels():
    ember.manual_seed(0)
    x = ember.randn(100, 50, 6)
    y = F.feature_alpha_dropout(x, 0.5, training=True).numpy()
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.5 + 1) * 0.5)
    kept = np.isclose(y, x.numpy() * a + 1.7580993408473766 * a * 0.5, atol=1e-5).all(-1)
    dropped = np.isclose(y, -1.7580993408473766 * a * 0.5, atol=1e-5).all(-1)
    assert np.all(kept ^ dropped) and abs(dropped.mean() - 0.5) < 0.05
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(ember.ones(3), 0.5, True)
