"""Transforms: forward, inverse, log|det J| and their gradients against PyTorch; caching."""
import numpy as np
import pytest

import ember
from ._parity import ED, TD, compare, pair

rng = np.random.default_rng(2)
CASES = [
    ("Exp", lambda T: T.ExpTransform(), rng.standard_normal((2, 3))),
    ("Sigmoid", lambda T: T.SigmoidTransform(), rng.standard_normal((2, 3))),
    ("Tanh", lambda T: T.TanhTransform(), rng.standard_normal((2, 3))),
    ("Affine", lambda T: T.AffineTransform(1.5, -2.0), rng.standard_normal((2, 3))),
    ("AffineEvent", lambda T: T.AffineTransform(0.5, 3.0, event_dim=1), rng.standard_normal((2, 3))),
    ("Power", lambda T: T.PowerTransform(2.5), rng.uniform(0.5, 2, (2, 3))),
    ("Compose", lambda T: T.ComposeTransform([T.AffineTransform(0.1, 0.5), T.ExpTransform()]),
     rng.standard_normal((2, 3))),
    ("Inverse", lambda T: T.ExpTransform().inv, rng.uniform(0.5, 2, (2, 3))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_transform(case):
    name, build, x = case
    ep, tp = pair({"x": x})
    e_t, t_t = build(ED.transforms), build(TD.transforms)
    e_y, t_y = e_t(ep["x"]), t_t(tp["x"])
    compare(e_y, t_y, ep, tp, what=f"{name} forward")
    compare(e_t.log_abs_det_jacobian(ep["x"], e_t(ep["x"])), t_t.log_abs_det_jacobian(tp["x"], t_t(tp["x"])),
            ep, tp, what=f"{name} log_abs_det_jacobian")
    compare(e_t.inv(e_t(ep["x"])), t_t.inv(t_t(tp["x"])), ep, tp, what=f"{name} inverse")
    assert e_t.bijective == t_t.bijective and e_t.domain.event_dim == t_t.domain.event_dim


def test_softmax_transform():
    ep, tp = pair({"x": rng.standard_normal((2, 4))})
    compare(ED.transforms.SoftmaxTransform()(ep["x"]), TD.transforms.SoftmaxTransform()(tp["x"]), ep, tp)


def test_cache_returns_the_same_tensor():
    t = ED.transforms.ExpTransform(cache_size=1)
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert ED.transforms.ExpTransform()(x) is not y
    with pytest.raises(ValueError):
        ED.transforms.ExpTransform(cache_size=2)
