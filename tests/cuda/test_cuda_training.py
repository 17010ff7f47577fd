"""Whole training runs on CUDA: the same steps as on the CPU give the same numbers.

The CPU path is checked against PyTorch everywhere else; here a CNN, an LSTM language
model, mixed precision with GradScaler, checkpoints and the data pipeline run on the GPU
and must agree with it.
"""
import numpy as np
import pytest

import ember
import ember.nn as nn

if not ember.cuda.is_available():
    pytest.skip("no CUDA GPU here (ember.cuda.is_available() is False)", allow_module_level=True)


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def twins(build, seed=0):
    """The same initial weights on the CPU and on CUDA."""
    ember.manual_seed(seed)
    cpu = build()
    gpu = build()
    gpu.load_state_dict(cpu.state_dict())
    return cpu, gpu.cuda()


def assert_params_close(cpu, gpu, rtol=1e-4, atol=1e-5):
    for (name, a), (_, b) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert b.device.type == "cuda", name
        np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def test_tensors_move_and_mixing_devices_is_an_error():
    x = ember.randn(3, 4)
    y = x.cuda()
    assert y.is_cuda and y.device == ember.device("cuda", 0) and str(y.device) == "cuda:0"
    np.testing.assert_allclose((y * 2 + 1).exp().cpu().numpy(), np.exp(x.numpy() * 2 + 1), rtol=1e-6)
    assert ember.zeros(2, device="cuda").device.type == "cuda"
    with pytest.raises(RuntimeError, match="same device"):
        x + y
    with pytest.raises(TypeError, match="cpu"):
        y.numpy()


def test_lenet_trains_on_cuda_as_on_the_cpu():
    cpu, gpu = twins(lenet)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    losses = {}
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        opt = ember.optim.Adam(model.parameters(), lr=1e-3)
        xs, ys = ember.tensor(x, device=dev), ember.tensor(y, device=dev)
        losses[dev] = []
        for _ in range(8):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xs), ys)
            loss.backward()
            opt.step()
            losses[dev].append(loss.item())
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)
    assert losses["cuda"][-1] < losses["cuda"][0]
    assert_params_close(cpu, gpu)


def test_compiled_lenet_replays_on_cuda_as_eager_on_cuda():
    eager, compiled_model = twins(lenet)
    eager.cuda()
    compiled = ember.compile(compiled_model)
    scaled = ember.compile(lambda x: compiled(x) * 0.5 + 1)  # number constants on the GPU too
    rng = np.random.default_rng(1)
    for _ in range(4):  # the third and fourth calls replay
        x = ember.tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32), device="cuda")
        out_c, out_e = scaled(x), eager(x) * 0.5 + 1
        out_c.sum().backward()
        out_e.sum().backward()
        # the same kernels in the same order; GPU reductions may still sum in another order
        np.testing.assert_allclose(out_c.cpu().detach().numpy(), out_e.cpu().detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(compiled_model.parameters(), eager.parameters()):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.cpu().numpy(), rtol=1e-5, atol=1e-5)
    assert any(e.graph is not None for e in scaled._ember_compiled.cache.values())


class WordLM(nn.Module):
    def __init__(self, vocab=50, hidden=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, num_layers=2, dropout=0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, state):
        out, state = self.rnn(self.embed(tokens), state)
        return self.head(out).flatten(0, 1).log_softmax(-1), state


def test_lstm_language_model_trains_on_cuda_as_on_the_cpu():
    cpu, gpu = twins(WordLM)
    rng = np.random.default_rng(1)
    data, targets = rng.integers(0, 50, (7, 4)), rng.integers(0, 50, 28)
    losses = {}
    for model, dev in ((cpu, "cpu"), (gpu, "cuda")):
        state = (ember.zeros(2, 4, 16, device=dev), ember.zeros(2, 4, 16, device=dev))
        losses[dev] = []
        for _ in range(4):
            model.zero_grad()
            state = tuple(s.detach() for s in state)
            out, state = model(ember.tensor(data, device=dev), state)
            loss = nn.functional.nll_loss(out, ember.tensor(targets, device=dev))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            with ember.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-1.0)
            losses[dev].append(loss.item())
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)
    assert_params_close(cpu, gpu)


def test_float16_autocast_and_grad_scaler_on_cuda():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).cuda()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler = ember.amp.GradScaler("cuda")
    x = ember.randn(32, 8, device="cuda")
    y = ember.randint(0, 3, (32,), device="cuda")
    losses = []
    for _ in range(20):
        opt.zero_grad()
        with ember.autocast("cuda", dtype=ember.float16):
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
        assert out.dtype == ember.float16 and loss.dtype == ember.float32
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert all(p.dtype == ember.float32 and p.grad.device.type == "cuda" for p in model.parameters())
    assert losses[-1] < losses[0] and np.isfinite(losses).all()


def test_checkpoints_of_cuda_tensors_load_where_asked(tmp_path):
    model = nn.Linear(4, 2).cuda()
    path = tmp_path / "model.pt"
    ember.save(model.state_dict(), path)
    on_gpu = ember.load(path)
    on_cpu = ember.load(path, map_location="cpu")
    assert on_gpu["weight"].device.type == "cuda" and on_cpu["weight"].device.type == "cpu"
    np.testing.assert_array_equal(on_cpu["weight"].numpy(), model.weight.detach().cpu().numpy())


def test_pinned_batches_move_to_the_gpu():
    data = ember.utils.data.TensorDataset(ember.randn(20, 3), ember.arange(20))
    loader = ember.utils.data.DataLoader(data, batch_size=8, pin_memory=True)
    seen = []
    for x, y in loader:
        x, y = x.to("cuda", non_blocking=True), y.cuda(non_blocking=True)
        assert x.is_cuda and y.is_cuda
        seen.append(y.cpu().numpy())
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(20))
