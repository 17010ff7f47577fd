"""float32 LSTM layers through oneDNN's primitive (ember/backend/lstm.py): every output and
gradient against PyTorch (layers, directions, batch_first, bias, initial states) and against
ember's own step loop; which layers take it and which keep the loop; inference; outputs that
get no gradient; a backward run twice (the weight gradients it accumulates start from zero);
an in-place change to an output; and create_graph's composed backward."""
import numpy as np
import pytest

import ember
from ember.backend import lstm as lstm_primitive
from ember.backend import onednn
from test_rnn import compare, inputs, pair

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(onednn.library() is None, reason="oneDNN is not in use here")
TOL = dict(rtol=2e-5, atol=2e-5)


@pytest.fixture
def runs(monkeypatch):
    """"training" / "inference" / "backward" -> calls the primitive took."""
    counts = {}
    forward, backward = lstm_primitive.forward, lstm_primitive.backward

    def counted_forward(*args):
        out = forward(*args)
        if out is not None:
            kind = "training" if args[-1] else "inference"
            counts[kind] = counts.get(kind, 0) + 1
        return out

    def counted_backward(*args):
        out = backward(*args)
        if out is not None:
            counts["backward"] = counts.get("backward", 0) + 1
        return out
    monkeypatch.setattr(lstm_primitive, "forward", counted_forward)
    monkeypatch.setattr(lstm_primitive, "backward", counted_backward)
    return counts


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_states", [False, True])
def test_layers_against_torch(runs, num_layers, bidirectional, batch_first, bias, with_states):
    e, t = pair("LSTM", 3, 4, num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
                dtype="float32")
    compare(e, t, *inputs(t, 5, 3, dtype=np.float32, with_states=with_states), dtype="float32")
    layers = num_layers * (2 if bidirectional else 1)
    assert runs == {"training": layers, "backward": layers}


def _run(layer, x, h0, c0, g):
    """Output, final states, and the gradients of x, the states and every parameter."""
    xt = ember.tensor(x, requires_grad=True)
    states = (ember.tensor(h0, requires_grad=True), ember.tensor(c0, requires_grad=True))
    layer.zero_grad()
    out, (h, c) = layer(xt, states)
    ((out * ember.tensor(g)).sum() + (h * h).sum() + c.sum()).backward()
    return [a.detach().numpy() for a in (out, h, c, xt.grad, *(s.grad for s in states))] + [
        p.grad.numpy() for p in layer.parameters()]


def test_equals_the_step_loop(runs):
    ember.manual_seed(0)
    layer = ember.nn.LSTM(16, 24, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 5, 16)).astype(np.float32)
    h0, c0 = (rng.standard_normal((4, 5, 24)).astype(np.float32) for _ in range(2))
    g = rng.standard_normal((9, 5, 48)).astype(np.float32)
    got = _run(layer, x, h0, c0, g)
    assert runs == {"training": 4, "backward": 4}
    with onednn.off():
        loop = _run(layer, x, h0, c0, g)
    assert runs == {"training": 4, "backward": 4}
    for a, b in zip(got, loop):
        np.testing.assert_allclose(a, b, **TOL)


def test_inference_takes_the_inference_primitive(runs):
    ember.manual_seed(0)
    layer = ember.nn.LSTM(8, 12, num_layers=2)
    x = ember.randn(6, 3, 8)
    with ember.no_grad():
        out, (h, c) = layer(x)
    assert runs == {"inference": 2}
    trained, (th, tc) = layer(x)
    assert runs["training"] == 2
    for a, b in ((out, trained), (h, th), (c, tc)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL)


@pytest.mark.parametrize("used", ["output", "h_n", "c_n"])
def test_outputs_without_a_gradient(runs, used):
    e, t = pair("LSTM", 5, 6, dtype="float32")
    x = np.random.default_rng(1).standard_normal((4, 2, 5)).astype(np.float32)
    grads = []
    for lib, layer in ((ember, e), (torch, t)):
        xt = lib.tensor(x, requires_grad=True)
        out, (h, c) = layer(xt)
        {"output": out, "h_n": h, "c_n": c}[used].sum().backward()
        grads.append([xt.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    assert runs == {"training": 1, "backward": 1}
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, **TOL)


def test_backward_twice_and_an_output_changed_in_place(runs):
    ember.manual_seed(0)
    layer = ember.nn.LSTM(4, 5)
    x = ember.randn(6, 2, 4, requires_grad=True)
    out, _ = layer(x)
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    once = [p.grad.numpy().copy() for p in layer.parameters()] + [x.grad.numpy().copy()]
    loss.backward()  # the primitive's own sums start from zero: .grad doubles exactly
    for a, b in zip(once, [p.grad.numpy() for p in layer.parameters()] + [x.grad.numpy()]):
        np.testing.assert_array_equal(2 * a, b)
    layer.zero_grad()
    x.grad = None
    out, _ = layer(x)
    (out * out).sum().backward(retain_graph=False)
    again = [p.grad.numpy().copy() for p in layer.parameters()]
    layer.zero_grad()
    out, _ = layer(x)
    kept = out.detach().clone()
    out.data.mul_(3)  # the user's copy changes; the backward reads the primitive's own
    (out * kept).sum().backward()  # d/d(out) = kept: half of (out * out)'s
    for a, b in zip(again, [p.grad.numpy() for p in layer.parameters()]):
        np.testing.assert_allclose(a / 2, b, **TOL)


def test_create_graph_composes_tensor_ops(runs):
    ember.manual_seed(0)
    layer = ember.nn.LSTM(4, 5)
    x = ember.randn(3, 2, 4, requires_grad=True)
    out, _ = layer(x)
    gx, = ember.autograd.grad(out.sum(), x, create_graph=True)
    assert runs == {"training": 1}  # its backward is the composed layer's
    out2, _ = layer(x)
    plain, = ember.autograd.grad(out2.sum(), x)
    assert runs["backward"] == 1
    np.testing.assert_allclose(gx.detach().numpy(), plain.numpy(), **TOL)
    gx.pow(2).sum().backward()  # a second derivative exists
    assert np.isfinite(layer.weight_hh_l0.grad.numpy()).all() and layer.weight_hh_l0.grad.abs().sum() > 0


def test_cases_left_to_the_step_loop(runs):
    x = ember.randn(4, 2, 3)
    ember.nn.LSTM(3, 4, proj_size=2)(x)
    ember.nn.LSTM(3, 4).double()(x.double())
    packed = ember.nn.utils.rnn.pack_padded_sequence(x, [4, 2])
    ember.nn.LSTM(3, 4)(packed)
    assert runs == {}


def test_an_empty_batch_and_single_units(runs):
    for steps, batch, inputs, hidden in [(2, 0, 3, 4), (1, 1, 1, 1), (3, 1, 2, 1)]:
        e, t = pair("LSTM", inputs, hidden, dtype="float32")
        compare(e, t, np.random.default_rng(0).standard_normal((steps, batch, inputs)).astype(np.float32),
                dtype="float32")
    assert runs == {"training": 2, "backward": 2}  # the empty batch takes the loop
