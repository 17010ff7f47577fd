"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict against PyTorch."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import check_module

torch = pytest.importorskip("torch")
tnn = torch.nn


def _keys(m):
    return list(m._modules)


# ---- Sequential ----------------------------------------------------------------------
def test_sequential_forward_parity():
    e = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    t = tnn.Sequential(tnn.Linear(5, 4), tnn.Tanh(), tnn.Linear(4, 3))
    check_module(e, t, [(6, 5)])


def test_sequential_from_ordered_dict():
    e = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    t = tnn.Sequential(OrderedDict([("fc", tnn.Linear(2, 2)), ("act", tnn.ReLU())]))
    assert repr(e) == repr(t) and list(e.state_dict()) == ["fc.weight", "fc.bias"]
    assert e.fc is e[0]


def test_sequential_list_operations_match_torch():
    def build(mod):
        return mod.Sequential(mod.Linear(1, 1), mod.ReLU(), mod.Tanh(), mod.Sigmoid())
    e, t = build(nn), build(tnn)
    assert len(e) == 4 and isinstance(e[-1], nn.Sigmoid)
    assert isinstance(e[1:3], nn.Sequential) and repr(e[1:3]) == repr(t[1:3])
    assert repr(e[::-1]) == repr(t[::-1])
    for m in (e, t):
        del m[1]
        m.insert(0, type(m[0])(2, 2))
        m.append(type(m[0])(3, 3))
        m.insert(-1, m[-1].__class__(4, 4))
        popped = m.pop(2)
        assert popped.__class__.__name__ == "Tanh"
        m[0] = m[-1]
        m.extend([type(m[1])(5, 5)])
    assert _keys(e) == _keys(t) and repr(e) == repr(t)
    del e[1:3], t[1:3]
    assert repr(e) == repr(t)
    assert [type(x).__name__ for x in e] == [type(x).__name__ for x in t]
    with pytest.raises(IndexError, match="index 10 is out of range"):
        e[10]
    with pytest.raises(IndexError, match="index -9 is out of range"):
        e[-9] = nn.ReLU()
    with pytest.raises(IndexError, match="Index out of range: 9"):
        e.insert(9, nn.ReLU())


def test_sequential_add_and_mul():
    a, b = nn.Sequential(nn.ReLU()), nn.Sequential(nn.Tanh(), nn.Sigmoid())
    assert repr(a + b) == repr(tnn.Sequential(tnn.ReLU()) + tnn.Sequential(tnn.Tanh(), tnn.Sigmoid()))
    r = a * 3
    assert len(r) == 3 and r[0] is r[2] and len(2 * a) == 2
    a += b
    assert len(a) == 3 and a[2] is b[1]
    with pytest.raises(ValueError, match="Non-positive multiplication factor"):
        a * 0
    with pytest.raises(ValueError, match="only objects of Sequential class"):
        a + [nn.ReLU()]


def test_sequential_dir_hides_indices():
    d = dir(nn.Sequential(nn.ReLU(), nn.Tanh()))
    assert "0" not in d and "append" in d


# ---- ModuleList ----------------------------------------------------------------------
def test_modulelist_operations_and_repr():
    def build(mod):
        ml = mod.ModuleList([mod.Linear(2, 2) for _ in range(3)])
        ml.append(mod.ReLU())
        ml.extend([mod.ReLU(), mod.Tanh()])
        ml.insert(1, mod.Sigmoid())
        ml += [mod.Linear(2, 2)]
        return ml
    e, t = build(nn), build(tnn)
    assert repr(e) == repr(t) and _keys(e) == _keys(t)
    assert repr(e[2:]) == repr(t[2:]) and isinstance(e[2:], nn.ModuleList)
    del e[0], t[0]
    e[-1], t[-1] = nn.Tanh(), tnn.Tanh()
    assert e.pop(1).__class__.__name__ == t.pop(1).__class__.__name__
    assert repr(e) == repr(t) and _keys(e) == _keys(t)
    assert repr(e + nn.ModuleList([nn.ReLU()])) == repr(t + tnn.ModuleList([tnn.ReLU()]))
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList()) == "ModuleList()"
    assert len(list(nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)]).parameters())) == 4
    with pytest.raises(TypeError, match="should be called with an iterable"):
        e.extend(3)
    with pytest.raises(IndexError, match="index 20 is out of range"):
        e[20]
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        e(1)


def test_modulelist_repr_runs_in_nested_model():
    e = nn.Sequential(nn.ModuleList([nn.Linear(3, 3)] * 4 + [nn.ReLU()] + [nn.Linear(3, 3)] * 2))
    t = tnn.Sequential(tnn.ModuleList([tnn.Linear(3, 3)] * 4 + [tnn.ReLU()] + [tnn.Linear(3, 3)] * 2))
    assert repr(e) == repr(t)
    assert "(0-3): 4 x Linear" in repr(e)


# ---- ModuleDict ----------------------------------------------------------------------
def test_moduledict_operations():
    def build(mod):
        d = mod.ModuleDict({"b": mod.ReLU(), "a": mod.Linear(1, 2)})
        d["c"] = mod.Tanh()
        d.update([("e", mod.Sigmoid())])
        d.update(OrderedDict(f=mod.ReLU()))
        del d["b"]
        return d
    e, t = build(nn), build(tnn)
    assert list(e) == list(t) == ["a", "c", "e", "f"]
    assert list(e.keys()) == list(t.keys()) and repr(e) == repr(t)
    assert "c" in e and "b" not in e and len(e) == 4
    assert isinstance(e.pop("c"), nn.Tanh) and "c" not in e
    assert [type(v).__name__ for v in e.values()] == ["Linear", "Sigmoid", "ReLU"]
    assert [k for k, _ in e.items()] == ["a", "e", "f"]
    assert list(e.state_dict()) == ["a.weight", "a.bias"]
    e.clear()
    assert len(e) == 0
    with pytest.raises(KeyError):
        e["zz"]
    with pytest.raises(TypeError, match="element #0 should be Iterable"):
        e.update([3])
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        e.update([("a", nn.ReLU(), 1)])
    with pytest.raises(TypeError, match="should be called with an iterable of key/value pairs"):
        e.update(3)


# ---- ParameterList / ParameterDict ---------------------------------------------------
def test_parameterlist():
    e = nn.ParameterList([ember.zeros(2, 3), nn.Parameter(ember.ones(3))])
    t = tnn.ParameterList([torch.zeros(2, 3), tnn.Parameter(torch.ones(3))])
    assert repr(e) == repr(t).replace("torch.", "ember.")
    e.append(ember.zeros(1))
    t.append(torch.zeros(1))
    e.extend(["text"])
    t.extend(["text"])
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert isinstance(e[0], nn.Parameter) and e[0].requires_grad and len(e) == 4
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()] == ["0", "1", "2"]
    assert isinstance(e[1:3], nn.ParameterList) and len(e[1:3]) == 2 and e[1:3][0] is e[1]
    e[0] = ember.ones(4)
    assert isinstance(e[0], nn.Parameter) and e[0].shape == (4,)
    assert [getattr(p, "shape", p) for p in e] == [(4,), (3,), (1,), "text"]
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        e()
    with pytest.raises(TypeError, match="should be called with an iterable"):
        e.extend(ember.zeros(2))


def test_parameterlist_trains_with_module():
    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(ember.ones(2) * i) for i in range(3)])

        def forward(self, x):
            for w in self.ws:
                x = x * w
            return x
    m = Mixer()
    m(ember.ones(2)).sum().backward()
    assert np.allclose(m.ws[1].grad.numpy(), 0) and np.allclose(m.ws[0].grad.numpy(), 2)
    assert list(m.state_dict()) == ["ws.0", "ws.1", "ws.2"]


def test_parameterdict():
    e = nn.ParameterDict({"x": ember.zeros(2), "a": ember.zeros(2, 3)})
    t = tnn.ParameterDict({"x": torch.zeros(2), "a": torch.zeros(2, 3)})
    assert list(e) == list(t) == ["a", "x"]  # a plain dict is added in sorted order
    e.update(OrderedDict([("q", ember.zeros(1)), ("b", 3)]))
    t.update(OrderedDict([("q", torch.zeros(1)), ("b", 3)]))
    assert list(e) == list(t) and repr(e) == repr(t).replace("torch.", "ember.")
    single_e, single_t = nn.ParameterDict({"w": ember.zeros(2)}), tnn.ParameterDict({"w": torch.zeros(2)})
    assert repr(single_e) == repr(single_t).replace("torch.", "ember.")
    assert isinstance(e["a"], nn.Parameter) and e["b"] == 3 and "q" in e and len(e) == 4
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert e.get("zz", 5) == 5 and e.setdefault("n", ember.ones(1)).shape == (1,)
    assert e.pop("n").shape == (1,) and "n" not in e
    k, v = e.popitem()
    assert k == "b" and v == 3
    assert list(reversed(e)) == ["q", "x", "a"]
    c = e.copy()
    assert list(c) == list(e) and c["a"] is e["a"]
    assert list(e.fromkeys(["u", "v"], ember.zeros(1))) == ["u", "v"]
    assert [k for k, _ in e.items()] == list(e.keys()) and len(list(e.values())) == 3
    del e["q"]
    assert "q" not in e
    e.clear()
    assert len(e) == 0
    with pytest.raises(TypeError, match="not a string"):
        e[1] = ember.zeros(1)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called"):
        e()
