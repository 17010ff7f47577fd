"""Module: registration, iteration, state_dict round trips with PyTorch, modes, dtypes, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from helpers import assert_close, copy_weights, to_torch

torch = pytest.importorskip("torch")
tnn = torch.nn


def _net(mod):
    """The same small model in ember (mod=ember.nn) or PyTorch (mod=torch.nn)."""
    class Net(mod.Module):
        def __init__(self):
            super().__init__()
            self.features = mod.Sequential(mod.Linear(4, 8), mod.ReLU(), mod.Dropout(0.1), mod.Linear(8, 8))
            self.heads = mod.ModuleList([mod.Linear(8, 3), mod.Linear(8, 3), mod.Linear(8, 2, bias=False)])
            lib = ember if mod is nn else torch
            self.scale = mod.Parameter(lib.ones(3))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.act = mod.GELU(approximate="tanh")

        def forward(self, x):
            h = self.act(self.features(x))
            return self.heads[0](h) * self.scale + self.heads[1](h)
    return Net()


# ---- registration --------------------------------------------------------------------
def test_assignment_registers_parameters_modules_and_buffers():
    m = nn.Module()
    m.w = nn.Parameter(ember.zeros(2, 3))
    m.child = nn.Linear(2, 2)
    m.register_buffer("b", ember.ones(2))
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"] and list(m._buffers) == ["b"]
    assert m.w is m._parameters["w"] and m.child is m._modules["child"] and m.b is m._buffers["b"]
    assert m.plain == 3 and "plain" in m.__dict__
    # Reassigning a tensor to a buffer's name replaces the buffer; None empties a slot.
    m.b = ember.zeros(5)
    assert m._buffers["b"].shape == (5,)
    m.w = None
    assert m._parameters["w"] is None and m.w is None
    assert [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
    # Reassigning a name as another kind moves it between registries.
    m.child = nn.Parameter(ember.zeros(1))
    assert "child" not in m._modules and "child" in m._parameters
    del m.child
    assert "child" not in m._parameters
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'child'"):
        m.child


def test_buffer_class_and_persistence():
    m = nn.Module()
    m.a = nn.Buffer(ember.ones(2))
    m.b = nn.Buffer(ember.ones(3), persistent=False)
    assert type(m.a) is ember.Tensor and list(m.state_dict()) == ["a"]
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    t = tnn.Module()
    t.a = tnn.Buffer(torch.ones(2))
    t.b = tnn.Buffer(torch.ones(3), persistent=False)
    assert list(t.state_dict()) == list(m.state_dict())


def test_registration_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'ember.FloatTensor' as parameter 'w'"):
        m.register_parameter("w", None)
        m.w = ember.zeros(2)
    with pytest.raises(TypeError, match="cannot assign .* object to parameter 'v'"):
        m.register_parameter("v", ember.zeros(2))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_buffer("a.b", ember.zeros(1))
    with pytest.raises(KeyError, match="be empty string"):
        m.add_module("", nn.ReLU())
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        m.register_buffer("training", ember.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="buffer name should be a string"):
        m.register_buffer(1, ember.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
        m.register_buffer("x", 3)
    m.seq = nn.Sequential()
    with pytest.raises(TypeError, match="as child module 'seq'"):
        m.seq = 3

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(TypeError, match="unexpected arguments"):
        nn.Module(3)


def test_forward_missing():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        nn.Module()(1)


def test_named_members_match_torch():
    e, t = _net(nn), _net(tnn)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in e.named_parameters(prefix="net", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="net", recurse=False)]
    assert len(list(e.parameters())) == len(list(t.parameters())) == 10
    assert len(list(e.modules())) == len(list(t.modules()))
    assert all(isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter) for p in e.parameters())


def test_shared_modules_and_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert len(list(m.named_modules(remove_duplicate=False))) == 4
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_get_submodule_parameter_buffer():
    e = _net(nn)
    assert e.get_submodule("") is e
    assert e.get_submodule("heads.1") is e.heads[1]
    assert e.get_parameter("features.0.bias") is e.features[0].bias
    assert e.get_parameter("scale") is e.scale
    assert e.get_buffer("steps") is e.steps
    with pytest.raises(AttributeError, match="ModuleList has no attribute `7`"):
        e.get_submodule("heads.7")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        e.get_submodule("scale")
    with pytest.raises(AttributeError, match="`act` is not an nn.Parameter"):
        e.get_parameter("act")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        e.get_buffer("scale")


def test_dir_lists_registered_names():
    names = dir(_net(nn))
    for n in ("features", "heads", "scale", "steps", "forward", "training"):
        assert n in names


# ---- state_dict ----------------------------------------------------------------------
def test_state_dict_keys_shapes_and_roundtrip_with_torch():
    e, t = _net(nn), _net(tnn)
    copy_weights(e, t)  # torch -> ember
    for k, v in e.state_dict().items():
        assert_close(v, t.state_dict()[k], what=k)
    # ember -> torch (numpy arrays)
    e2 = _net(nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e2.state_dict().items()})
    for k, v in e2.state_dict().items():
        assert_close(v, t.state_dict()[k], what=k)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    e2.eval(), t.eval()
    assert_close(e2(ember.tensor(x)), t(torch.tensor(x)))


def test_state_dict_values_are_detached_views_unless_keep_vars():
    lin = nn.Linear(3, 2)
    sd = lin.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad and type(sd["weight"]) is ember.Tensor
    assert np.shares_memory(sd["weight"].numpy(), lin.weight.detach().numpy())
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight
    assert list(lin.state_dict(prefix="enc.")) == ["enc.weight", "enc.bias"]
    assert sd._metadata[""] == {"version": 1}


def test_load_state_dict_accepts_numpy_and_returns_keys():
    lin = nn.Linear(3, 2)
    w = np.arange(6, dtype=np.float64).reshape(2, 3)
    res = lin.load_state_dict({"weight": w, "bias": np.zeros(2)})
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    assert lin.weight.dtype == ember.float32 and np.array_equal(lin.weight.detach().numpy(), w)
    assert lin.weight.requires_grad and isinstance(lin.weight, nn.Parameter)
    res = lin.load_state_dict({"weight": w, "extra": w}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    assert res == (["bias"], ["extra"])


def test_load_state_dict_strict_errors_match_torch():
    e, t = _net(nn), _net(tnn)
    bad = dict(t.state_dict())
    del bad["features.0.bias"]
    bad["heads.0.weight"] = torch.zeros(5, 8)
    bad["heads.9.weight"] = torch.zeros(1)
    bad["bogus"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(bad)
    with pytest.raises(RuntimeError) as ee:
        e.load_state_dict(bad)
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")
    assert str(ee.value).startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "
                                    '"features.0.bias". \n\tUnexpected key(s) in state_dict: ')
    assert "size mismatch for heads.0.weight: copying a param with shape ember.Size([5, 8]) from " \
           "checkpoint, the shape in current model is ember.Size([3, 8])." in str(ee.value)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        e.load_state_dict([1, 2])


def test_load_state_dict_non_strict_reports_same_keys_as_torch():
    e, t = _net(nn), _net(tnn)
    sd = {k: v for k, v in t.state_dict().items() if not k.startswith("heads.2")}
    sd["heads.5.bias"] = torch.zeros(1)
    te, ee = t.load_state_dict(sd, strict=False), e.load_state_dict(sd, strict=False)
    assert ee.missing_keys == te.missing_keys and ee.unexpected_keys == te.unexpected_keys


def test_load_state_dict_copies_in_place_or_assigns():
    lin = nn.Linear(2, 2)
    w = lin.weight
    new = ember.ones(2, 2, dtype=ember.float64)
    lin.load_state_dict({"weight": new, "bias": ember.zeros(2)})
    assert lin.weight is w and lin.weight.dtype == ember.float32 and w._version > 0
    lin.load_state_dict({"weight": new, "bias": ember.zeros(2)}, assign=True)
    assert lin.weight is not w and isinstance(lin.weight, nn.Parameter)
    assert lin.weight.dtype == ember.float64 and lin.weight.requires_grad
    lin.weight.requires_grad_(False)
    lin.load_state_dict({"weight": new, "bias": ember.zeros(2)}, assign=True)
    assert not lin.weight.requires_grad


def test_extra_state_roundtrip():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.counter = 0

        def get_extra_state(self):
            return {"counter": self.counter}

        def set_extra_state(self, state):
            self.counter = state["counter"]
    a, b = WithState(), WithState()
    a.counter = 7
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b.load_state_dict(sd)
    assert b.counter == 7
    with pytest.raises(RuntimeError, match='Missing key.*"_extra_state"'):
        b.load_state_dict({})


def test_custom_load_from_state_dict_override():
    # Layers such as batch norm patch older checkpoints by overriding _load_from_state_dict.
    class Patched(nn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
            state_dict.setdefault(prefix + "bias", ember.full((self.out_features,), 5.0))
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errors)
    m = nn.Sequential(Patched(2, 3))
    m.load_state_dict({"0.weight": ember.zeros(3, 2)})
    assert np.all(m[0].bias.detach().numpy() == 5)


# ---- modes, gradients, conversion -----------------------------------------------------
def test_train_eval_recursive():
    e = _net(nn)
    assert e.training and e.features[2].training
    assert e.eval() is e and not e.features[2].training and not e.heads[0].training
    e.train()
    assert all(m.training for m in e.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        e.train("yes")


def test_zero_grad_and_requires_grad_():
    lin = nn.Linear(3, 2)
    lin(ember.randn(4, 3)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    assert np.all(lin.weight.grad.numpy() == 0)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None
    assert lin.requires_grad_(False) is lin and not any(p.requires_grad for p in lin.parameters())


def test_apply_visits_children_first():
    order = []
    m = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_weights(mod):
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
    m.apply(init_weights)
    assert np.all(m[0].weight.detach().numpy() == 0.5)


def test_dtype_conversions_keep_parameter_objects():
    e = _net(nn)
    w = e.heads[0].weight
    e(ember.randn(2, 4)).sum().backward()
    assert e.double() is e
    assert e.heads[0].weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert e.steps.dtype == ember.float64 and isinstance(w, nn.Parameter) and w.requires_grad
    e.half()
    assert w.dtype == ember.float16
    e.float()
    assert w.dtype == ember.float32
    e.to(ember.float64)
    assert w.dtype == ember.float64 and e.cache.dtype == ember.float64
    e.to("cpu", ember.float32)
    assert w.dtype == ember.float32
    e.to(ember.zeros(1, dtype=ember.float64))
    assert w.dtype == ember.float64
    assert e.cpu() is e and w.device == ember.device("cpu")
    e.type(ember.float32)
    assert w.dtype == ember.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        e.to(ember.int64)


def test_to_leaves_integer_buffers():
    m = nn.Module()
    m.register_buffer("count", ember.zeros(1, dtype=ember.int64))
    m.double()
    assert m.count.dtype == ember.int64


def test_deepcopy_and_pickle():
    e = _net(nn)
    c = copy.deepcopy(e)
    assert c is not e and c.features[0].weight is not e.features[0].weight
    assert isinstance(c.features[0].weight, nn.Parameter) and c.features[0].weight.requires_grad
    for (k, a), b in zip(e.state_dict().items(), c.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    m = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ParameterList([ember.ones(2)]))
    m[0].register_buffer("b", ember.arange(3))
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[1][0], nn.Parameter) and p[1][0].requires_grad
    assert np.array_equal(p[0].weight.detach().numpy(), m[0].weight.detach().numpy())
    assert p[0].bias is None and p[0].b.dtype == ember.int64 and not p[0].b.requires_grad


# ---- hooks ---------------------------------------------------------------------------
def test_forward_pre_hook_and_forward_hook():
    lin = nn.Linear(2, 2)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out + 1)
    x = ember.ones(3, 2)
    out = lin(x)
    assert seen == [(3, 2)]
    assert_close(out, to_torch(lin.bias.detach() + 1).expand(3, 2))
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    assert_close(lin(x), to_torch(lin(x)))
    assert not lin._forward_hooks and not lin._forward_pre_hooks


def test_hooks_with_kwargs_prepend_and_context_manager():
    class Add(nn.Module):
        def forward(self, x, *, y=0):
            return x + y
    m = Add()
    calls = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"y": 10}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(("b", kwargs["y"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: calls.append(("a", out.item())), prepend=True)
    assert m(ember.tensor(1.0)).item() == 11
    assert calls == [("a", 11.0), ("b", 10)]
    with m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,)):
        assert m(ember.tensor(1.0)).item() == 12
    assert m(ember.tensor(1.0)).item() == 11


def test_always_call_hook_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seen = []
    m = Boom()
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == [None]


def test_full_backward_hooks_match_torch():
    def run(mod, lib, x):
        lin = mod.Linear(3, 2)
        lin.load_state_dict({"weight": lib.tensor(np.arange(6.0).reshape(2, 3) / 5, dtype=lib.float32),
                             "bias": lib.zeros(2)})
        record = {}

        def pre(m, grad_output):
            record["pre"] = grad_output[0].detach().numpy().copy()
            return (grad_output[0] * 2,)

        def hook(m, grad_input, grad_output):
            record["in"] = grad_input[0].detach().numpy().copy()
            record["out"] = grad_output[0].detach().numpy().copy()
            return (grad_input[0] + 1,)
        lin.register_full_backward_pre_hook(pre)
        lin.register_full_backward_hook(hook)
        xt = lib.tensor(x, requires_grad=True)
        (lin(xt) * lib.tensor([1.0, -1.0])).sum().backward()
        return record, xt.grad.numpy(), lin.weight.grad.numpy()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    re, gxe, gwe = run(nn, ember, x)
    rt, gxt, gwt = run(tnn, torch, x)
    for k in ("pre", "in", "out"):
        np.testing.assert_allclose(re[k], rt[k], rtol=1e-6, err_msg=k)
    np.testing.assert_allclose(gxe, gxt, rtol=1e-6)
    np.testing.assert_allclose(gwe, gwt, rtol=1e-6)


def test_full_backward_hook_without_input_grad():
    lin = nn.Linear(2, 1)
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    lin(ember.ones(3, 2)).sum().backward()
    assert seen == [((None,), (3, 1))]
    assert lin.weight.grad is not None


# ---- printing ------------------------------------------------------------------------
def test_repr_matches_torch_for_nested_model():
    e, t = _net(nn), _net(tnn)
    assert repr(e) == repr(t)
    e.add_module("empty", None)
    t.add_module("empty", None)
    assert repr(e) == repr(t)


def test_extra_repr_multiline_and_custom_name():
    class Custom(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    class TCustom(tnn.Module):
        def extra_repr(self):
            return "a=1\nb=2"
    e, t = Custom(), TCustom()
    e.lin, t.lin = nn.Linear(1, 1), tnn.Linear(1, 1)
    assert repr(e) == repr(t).replace("TCustom", "Custom")
    assert nn.Linear(1, 1)._get_name() == "Linear"
