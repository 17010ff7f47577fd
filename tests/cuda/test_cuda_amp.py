"""Mixed precision on CUDA: autocast's dtypes there, and GradScaler's skipped step and backoff
against PyTorch's on the CPU.

tests/amp is not rerun with EMBER_TEST_DEVICE=cuda (tests/cuda/test_parity_suites.py): its regions
are autocast("cpu"), which leaves CUDA tensors alone, and several use bfloat16, which ember's CUDA
backend has not.
"""
import numpy as np
import pytest

import ember

if not ember.cuda.is_available():
    pytest.skip("no CUDA GPU here (ember.cuda.is_available() is False)", allow_module_level=True)

torch = pytest.importorskip("torch")


def test_bfloat16_cuda_autocast_warns_and_is_disabled():
    a = ember.randn(3, 4, device="cuda")
    with pytest.warns(UserWarning, match="In CUDA autocast, but the target dtype is not supported") as caught:
        region = ember.autocast("cuda", dtype=ember.bfloat16)
    assert any("only supports dtype of ember.float16 currently (got ember.bfloat16)" in str(w.message)
               for w in caught)
    with region:
        assert not ember.is_autocast_enabled("cuda")
        out = a @ a.T
    assert out.dtype is ember.float32 and out.device.type == "cuda"
    with ember.autocast("cuda", dtype=ember.float16):
        assert ember.is_autocast_enabled("cuda") and (a @ a.T).dtype is ember.float16


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
