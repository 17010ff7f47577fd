"""functional_call against torch.func.functional_call: replaced parameters and buffers,
gradients to the given tensors, restoration (also on error), tied weights, strict."""
import numpy as np
import pytest

import ember
from helpers import assert_close, torch


class Net:
    """The same small model in both libraries: a linear layer and a buffer."""

    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(3, 2).double()
                self.register_buffer("shift", lib.zeros(2, dtype=lib.float64))

            def forward(self, x, scale=1.0):
                return self.fc(x) * scale + self.shift
        return M()


def pair():
    t = Net.make(torch)
    e = Net.make(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return e, t


def values(seed=3):
    rng = np.random.default_rng(seed)
    return {"fc.weight": rng.standard_normal((2, 3)), "fc.bias": rng.standard_normal(2),
            "shift": rng.standard_normal(2)}


def test_replaced_values_and_gradients():
    e_mod, t_mod = pair()
    vals = values()
    e_p = {k: ember.tensor(v, requires_grad=True) for k, v in vals.items()}
    t_p = {k: torch.tensor(v, requires_grad=True) for k, v in vals.items()}
    x = np.random.default_rng(4).standard_normal((5, 3))
    e_out = ember.func.functional_call(e_mod, e_p, (ember.tensor(x),), {"scale": 2.0})
    t_out = torch.func.functional_call(t_mod, t_p, (torch.tensor(x),), {"scale": 2.0})
    assert_close(e_out, t_out, 1e-12, 1e-10)
    c = np.random.default_rng(5).standard_normal((5, 2))
    (e_out * ember.tensor(c)).sum().backward()
    (t_out * torch.tensor(c)).sum().backward()
    for k in vals:
        assert_close(e_p[k].grad, t_p[k].grad, 1e-12, 1e-10, k)
    assert e_mod.fc.weight.grad is None  # the module's own parameters were not used
    # the originals are back
    for k, v in t_mod.state_dict().items():
        assert_close(e_mod.state_dict()[k], v, 0, 0, k)
    assert isinstance(e_mod.fc.weight, ember.nn.Parameter)


def test_partial_dict_single_arg_and_tuple_of_dicts():
    e_mod, t_mod = pair()
    vals = values()
    x = np.random.default_rng(4).standard_normal((5, 3))
    for part in [{"fc.bias": vals["fc.bias"]}, ({"fc.weight": vals["fc.weight"]}, {"shift": vals["shift"]})]:
        def conv(lib, d):
            return {k: lib.tensor(v) for k, v in d.items()} if isinstance(d, dict) else \
                tuple({k: lib.tensor(v) for k, v in di.items()} for di in d)
        assert_close(ember.func.functional_call(e_mod, conv(ember, part), ember.tensor(x)),
                     torch.func.functional_call(t_mod, conv(torch, part), torch.tensor(x)), 1e-12, 1e-10)


def test_restored_when_forward_raises():
    e_mod, _ = pair()
    weight = e_mod.fc.weight
    with pytest.raises(RuntimeError):
        ember.func.functional_call(e_mod, {"fc.weight": ember.zeros(2, 3, dtype=ember.float64)},
                                   (ember.zeros(5, 4, dtype=ember.float64),))
    assert e_mod.fc.weight is weight


def test_tied_weights():
    for lib in (ember, torch):
        a, b = lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False)
        b.weight = a.weight
        model = lib.nn.Sequential(a, b)
        w = lib.eye(2) * 3
        x = lib.ones(1, 2)
        assert lib.func.functional_call(model, {"0.weight": w}, (x,)).tolist() == [[9.0, 9.0]]
        untied = lib.func.functional_call(model, {"0.weight": w}, (x,), tie_weights=False)
        assert untied.tolist() == (b.weight @ (x * 3).T).T.tolist()
        with pytest.raises(ValueError):
            lib.func.functional_call(model, {"0.weight": w, "1.weight": w * 2}, (x,))


def test_strict_and_duplicate_keys():
    e_mod, t_mod = pair()
    for lib, mod in [(ember, e_mod), (torch, t_mod)]:
        with pytest.raises(RuntimeError):
            lib.func.functional_call(mod, {"fc.weight": lib.zeros(2, 3, dtype=lib.float64)},
                                     (lib.zeros(1, 3, dtype=lib.float64),), strict=True)
        with pytest.raises(ValueError):
            lib.func.functional_call(mod, ({"shift": lib.zeros(2)}, {"shift": lib.ones(2)}),
                                     (lib.zeros(1, 3, dtype=lib.float64),))
