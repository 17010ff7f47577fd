"""RNN, LSTM, GRU and their cells against PyTorch twins with copied weights: outputs, final states
and the gradients of inputs, initial states and every parameter; the fused layer against its
composed reference; finite differences; errors."""
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.ops.rnn import composed_layer, rnn_layer
from helpers import assert_close, copy_weights

torch = pytest.importorskip("torch")
tnn = torch.nn
tutils = torch.nn.utils.rnn
eutils = ember.nn.utils.rnn

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
TOL = {"float64": (1e-9, 1e-7), "float32": (2e-5, 2e-4)}


def pair(mode, *args, **kwargs):
    """The ember and torch layers of ``mode`` with the same weights (and dtype)."""
    dtype = kwargs.pop("dtype", "float64")
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
        e, t = nn.RNN(*args, **kwargs), tnn.RNN(*args, **kwargs)
    else:
        e, t = getattr(nn, mode)(*args, **kwargs), getattr(tnn, mode)(*args, **kwargs)
    if dtype == "float64":
        e.double()
        t.double()
    copy_weights(e, t)
    return e, t


def state_shapes(t_mod, batch):
    """Shapes of the initial states a torch module expects (batch None: unbatched)."""
    n = t_mod.num_layers * (2 if t_mod.bidirectional else 1)
    real = t_mod.proj_size or t_mod.hidden_size
    lead = (n,) if batch is None else (n, batch)
    shapes = [lead + (real,)]
    if t_mod.mode == "LSTM":
        shapes.append(lead + (t_mod.hidden_size,))
    return shapes


def flat(out):
    """Every tensor of a module's result, in order (a PackedSequence contributes its data)."""
    if isinstance(out, (tutils.PackedSequence, eutils.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def compare(e_mod, t_mod, x, states=None, *, pack=None, dtype="float64", seed=0):
    """Run both modules on the padded input ``x`` (numpy), packed with ``pack = (lengths,
    enforce_sorted, batch_first)`` when given, and initial ``states`` (numpy list) or none;
    compare every output, then back-propagate random cotangents on the output AND the final
    states and compare the gradients of the input, the states and every parameter."""
    atol, rtol = TOL[dtype]
    leaves = {}
    results = {}
    for m, mod, utils in ((torch, t_mod, tutils), (ember, e_mod, eutils)):
        xin = m.tensor(x, requires_grad=True)
        hs = None if states is None else [m.tensor(s, requires_grad=True) for s in states]
        arg = xin if pack is None else utils.pack_padded_sequence(xin, pack[0], batch_first=pack[2],
                                                                  enforce_sorted=pack[1])
        hx = None if hs is None else (tuple(hs) if mod.mode == "LSTM" else hs[0])
        out = mod(arg) if hx is None else mod(arg, hx)
        leaves[m.__name__] = [xin] + (hs or [])
        results[m.__name__] = out
    out_t, out_e = flat(results["torch"]), flat(results["ember"])
    assert len(out_t) == len(out_e)
    for i, (a, b) in enumerate(zip(out_e, out_t)):
        assert_close(a, b, atol, rtol, f"output {i}")
    if pack is not None:
        pe, pt = results["ember"][0], results["torch"][0]
        assert_close(pe.batch_sizes, pt.batch_sizes, 0, 0, "batch_sizes")
        for k in ("sorted_indices", "unsorted_indices"):
            assert (getattr(pe, k) is None) == (getattr(pt, k) is None)
            if getattr(pt, k) is not None:
                assert_close(getattr(pe, k), getattr(pt, k), 0, 0, k)
    rng = np.random.default_rng(seed + 1)
    cots = [rng.standard_normal(tuple(o.shape)).astype(x.dtype) for o in out_t]
    torch.autograd.backward(out_t, [torch.tensor(c) for c in cots])
    ember.autograd.backward(out_e, [ember.tensor(c) for c in cots])
    for i, (a, b) in enumerate(zip(leaves["ember"], leaves["torch"])):
        assert_close(a.grad, b.grad, atol * 10, rtol * 10, f"grad of input {i}")
    e_params = dict(e_mod.named_parameters())
    for name, p in t_mod.named_parameters():
        assert_close(e_params[name].grad, p.grad, atol * 10, rtol * 10, f"grad of {name}")
    return results


def inputs(t_mod, steps, batch, seed=0, dtype=np.float64, with_states=True):
    rng = np.random.default_rng(seed)
    shape = (steps, t_mod.input_size) if batch is None else \
        (batch, steps, t_mod.input_size) if t_mod.batch_first else (steps, batch, t_mod.input_size)
    x = rng.standard_normal(shape).astype(dtype)
    states = [rng.standard_normal(s).astype(dtype) * 0.5 for s in state_shapes(t_mod, batch)] \
        if with_states else None
    return x, states


# ---- layers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_states", [False, True])
def test_layer_parity(mode, num_layers, bidirectional, batch_first, bias, with_states):
    e, t = pair(mode, 3, 4, num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    compare(e, t, *inputs(t, 5, 3, with_states=with_states))


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_lstm_proj_size_parity(num_layers, bidirectional, batch_first, with_states):
    e, t = pair("LSTM", 3, 5, num_layers, batch_first=batch_first, bidirectional=bidirectional, proj_size=2)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    compare(e, t, *inputs(t, 4, 2, with_states=with_states))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_unbatched_input(mode, bidirectional, with_states):
    kwargs = {"proj_size": 2} if mode == "LSTM" and bidirectional else {}
    e, t = pair(mode, 3, 4, 2, bidirectional=bidirectional, **kwargs)
    compare(e, t, *inputs(t, 5, None, with_states=with_states))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_states", [False, True])
def test_packed_sequence_parity(mode, enforce_sorted, bidirectional, num_layers, with_states):
    batch_first = num_layers == 2
    e, t = pair(mode, 3, 4, num_layers, bidirectional=bidirectional, batch_first=batch_first)
    lengths = [5, 4, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4, 4]
    x, states = inputs(t, 5, 5, with_states=with_states)
    compare(e, t, x, states, pack=(lengths, enforce_sorted, batch_first))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_lstm_with_projection(bidirectional):
    e, t = pair("LSTM", 2, 4, 2, bidirectional=bidirectional, proj_size=3)
    x, states = inputs(t, 4, 3)
    compare(e, t, x, states, pack=([2, 4, 3], False, False))


@pytest.mark.parametrize("mode", MODES)
def test_float32_parity(mode):
    e, t = pair(mode, 6, 8, 2, bidirectional=True, dtype="float32")
    assert e.weight_ih_l0.dtype == ember.float32
    compare(e, t, *inputs(t, 7, 4, dtype=np.float32), dtype="float32")


def test_dropout_between_layers():
    e, t = pair("LSTM", 3, 4, 3, dropout=0.5)
    x, states = inputs(t, 4, 2)
    e.eval()
    t.eval()
    compare(e, t, x, states)  # eval: no dropout
    e, t = pair("GRU", 3, 4, 2, dropout=1.0)
    e.train()
    t.train()
    compare(e, t, x[..., :3], None)  # p = 1 drops everything deterministically
    e, _ = pair("RNN_TANH", 3, 4, 2, dropout=0.5)
    xe = ember.tensor(x)
    ember.manual_seed(3)
    a_out, a_h = e(xe)
    ember.manual_seed(3)
    b_out, _ = e(xe)
    e.eval()
    c_out, c_h = e(xe)
    assert np.array_equal(a_out.detach().cpu().numpy(), b_out.detach().cpu().numpy())
    assert not np.allclose(a_out.detach().cpu().numpy(), c_out.detach().cpu().numpy())
    # dropout acts between layers only: the first layer's state is the same as in eval mode
    np.testing.assert_allclose(a_h[0].detach().cpu().numpy(), c_h[0].detach().cpu().numpy(), atol=1e-12)
    assert not np.allclose(a_h[1].detach().cpu().numpy(), c_h[1].detach().cpu().numpy())


def test_final_states_of_packed_sequences_are_their_own_last_steps():
    e = nn.GRU(2, 3).double()
    seqs = [ember.randn(n, 2, dtype=ember.float64) for n in (4, 2, 3)]
    out, h = e(eutils.pack_sequence(seqs, enforce_sorted=False))
    for i, s in enumerate(seqs):
        _, h_alone = e(s)
        np.testing.assert_allclose(h[:, i].detach().cpu().numpy(), h_alone.detach().cpu().numpy(), atol=1e-12)
    padded, lengths = eutils.pad_packed_sequence(out)
    assert lengths.tolist() == [4, 2, 3] and not np.any(padded[2:, 1].detach().cpu().numpy())


def test_long_sequence_backpropagates_without_recursion_error():
    e, t = pair("LSTM", 3, 4, 2, dtype="float32")
    x, _ = inputs(t, 1000, 2, dtype=np.float32)
    compare(e, t, x, None, dtype="float32")
    g, tg = pair("GRU", 3, 4, dtype="float64")
    xe = ember.tensor(np.random.default_rng(0).standard_normal((1000, 1, 3)), requires_grad=True)
    g(xe)[0].sum().backward()
    assert np.isfinite(xe.grad.cpu().numpy()).all()


def test_state_dict_moves_between_frameworks():
    t = tnn.LSTM(3, 5, 2, bidirectional=True, proj_size=2)
    e = nn.LSTM(3, 5, 2, bidirectional=True, proj_size=2)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict(t.state_dict())
    t2 = tnn.LSTM(3, 5, 2, bidirectional=True, proj_size=2)
    t2.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in e.state_dict().items()})
    x = torch.randn(4, 2, 3)
    assert torch.equal(t(x)[0], t2(x)[0])
    for mode in MODES:
        for kw in ({}, {"bias": False, "num_layers": 2, "bidirectional": True}):
            e, t = pair(mode, 2, 3, **kw)
            assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
                [(n, tuple(p.shape)) for n, p in t.named_parameters()]
            assert e._flat_weights_names == t._flat_weights_names
            assert [[n for n in w] for w in e._all_weights] == t._all_weights
            assert [[p.shape for p in w] for w in e.all_weights] == [[p.shape for p in w] for w in t.all_weights]
            assert all(a is b for a, b in zip(e._flat_weights, e.parameters()))


def test_init_repr_and_options():
    ember.manual_seed(0)
    e = nn.GRU(50, 64, 2)
    bound = 1 / math.sqrt(64)
    for p in e.parameters():
        w = p.detach().cpu().numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(e.weight_hh_l1.detach().cpu().numpy().std() - bound / math.sqrt(3)) < 0.05 * bound
    assert e.flatten_parameters() is None
    configs = [("RNN", (10, 20), {}), ("RNN", (10, 20), {"nonlinearity": "relu", "bias": False}),
               ("LSTM", (10, 20, 2), {"bidirectional": True, "proj_size": 5, "batch_first": True, "dropout": 0.5}),
               ("GRU", (3, 4), {"num_layers": 3, "dropout": 0.25})]
    for name, args, kw in configs:
        assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(tnn, name)(*args, **kw))
    assert nn.RNN(3, 4, 1, "relu").mode == "RNN_RELU" and nn.RNN(3, 4, 1, "relu").nonlinearity == "relu"
    m = nn.LSTM(3, 4, dtype=ember.float64)
    assert m.weight_ih_l0.dtype == ember.float64


def test_constructor_errors():
    cases = [(lambda m: m.LSTM(3, 4, dropout=1.5), ValueError, "dropout should be a number in range"),
             (lambda m: m.LSTM(3, 4, dropout=True), ValueError, "dropout should be a number in range"),
             (lambda m: m.GRU(3, 4, bias=1), TypeError, "bias should be of type bool, got: int"),
             (lambda m: m.GRU(3, 4, batch_first=None), TypeError, "batch_first should be of type bool"),
             (lambda m: m.RNN(3.0, 4), TypeError, "input_size should be of type int, got: float"),
             (lambda m: m.RNN(0, 4), ValueError, "input_size must be greater than zero"),
             (lambda m: m.RNN(3, 4.0), TypeError, "hidden_size should be of type int, got: float"),
             (lambda m: m.RNN(3, 0), ValueError, "hidden_size must be greater than zero"),
             (lambda m: m.LSTM(3, 4, 0), ValueError, "num_layers must be greater than zero"),
             (lambda m: m.LSTM(3, 4, proj_size=-1), ValueError, "proj_size should be a positive integer"),
             (lambda m: m.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
             (lambda m: m.GRU(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM"),
             (lambda m: m.RNN(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM"),
             (lambda m: m.RNN(3, 4, nonlinearity="gelu"), ValueError, "Unknown nonlinearity 'gelu'")]
    for build, exc, match in cases:
        for m in (tnn, nn):
            with pytest.raises(exc, match=match):
                build(m)
    for m in (tnn, nn):
        with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
            m.LSTM(3, 4, dropout=0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m.LSTM(3, 4, 2, dropout=0.2)


def test_forward_errors():
    def call(m, mod, x, hx=None):
        return mod(m.zeros(*x)) if hx is None else mod(m.zeros(*x), hx(m))
    cases = [
        ("LSTM", (5, 3, 7), None, RuntimeError, "input.size\\(-1\\) must be equal to input_size. Expected 10, got 7"),
        ("GRU", (5, 3, 10), lambda m: m.zeros(2, 3, 7), RuntimeError,
         "Expected hidden size \\(2, 3, 20\\), got \\[2, 3, 7\\]"),
        ("GRU", (5, 3, 10), lambda m: m.zeros(2, 4, 20), RuntimeError,
         "Expected hidden size \\(2, 3, 20\\), got \\[2, 4, 20\\]"),
        ("LSTM", (5, 3, 10), lambda m: (m.zeros(2, 3, 7), m.zeros(2, 3, 20)), RuntimeError,
         "Expected hidden\\[0\\] size \\(2, 3, 20\\), got \\[2, 3, 7\\]"),
        ("LSTM", (5, 3, 10), lambda m: (m.zeros(2, 3, 20), m.zeros(2, 3, 7)), RuntimeError,
         "Expected hidden\\[1\\] size \\(2, 3, 20\\), got \\[2, 3, 7\\]"),
        ("LSTM", (5, 3, 10), lambda m: (m.zeros(3, 20), m.zeros(3, 20)), RuntimeError,
         "For batched 3-D input, hx and cx should also be 3-D but got \\(2-D, 2-D\\) tensors"),
        ("LSTM", (5, 10), lambda m: (m.zeros(2, 1, 20), m.zeros(2, 1, 20)), RuntimeError,
         "For unbatched 2-D input, hx and cx should also be 2-D"),
        ("RNN_TANH", (5, 3, 10), lambda m: m.zeros(3, 20), RuntimeError,
         "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
        ("GRU", (5, 10), lambda m: m.zeros(2, 1, 20), RuntimeError,
         "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
        ("RNN_TANH", (5, 3, 2, 10), None, ValueError, "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
        ("LSTM", (10,), None, ValueError, "LSTM: Expected input to be 2D or 3D, got 1D instead"),
        ("GRU", (10,), None, ValueError, "GRU: Expected input to be 2D or 3D, got 1D instead"),
    ]
    for mode, x, hx, exc, match in cases:
        e, t = pair(mode, 10, 20, 2, dtype="float32")
        for m, mod in ((torch, t), (ember, e)):
            with pytest.raises(exc, match=match):
                call(m, mod, x, hx)
    e, t = pair("LSTM", 10, 20, dtype="float32")
    for m, mod in ((torch, t), (ember, e)):
        with pytest.raises(ValueError, match="RNN input dtype .*float64.* does not match weight dtype .*float32"):
            mod(m.zeros(5, 3, 10, dtype=m.float64))


# ---- the fused layer against its composed reference -------------------------------------------
def layer_args(mode, steps=4, batch=3, size=3, hidden=3, proj=0, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    real = proj or hidden

    def t(*shape):
        return ember.tensor(rng.standard_normal(shape) * 0.6, requires_grad=True)
    return (t(steps, batch, size), t(batch, real), t(batch, hidden) if mode == "LSTM" else None,
            t(gates * hidden, size), t(gates * hidden, real), t(gates * hidden) if bias else None,
            t(gates * hidden) if bias else None, t(real, hidden) if proj else None)


@pytest.mark.parametrize("mode,proj", [("RNN_TANH", 0), ("RNN_RELU", 0), ("LSTM", 0), ("LSTM", 2), ("GRU", 0)])
@pytest.mark.parametrize("sizes", [None, (3, 3, 2, 1)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_matches_composed_reference(mode, proj, sizes, reverse, bias):
    args = layer_args(mode, proj=proj, bias=bias)
    fused = rnn_layer(mode, *args, sizes, reverse)
    ref = composed_layer(mode, *args, sizes, reverse)
    assert len(fused) == len(ref) == (3 if mode == "LSTM" else 2)
    rng = np.random.default_rng(5)
    cots = [ember.tensor(rng.standard_normal(tuple(o.shape))) for o in fused]
    leaves = [a for a in args if a is not None]
    pairs = list(zip(fused, ref)) + list(zip(ember.autograd.grad(fused, leaves, cots),
                                             ember.autograd.grad(ref, leaves, cots)))
    for a, b in pairs:
        assert a.shape == b.shape
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("mode,proj", [("RNN_TANH", 0), ("RNN_RELU", 0), ("LSTM", 2), ("GRU", 0)])
@pytest.mark.parametrize("sizes,reverse", [(None, False), ((2, 2, 1), True)])
def test_fused_layer_gradcheck_first_and_second_order(mode, proj, sizes, reverse):
    args = layer_args(mode, steps=3, batch=2, size=2, hidden=2 if proj == 0 else 3, proj=proj, seed=1)
    present = [i for i, a in enumerate(args) if a is not None]

    def fn(*tensors):
        full = list(args)
        for i, t in zip(present, tensors):
            full[i] = t
        return rnn_layer(mode, *full, sizes, reverse)
    leaves = [args[i] for i in present]
    assert ember.autograd.gradcheck(fn, leaves)
    assert ember.autograd.gradgradcheck(fn, leaves)


def test_double_backward_through_a_module_matches_torch():
    e, t = pair("LSTM", 2, 3, 2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    res, calls = {}, {}
    for m, mod in ((torch, t), (ember, e)):
        xin = m.tensor(x, requires_grad=True)
        upstream = xin * 1.5
        calls[m.__name__] = 0

        def count(g, name=m.__name__):
            calls[name] += 1
        upstream.register_hook(count)
        (gx,) = m.autograd.grad(mod(upstream)[0].pow(2).sum(), xin, create_graph=True)
        gx.pow(2).sum().backward()  # a gradient penalty
        res[m.__name__] = (gx, xin.grad, mod.weight_hh_l1_reverse.grad, mod.bias_ih_l0.grad)
    for a, b in zip(res["ember"], res["torch"]):
        assert_close(a, b, 1e-9, 1e-7)
    # the composed layer's nested backward stays inside the layer: hooks upstream run as in torch
    assert calls["ember"] == calls["torch"] == 2


# ---- cells ---------------------------------------------------------------------------------------
CELLS = [("RNNCell", {"nonlinearity": "tanh"}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]


@pytest.mark.parametrize("name,kwargs", CELLS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_parity(name, kwargs, bias, batched, with_state):
    e, t = getattr(nn, name)(3, 4, bias=bias, **kwargs).double(), getattr(tnn, name)(3, 4, bias=bias, **kwargs).double()
    copy_weights(e, t)
    rng = np.random.default_rng(0)
    lead = (5,) if batched else ()
    x = rng.standard_normal(lead + (3,))
    states = [rng.standard_normal(lead + (4,)) for _ in range(2 if name == "LSTMCell" else 1)]
    res, leaves = {}, {}
    for m, mod in ((torch, t), (ember, e)):
        xin = m.tensor(x, requires_grad=True)
        hs = [m.tensor(s, requires_grad=True) for s in states]
        hx = (tuple(hs) if name == "LSTMCell" else hs[0]) if with_state else None
        out = mod(xin, hx)
        res[m.__name__] = list(out) if isinstance(out, tuple) else [out]
        leaves[m.__name__] = [xin] + (hs if with_state else [])
    for a, b in zip(res["ember"], res["torch"]):
        assert_close(a, b, 1e-12, 1e-10)
    cots = [np.random.default_rng(1).standard_normal(tuple(o.shape)) for o in res["torch"]]
    torch.autograd.backward(res["torch"], [torch.tensor(c) for c in cots])
    ember.autograd.backward(res["ember"], [ember.tensor(c) for c in cots])
    for a, b in zip(leaves["ember"], leaves["torch"]):
        assert_close(a.grad, b.grad, 1e-11, 1e-9)
    e_params = dict(e.named_parameters())
    for n, p in t.named_parameters():
        assert_close(e_params[n].grad, p.grad, 1e-11, 1e-9, n)
    assert repr(e) == repr(t)


def test_cell_functions_gradcheck():
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,), (16,)]
    vals = [rng.standard_normal(s) * 0.5 for s in shapes]
    ts = [ember.tensor(v, requires_grad=True) for v in vals]
    from ember.ops import rnn
    assert ember.autograd.gradgradcheck(lambda x, h, c, wi, wh, bi, bh: rnn.lstm_cell(x, (h, c), wi, wh, bi, bh), ts)
    gru = [ts[0], ts[1]] + [ember.tensor(vals[i][:12], requires_grad=True) for i in (3, 4)]
    assert ember.autograd.gradcheck(lambda x, h, wi, wh: rnn.gru_cell(x, h, wi, wh), gru)


def test_cell_errors():
    for m, mods in ((torch, tnn), (ember, nn)):
        lstm, gru, rnn = mods.LSTMCell(10, 20), mods.GRUCell(10, 20), mods.RNNCell(10, 20)
        with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 10"):
            lstm(m.zeros(3, 5))
        with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 7, expected 20"):
            gru(m.zeros(3, 10), m.zeros(3, 7))
        with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 7, expected 20"):
            lstm(m.zeros(3, 10), (m.zeros(3, 20), m.zeros(3, 7)))
        with pytest.raises(RuntimeError, match="Input batch size 3 doesn't match hidden0 batch size 2"):
            rnn(m.zeros(3, 10), m.zeros(2, 20))
        with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D, got 3D instead"):
            gru(m.zeros(1, 3, 10))
        with pytest.raises(ValueError, match="RNNCell: Expected hidden to be 1D or 2D, got 3D instead"):
            rnn(m.zeros(3, 10), m.zeros(1, 3, 20))
        with pytest.raises(ValueError, match="LSTMCell: Expected hx\\[1\\] to be 1D or 2D, got 3D instead"):
            lstm(m.zeros(3, 10), (m.zeros(3, 20), m.zeros(1, 3, 20)))
        bad = mods.RNNCell(10, 20, nonlinearity="gelu")
        with pytest.raises(RuntimeError, match="Unknown nonlinearity: gelu"):
            bad(m.zeros(3, 10))
    with pytest.raises(RuntimeError, match="dtype"):
        nn.GRUCell(10, 20)(ember.zeros(3, 10), ember.zeros(3, 20, dtype=ember.float64))


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch_and_empty_sequence(mode):
    e, t = pair(mode, 3, 4, 2, bidirectional=True)
    compare(e, t, np.zeros((4, 0, 3)), None)
    for m, mod in ((torch, t), (ember, e)):
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
            mod(m.zeros(0, 2, 3, dtype=m.float64))
