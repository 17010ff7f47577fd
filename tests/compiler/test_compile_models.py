"""ember.compile on whole models: the replayed graph gives eager ember's values and gradients,
bit for bit (the same ops run in the same order), random draws included. A CNN's replay computes
its convolutions channels-last (compiler/layout.py): bit for bit what eager computes from the
input laid out channels-last."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.vision import models

from helpers_compile import assert_same, replaying, rewritten, same_as_eager


def _grads(model):
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def _compare(model, make_inputs, calls=4, train=True, loss=lambda out: out.float().sum(), options=None,
             channels_last=False):
    """Call the compiled and the eager model with the same inputs and seeds, ``calls`` times
    (the third call onwards replays), comparing outputs and parameter gradients; with
    ``channels_last``, the replays with eager's calls on the inputs laid out channels-last."""
    model.train(train)
    compiled = ember.compile(model, options=options)
    for i in range(calls):
        inputs = make_inputs(i)
        results = []
        for m in (compiled, model):
            ember.manual_seed(100 + i)
            if m is model and channels_last and i >= 2:
                inputs = tuple(x.contiguous(memory_format=ember.channels_last) for x in inputs)
            out = m(*inputs)
            if train:
                loss(out[0] if isinstance(out, tuple) else out).backward()
            results.append((out, _grads(model)))
            model.zero_grad()
        (out_c, grads_c), (out_e, grads_e) = results
        assert_same(out_c, out_e)
        for a, b in zip(grads_c, grads_e):
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert replaying(compiled)
    assert rewritten(compiled) == channels_last
    return compiled


def _images(n, c=3, size=32):
    return lambda i: (ember.randn(n, c, size, size, generator=ember.Generator().manual_seed(i)),)


# (name, model, inputs, whether ember.compile computes its convolutions channels-last: where
# most of their work wider than 1x1 is depthwise or reads 16 to 64 channels, compiler/layout.py)
ZOO = [
    ("lenet5", lambda: models.lenet5(), _images(4, 1, 28), False),
    ("resnet18", lambda: models.resnet18(num_classes=10), _images(2), False),
    ("mobilenet_v2", lambda: models.mobilenet_v2(num_classes=10), _images(2), True),
    ("efficientnet_b0", lambda: models.efficientnet_b0(num_classes=10), _images(2), True),  # stochastic depth
    ("vgg11_bn", lambda: models.vgg11_bn(num_classes=10), _images(1, 3, 32), False),  # dropout, batch norm
    ("resnet20", lambda: models.resnet20(), _images(2), True),  # shortcuts: slicing and padding
]


@pytest.mark.parametrize("name, build, inputs, channels_last", ZOO)
@pytest.mark.parametrize("train", [True, False])
def test_model_zoo_matches_eager(name, build, inputs, channels_last, train):
    ember.manual_seed(0)
    _compare(build(), inputs, calls=3, train=train, channels_last=channels_last)


@pytest.mark.parametrize("name, build, inputs, channels_last", [m for m in ZOO if m[3]])
def test_model_zoo_without_layout_optimization_matches_row_major_eager(name, build, inputs, channels_last):
    ember.manual_seed(0)
    _compare(build(), inputs, calls=3, options={"layout_optimization": False})


def test_batch_norm_running_statistics_follow_eager():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    twin = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    twin.load_state_dict(model.state_dict())
    compiled = ember.compile(model)
    for i in range(5):
        x = ember.randn(2, 3, 8, 8)
        assert_same(compiled(x), twin(x))
    assert replaying(compiled)
    for a, b in zip(model.buffers(), twin.buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_transformer_matches_eager():
    ember.manual_seed(0)
    model = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                           dim_feedforward=64, batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    # tgt_is_causal given: the transformer then need not compare the mask's values with a
    # causal mask in Python (which, left to detect, is a graph break)
    inputs = lambda i: (ember.randn(2, 5, 32), ember.randn(2, 4, 32), None, mask,  # noqa: E731
                        None, None, None, None, None, True)
    _compare(model, inputs, calls=4)


def test_transformer_detecting_a_causal_mask_runs_eagerly_and_correctly():
    ember.manual_seed(0)
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 1)
    compiled = ember.compile(model)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    for _ in range(3):
        same_as_eager(compiled, model, ember.randn(2, 3, 16), mask)


class _LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.rnn = nn.LSTM(16, 24, num_layers=2, dropout=0.2)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(24, 100)

    def forward(self, tokens, hidden):
        out, hidden = self.rnn(self.drop(self.embed(tokens)), hidden)
        return self.out(self.drop(out)), hidden


def test_lstm_language_model_matches_eager():
    ember.manual_seed(0)
    model = _LanguageModel()
    state = lambda: (ember.zeros(2, 3, 24), ember.zeros(2, 3, 24))  # noqa: E731
    _compare(model, lambda i: (ember.randint(0, 100, (7, 3)), state()), calls=4)


def test_gru_and_detached_hidden_state_carried_between_calls():
    ember.manual_seed(0)
    model = nn.GRU(5, 6, batch_first=True)
    compiled = ember.compile(model)
    h_c = h_e = ember.zeros(1, 2, 6)
    for _ in range(4):
        x = ember.randn(2, 3, 5)
        out_c, h_c = compiled(x, h_c.detach())
        out_e, h_e = model(x, h_e.detach())
        assert_same((out_c, h_c), (out_e, h_e))
    assert replaying(compiled)


def test_vae_reparameterisation_draws_fresh_noise():
    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(8, 4)
            self.dec = nn.Linear(2, 8)

        def forward(self, x):
            mu, logvar = self.enc(x).chunk(2, dim=1)
            z = mu + ember.randn_like(mu) * (0.5 * logvar).exp()
            return self.dec(z), mu, logvar

    ember.manual_seed(0)
    model = VAE()
    compiled = _compare(model, lambda i: (ember.randn(3, 8),), calls=4)
    a, b = compiled(ember.ones(3, 8)), compiled(ember.ones(3, 8))
    assert not np.array_equal(a[0].detach().numpy(), b[0].detach().numpy())  # new noise each call


def test_autocast_inside_forward_is_replayed():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            with ember.autocast("cpu", dtype=ember.bfloat16):
                y = self.fc(x)
            return y.float() + self.fc(x)

    ember.manual_seed(0)
    _compare(Mixed(), lambda i: (ember.randn(2, 6),))


def test_mlp_float64_and_no_grad():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 9), nn.GELU(), nn.LayerNorm(9), nn.Linear(9, 3)).double()
    compiled = ember.compile(model)
    with ember.no_grad():
        for _ in range(3):
            x = ember.randn(4, 7, dtype=ember.float64)
            out = compiled(x)
            assert not out.requires_grad
            assert_same(out, model(x))
    assert replaying(compiled)


def test_module_compile_in_place_keeps_type_and_state_dict():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    twin = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    twin.load_state_dict(model.state_dict())
    model.compile()
    assert type(model) is nn.Sequential and list(model.state_dict()) == ["0.weight", "0.bias"]
    for _ in range(3):
        x = ember.randn(2, 3)
        assert_same(model(x), twin(x))
    assert any(e.graph is not None for e in model._compiled_call.cache.values())


def test_optimized_module_reads_through_and_prefixes_state_dict():
    model = nn.Linear(2, 3)
    compiled = ember.compile(model)
    assert type(compiled).__name__ == "OptimizedModule" and compiled._orig_mod is model
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
    assert compiled.in_features == 2 and compiled.weight is model.weight
    assert "_orig_mod" in repr(compiled)
