"""Mixed precision on CUDA: autocast's dtypes there, and GradScaler's skipped step and backoff
against PyTorch's on the CPU.

tests/amp is not rerun with EMBER_TEST_DEVICE=cuda (tests/cuda/test_parity_suites.py): its regions
are autocast("cpu"), which leaves CUDA tensors alone. bfloat16 on CUDA (CuPy 14 and later) is checked
here: its arithmetic against ember's CPU bfloat16, and an autocast step against PyTorch's.
"""
import numpy as np
import pytest

import ember

if not ember.cuda.is_available():
    pytest.skip("no CUDA GPU here (ember.cuda.is_available() is False)", allow_module_level=True)

torch = pytest.importorskip("torch")


def test_bfloat16_arithmetic_on_cuda_rounds_as_the_cpu_does():
    """Elementwise bfloat16 ops compute in float32 and round once on both devices, so their bits
    agree; a product and a sum accumulate in float32 in another order, so they agree to bfloat16's
    precision."""
    assert ember.cuda.is_bf16_supported()
    rng = np.random.default_rng(0)
    a, b = (ember.tensor(rng.standard_normal((33, 17)), dtype=ember.bfloat16) for _ in range(2))
    ga, gb = a.cuda(), b.cuda()
    assert ga.dtype is ember.bfloat16 and ga.device.type == "cuda"
    for name, op in (("add", lambda x, y: x + y), ("mul", lambda x, y: x * y), ("sub", lambda x, y: x - y),
                     ("relu", lambda x, y: x.relu()), ("to float", lambda x, y: x.float())):
        on_gpu, on_cpu = op(ga, gb), op(a, b)
        assert on_gpu.dtype is on_cpu.dtype and on_gpu.device.type == "cuda", name
        np.testing.assert_array_equal(on_gpu.cpu().float().numpy(), on_cpu.float().numpy(), err_msg=name)
    for name, op in (("matmul", lambda x, y: x @ y.T), ("sum", lambda x, y: x.sum(0)), ("exp", lambda x, y: x.exp())):
        on_gpu, on_cpu = op(ga, gb), op(a, b)
        assert on_gpu.dtype is ember.bfloat16, name
        np.testing.assert_allclose(on_gpu.cpu().float().numpy(), on_cpu.float().numpy(), rtol=2 ** -7, atol=1e-2,
                                   err_msg=name)


def test_bfloat16_autocast_step_on_cuda_matches_pytorchs():
    """A linear layer's output under autocast("cuda", bfloat16) is bfloat16 and its weights' gradients
    float32, as PyTorch's autocast gives them (its CPU region, whose linear is also lowered)."""
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(shape).astype(np.float32) for shape in ((16, 8), (16,), (4, 16), (4,))]
    x = rng.standard_normal((32, 8)).astype(np.float32)
    y = rng.standard_normal((32, 4)).astype(np.float32)
    grads, outs = {}, {}
    for L, dev in ((ember, "cuda"), (torch, "cpu")):
        model = L.nn.Sequential(L.nn.Linear(8, 16), L.nn.Tanh(), L.nn.Linear(16, 4)).to(dev)
        with L.no_grad():
            for p, w in zip(model.parameters(), weights):
                p.copy_(L.tensor(w))
        with L.autocast(dev, dtype=L.bfloat16):
            out = model(L.tensor(x, device=dev))
        assert out.dtype == L.bfloat16
        L.nn.functional.mse_loss(out.float(), L.tensor(y, device=dev)).backward()
        outs[L] = out.detach().float().cpu().numpy()
        grads[L] = [p.grad.cpu().numpy() for p in model.parameters()]
        assert all(p.grad.dtype == L.float32 for p in model.parameters())
    np.testing.assert_allclose(outs[ember], outs[torch], rtol=2 ** -7, atol=2e-2)
    for e, t in zip(grads[ember], grads[torch]):
        np.testing.assert_allclose(e, t, rtol=3e-2, atol=3e-2)


def test_grad_scaler_skips_an_inf_step_and_halves_the_scale_like_torch():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(shape).astype(np.float32) for shape in ((5, 3), (5,), (2, 5), (2,))]
    models = {}
    for L, dev in ((ember, "cuda"), (torch, "cpu")):
        model = L.nn.Sequential(L.nn.Linear(3, 5), L.nn.Tanh(), L.nn.Linear(5, 2))
        with L.no_grad():
            for p, w in zip(model.parameters(), weights):
                p.copy_(L.tensor(w))
        models[L] = (model.to(dev), L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                     L.amp.GradScaler(dev, init_scale=2.0 ** 10), dev)
    e_model, _, e_scaler, _ = models[ember]
    t_model, _, t_scaler, _ = models[torch]
    for step in range(4):
        x = rng.standard_normal((4, 3)).astype(np.float32)
        y = rng.standard_normal((4, 2)).astype(np.float32)
        if step == 2:
            y[1, 0] = np.inf  # the loss, and so the gradients, are infinite
        before = [p.detach().cpu().numpy().copy() for p in e_model.parameters()]
        for L, (model, opt, scaler, dev) in models.items():
            opt.zero_grad()
            loss = L.nn.functional.mse_loss(model(L.tensor(x, device=dev)), L.tensor(y, device=dev))
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        unchanged = [np.array_equal(b, p.detach().cpu().numpy()) for b, p in zip(before, e_model.parameters())]
        assert unchanged == [step == 2] * 4, f"step {step}: parameters unchanged {unchanged}"
        assert e_scaler.get_scale() == t_scaler.get_scale() == (2.0 ** 9 if step >= 2 else 2.0 ** 10), step
        assert e_scaler._scale.device.type == "cuda"
        for (name, pe), pt in zip(e_model.named_parameters(), t_model.parameters()):
            assert pe.device.type == "cuda", name
            np.testing.assert_allclose(pe.detach().cpu().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"step {step}: {name}")
    assert e_scaler.state_dict() == t_scaler.state_dict()
