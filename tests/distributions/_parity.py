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


def check_properties(case, unit) -> None:
    """Every property named in ``case`` (moments, entropy, cdf at its value, icdf at ``unit``
    probabilities) against PyTorch, with gradients."""
    name, params, build, value, props = case
    for prop in props:
        ep, tp = pair(params)
        e_d, t_d = build(ED, ep), build(TD, tp)
        if prop in ("cdf", "icdf"):
            arg = value if prop == "cdf" else unit(*np.shape(value))
            e_out, t_out = getattr(e_d, prop)(ember.tensor(arg)), getattr(t_d, prop)(torch.from_numpy(arg))
        elif prop == "entropy":
            e_out, t_out = e_d.entropy(), t_d.entropy()
        else:
            e_out, t_out = getattr(e_d, prop), getattr(t_d, prop)
        compare(e_out, t_out, ep, tp, atol=1e-6, what=f"{name}.{prop}")


def check_shapes_and_expand(case) -> None:
    """Batch and event shapes, expand, samples of the expanded distribution (shape, dtype,
    their log_prob) and the support's kind, against PyTorch."""
    name, params, build, _, _ = case
    ep, tp = pair(params, grad=False)
    e_d, t_d = build(ED, ep), build(TD, tp)
    assert tuple(e_d.batch_shape) == tuple(t_d.batch_shape) and tuple(e_d.event_shape) == tuple(t_d.event_shape)
    new_batch = (2,) + tuple(t_d.batch_shape)
    e_x, t_x = e_d.expand(new_batch), t_d.expand(new_batch)
    assert tuple(e_x.batch_shape) == tuple(t_x.batch_shape) and tuple(e_x.event_shape) == tuple(t_x.event_shape)
    e_s, t_s = e_x.sample((3,)), t_x.sample((3,))
    assert tuple(e_s.shape) == tuple(t_s.shape), name
    assert e_s.dtype.name == str(t_s.dtype).replace("torch.", ""), name
    compare(e_x.log_prob(e_s), t_x.log_prob(torch.from_numpy(e_s.numpy())), {}, {}, what=f"{name} expanded")
    assert e_d.has_rsample == t_d.has_rsample and e_d.support.event_dim == t_d.support.event_dim
    assert e_d.support.is_discrete == t_d.support.is_discrete
