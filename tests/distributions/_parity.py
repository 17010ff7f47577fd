"""The same distribution built in ember and in PyTorch from the same parameters, compared
value by value and gradient by gradient (random cotangent)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as ED

torch = pytest.importorskip("torch")
TD = torch.distributions


def pair(params: dict, dtype=np.float64, grad: bool = True):
    """ember and torch tensors holding the same values (float64 unless told)."""
    e, t = {}, {}
    for k, v in params.items():
        arr = np.asarray(v, dtype=dtype)
        e[k] = ember.tensor(arr)
        t[k] = torch.from_numpy(arr.copy())
        if grad and np.issubdtype(arr.dtype, np.floating):
            e[k].requires_grad_(True)
            t[k].requires_grad_(True)
    return e, t


def compare(e_out, t_out, e_inputs: dict, t_inputs: dict, atol=1e-7, rtol=1e-6, seed=0, what=""):
    """Values, then gradients of <out, random cotangent> w.r.t. every input that needs one."""
    assert tuple(e_out.shape) == tuple(t_out.shape), f"{what}: shape {tuple(e_out.shape)} vs {tuple(t_out.shape)}"
    assert e_out.dtype.name == str(t_out.dtype).replace("torch.", ""), f"{what}: dtype {e_out.dtype} vs {t_out.dtype}"
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=atol, rtol=rtol, err_msg=what)
    if not t_out.requires_grad:
        return
    names = [k for k, v in t_inputs.items() if v.requires_grad]
    cot = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    t_grads = torch.autograd.grad((t_out * torch.from_numpy(cot).to(t_out.dtype)).sum(),
                                  [t_inputs[k] for k in names], allow_unused=True)
    e_grads = ember.autograd.grad((e_out * ember.tensor(cot).to(e_out.dtype)).sum(),
                                  [e_inputs[k] for k in names], allow_unused=True)
    for k, eg, tg in zip(names, e_grads, t_grads):
        if tg is None:
            assert eg is None or not np.any(eg.numpy()), f"{what}: grad of {k}"
            continue
        assert eg is not None, f"{what}: no gradient for {k}"
        np.testing.assert_allclose(eg.numpy(), tg.numpy(), atol=atol * 10, rtol=rtol * 10,
                                   err_msg=f"{what}: grad of {k}")
