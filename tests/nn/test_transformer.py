"""Transformer encoder/decoder layers, their stacks and nn.Transformer against PyTorch
(weights copied through state_dict; outputs and every parameter's gradient compared)."""
import copy
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_close, check_module_case

torch = pytest.importorskip("torch")
tnn = torch.nn

# PyTorch warns that sequence-first encoders cannot use its nested-tensor fast path.
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")

D, H, FF = 8, 2, 16


def padding(m, n=2, s=5, kind="bool"):
    """key padding: batch element 1 has padding from position 3 on (True / -inf: ignored)."""
    pad = np.zeros((n, s), dtype=bool)
    pad[1, 3:] = True
    return m.tensor(pad) if kind == "bool" else m.tensor(np.where(pad, -np.inf, 0).astype(np.float32))


def causal(m, n):
    return m.nn.Transformer.generate_square_subsequent_mask(n)


def both(ctor):
    """The ember and the torch module built by ``ctor(m)`` (m: the ember or torch package)."""
    torch.manual_seed(0)
    return ctor(ember), ctor(torch)


ENCODER_LAYER_CASES = {
    # name: (extra constructor kwargs of m, input shapes, call(m, layer, src))
    "post_norm_relu": (lambda m: {}, [(5, 2, D)], lambda m, l, x: l(x)),
    "pre_norm_gelu_batch_first_padding": (
        lambda m: {"norm_first": True, "activation": "gelu", "batch_first": True}, [(2, 5, D)],
        lambda m, l, x: l(x, src_key_padding_mask=padding(m))),
    "callable_activation_float_padding": (
        lambda m: {"activation": m.nn.functional.silu}, [(5, 2, D)],
        lambda m, l, x: l(x, src_key_padding_mask=padding(m, kind="float"))),
    "module_activation_no_bias": (lambda m: {"activation": m.nn.GELU(approximate="tanh"), "bias": False},
                                  [(5, 2, D)], lambda m, l, x: l(x)),
    "causal_mask": (lambda m: {"batch_first": True}, [(2, 5, D)],
                    lambda m, l, x: l(x, src_mask=causal(m, 5), is_causal=True)),
    "bool_mask_and_padding": (
        lambda m: {"norm_first": True}, [(5, 2, D)],
        lambda m, l, x: l(x, src_mask=m.ones(5, 5, dtype=m.bool).triu(1), src_key_padding_mask=padding(m))),
    "unbatched": (lambda m: {"layer_norm_eps": 1e-3}, [(5, D)], lambda m, l, x: l(x, src_mask=causal(m, 5))),
}


@pytest.mark.parametrize("name", list(ENCODER_LAYER_CASES))
def test_encoder_layer_parity(name):
    kwargs, shapes, call = ENCODER_LAYER_CASES[name]
    e, t = both(lambda m: m.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, **kwargs(m)))
    check_module_case(e, t, shapes, call)


DECODER_LAYER_CASES = {
    "post_norm": (lambda m: {}, [(4, 2, D), (5, 2, D)], lambda m, l, x, mem: l(x, mem)),
    "pre_norm_batch_first_masks": (
        lambda m: {"norm_first": True, "batch_first": True, "activation": "gelu"}, [(2, 4, D), (2, 5, D)],
        lambda m, l, x, mem: l(x, mem, tgt_mask=causal(m, 4), tgt_is_causal=True,
                               tgt_key_padding_mask=padding(m, s=4, kind="float"), memory_key_padding_mask=padding(m))),
    "memory_mask": (
        lambda m: {"bias": False}, [(4, 2, D), (5, 2, D)],
        lambda m, l, x, mem: l(x, mem, memory_mask=m.tensor(np.random.default_rng(0).standard_normal((4, 5))
                                                            .astype(np.float32)))),
    "unbatched": (lambda m: {}, [(4, D), (5, D)],
                  lambda m, l, x, mem: l(x, mem, tgt_mask=causal(m, 4), memory_key_padding_mask=padding(m)[1])),
}


@pytest.mark.parametrize("name", list(DECODER_LAYER_CASES))
def test_decoder_layer_parity(name):
    kwargs, shapes, call = DECODER_LAYER_CASES[name]
    e, t = both(lambda m: m.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, **kwargs(m)))
    check_module_case(e, t, shapes, call)


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_stack_parity(batch_first):
    e, t = both(lambda m: m.nn.TransformerEncoder(
        m.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=batch_first), 2, m.nn.LayerNorm(D),
        enable_nested_tensor=False))
    shape = (2, 5, D) if batch_first else (5, 2, D)
    check_module_case(e, t, [shape], lambda m, enc, x: enc(x, mask=causal(m, 5),
                                                           src_key_padding_mask=padding(m, kind="float")))
    check_module_case(e, t, [shape], lambda m, enc, x: enc(x, mask=causal(m, 5)))  # detected as causal


def test_decoder_stack_parity():
    e, t = both(lambda m: m.nn.TransformerDecoder(
        m.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, norm_first=True), 3, m.nn.LayerNorm(D)))
    check_module_case(e, t, [(4, 2, D), (5, 2, D)],
                      lambda m, dec, x, mem: dec(x, mem, tgt_mask=causal(m, 4), memory_key_padding_mask=padding(m)))


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_parity(batch_first, norm_first):
    e, t = both(lambda m: m.nn.Transformer(D, H, 2, 2, FF, dropout=0.0, batch_first=batch_first,
                                           norm_first=norm_first))
    shapes = [(2, 5, D), (2, 4, D)] if batch_first else [(5, 2, D), (4, 2, D)]

    def call(m, model, src, tgt):
        return model(src, tgt, tgt_mask=causal(m, 4), src_key_padding_mask=padding(m),
                     memory_key_padding_mask=padding(m), tgt_key_padding_mask=padding(m, s=4, kind="float"))
    check_module_case(e, t, shapes, call)


def test_transformer_eval_with_dropout_float64():
    e, t = both(lambda m: m.nn.Transformer(D, H, 1, 2, FF, dropout=0.5, activation="gelu"))
    e.eval(), t.eval()
    check_module_case(e, t, [(5, 2, D), (4, 2, D)], lambda m, model, src, tgt: model(src, tgt), dtype="float64")


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_encoder_eval_matches_torch_fast_path():
    """PyTorch's inference fast path (eval, no grad, batch_first) agrees to ~1e-6. With a
    padding mask its nested tensors also zero the padded positions' outputs, which ember
    computes like any other position; those are compared only where not padded."""
    e, t = both(lambda m: m.nn.TransformerEncoder(
        m.nn.TransformerEncoderLayer(D, H, FF, batch_first=True), 2))
    e.load_state_dict(t.state_dict())
    e.eval(), t.eval()
    x = np.random.default_rng(0).standard_normal((2, 5, D)).astype(np.float32)
    with torch.no_grad():
        plain = t(torch.tensor(x))
        padded = t(torch.tensor(x), src_key_padding_mask=padding(torch))
    assert_close(e(ember.tensor(x)), plain, 1e-5, 1e-4)
    out = e(ember.tensor(x), src_key_padding_mask=padding(ember)).detach().cpu().numpy()
    keep = ~padding(torch).cpu().numpy()
    np.testing.assert_allclose(out[keep], padded.cpu().numpy()[keep], atol=1e-5, rtol=1e-4)


def test_dropout_is_active_in_training_only():
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.5)
    x = ember.randn(5, 2, D)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    a.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().cpu().numpy(), layer(x).detach().cpu().numpy())


@pytest.mark.parametrize("layer_cls,shapes", [("TransformerEncoderLayer", [(5, 2, D)]),
                                              ("TransformerDecoderLayer", [(4, 2, D), (5, 2, D)])])
@pytest.mark.parametrize("norm_first", [False, True])
def test_each_dropout_runs_once_per_call(layer_cls, shapes, norm_first):
    """The dropout modules sit where PyTorch's do (same inputs), checked with forward hooks."""
    e, t = both(lambda m: getattr(m.nn, layer_cls)(D, H, FF, dropout=0.0, norm_first=norm_first))
    e.load_state_dict(t.state_dict())
    seen = {}
    for m, layer in ((torch, t), (ember, e)):
        log = seen[m.__name__] = {}
        for name, mod in layer.named_modules():
            if isinstance(mod, m.nn.Dropout):
                mod.register_forward_hook(lambda mod, args, out, name=name: log.setdefault(name, []).append(args[0]))
        layer(*(m.tensor(np.random.default_rng(i).standard_normal(s).astype(np.float32))
                for i, s in enumerate(shapes)))
    assert sorted(seen["ember"]) == sorted(seen["torch"])
    for name, calls in seen["torch"].items():
        assert len(seen["ember"][name]) == len(calls) == 1
        assert_close(seen["ember"][name][0], calls[0], 1e-5, 1e-4, name)


@pytest.mark.parametrize("sz,dtype", [(1, None), (4, None), (3, "float64"), (0, None)])
def test_generate_square_subsequent_mask(sz, dtype):
    mask = nn.Transformer.generate_square_subsequent_mask(sz, dtype=getattr(ember, dtype) if dtype else None)
    expected = tnn.Transformer.generate_square_subsequent_mask(sz, dtype=getattr(torch, dtype) if dtype else None)
    assert_close(mask, expected, 0, 0)
    assert nn.Transformer(D, H, 1, 1, FF).generate_square_subsequent_mask(2).shape == (2, 2)


def test_causal_mask_detection_matches_torch():
    from torch.nn.modules.transformer import _detect_is_causal_mask as detect_t

    from ember.nn.modules.transformer import _detect_is_causal_mask as detect_e
    for make in (lambda m: causal(m, 4), lambda m: m.ones(4, 4, dtype=m.bool).triu(1),
                 lambda m: m.zeros(4, 4), lambda m: causal(m, 4)[None], lambda m: None):
        for is_causal, size in ((None, None), (None, 3), (False, None), (True, None)):
            assert detect_e(make(ember), is_causal, size) == detect_t(make(torch), is_causal, size)


def test_state_dict_keys_repr_and_clones():
    e, t = both(lambda m: m.nn.Transformer(D, H, 2, 1, FF))
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    layers = e.encoder.layers
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    layer = nn.TransformerEncoderLayer(D, H, FF, activation=nn.GELU())
    assert repr(layer) == repr(tnn.TransformerEncoderLayer(D, H, FF, activation=tnn.GELU()))
    stack = nn.TransformerEncoder(layer, 2)
    np.testing.assert_array_equal(stack.layers[0].linear1.weight.detach().cpu().numpy(),
                                  stack.layers[1].linear1.weight.detach().cpu().numpy())
    clone = copy.deepcopy(stack)
    with ember.no_grad():
        clone.layers[0].linear1.weight.fill_(0)
    assert all(layer.linear1.weight.detach().cpu().numpy().any() for layer in stack.layers)


def test_transformer_init():
    """Every parameter with more than one dim is Xavier-uniform; norms start at (1, 0)."""
    ember.manual_seed(0)
    model = nn.Transformer(64, 4, 1, 1, 256)
    w = model.encoder.layers[0].linear1.weight.detach().cpu().numpy()
    bound = math.sqrt(6 / (64 + 256))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    out_w = model.decoder.layers[0].multihead_attn.out_proj.weight.detach().cpu().numpy()
    assert np.abs(out_w).max() > 0.98 * math.sqrt(6 / 128)
    assert np.all(model.encoder.norm.weight.detach().cpu().numpy() == 1)
    assert not model.decoder.layers[0].self_attn.in_proj_bias.detach().cpu().numpy().any()


def test_errors_match_torch():
    for m in (torch, ember):
        model = m.nn.Transformer(D, H, 1, 1, FF)
        with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
            model(m.zeros(5, 2, D), m.zeros(4, 3, D))
        with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
            model(m.zeros(5, 2, D), m.zeros(4, 2, D + 1))
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            m.nn.TransformerEncoderLayer(D, H, FF, activation="tanh")
        with pytest.raises(AssertionError, match="only bool and floating types of src_key_padding_mask are supported"):
            m.nn.TransformerEncoderLayer(D, H, FF)(m.zeros(5, 2, D), src_key_padding_mask=m.zeros(2, 5, dtype=m.int64))
