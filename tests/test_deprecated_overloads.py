"""PyTorch's deprecated scalar-first overloads (``x.add_(2, y)``, ``x.addcmul_(v, t1, t2)``,
common in older training scripts), which PyTorch still accepts with a UserWarning:
values, the warning, and the calls PyTorch refuses."""
import warnings

import numpy as np
import pytest

import ember
from helpers import assert_close, to_torch, torch

X, Y = [1.0, 2.0, 3.0], [0.5, 0.25, 1.0]
T1, T2 = [2.0, 3.0, 4.0], [4.0, 2.0, 8.0]

CALLS = {  # accepted by PyTorch 2.13 (lib, x, y, t1, t2) -> tensor
    "add": lambda lib, x, y, t1, t2: x.add(2, y),
    "add_float": lambda lib, x, y, t1, t2: x.add(2.5, y),
    "add_number_other": lambda lib, x, y, t1, t2: x.add(2, 3),
    "add_0d_alpha": lambda lib, x, y, t1, t2: x.add(lib.tensor(2.0), y),
    "add_": lambda lib, x, y, t1, t2: x.clone().add_(-0.5, y),
    "torch.add": lambda lib, x, y, t1, t2: lib.add(x, 2, y),
    "torch.add_out": lambda lib, x, y, t1, t2: lib.add(x, 2, y, out=lib.empty(3)),
    "sub": lambda lib, x, y, t1, t2: x.sub(2, y),
    "sub_": lambda lib, x, y, t1, t2: x.clone().sub_(2, y),
    "torch.sub": lambda lib, x, y, t1, t2: lib.sub(x, 2, y),
    "addcmul": lambda lib, x, y, t1, t2: x.addcmul(2, t1, t2),
    "addcmul_": lambda lib, x, y, t1, t2: x.clone().addcmul_(0.1, t1, t2),
    "torch.addcmul": lambda lib, x, y, t1, t2: lib.addcmul(x, 2, t1, t2),
    "addcdiv": lambda lib, x, y, t1, t2: x.addcdiv(2, t1, t2),
    "addcdiv_": lambda lib, x, y, t1, t2: x.clone().addcdiv_(-3, t1, t2),
    "torch.addcdiv": lambda lib, x, y, t1, t2: lib.addcdiv(x, 2, t1, t2),
}


@pytest.fixture
def torch_warns_every_time():
    # PyTorch warns about a deprecated overload once per process unless told otherwise
    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(before)


def _call(lib, name):
    args = [lib.tensor(v) for v in (X, Y, T1, T2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = CALLS[name](lib, *args)
    return out, [w for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("name", list(CALLS))
def test_accepted_with_a_warning(name, torch_warns_every_time):
    out, caught = _call(ember, name)
    t_out, t_caught = _call(torch, name)
    assert_close(out, t_out)
    assert len(caught) == len(t_caught) == 1
    assert str(caught[0].message).startswith("This overload of " + name.split(".")[-1].split("_")[0])
    assert "deprecated" in str(t_caught[0].message)
    assert caught[0].filename == __file__  # points at the user's line, not inside ember


@pytest.mark.parametrize("name", ["add", "sub", "addcmul", "addcdiv"])
def test_method_warning_text_matches_torch(name, torch_warns_every_time):
    _, caught = _call(ember, name)
    _, t_caught = _call(torch, name)
    # PyTorch appends where in its C++ sources the warning came from
    assert str(t_caught[0].message).startswith(str(caught[0].message) + " (Triggered internally")


def test_gradients_through_deprecated_forms(torch_warns_every_time):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(3) for _ in range(4)]

    def run(lib):
        x, y, t1, t2 = (lib.tensor(a, requires_grad=True) for a in arrays)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = x.add(2, y).sub(0.5, t1).addcmul(3, t1, t2).addcdiv(-1, y, t2.exp())
        out.backward(lib.tensor([1.0, -2.0, 0.5]))
        return [out] + [t.grad for t in (x, y, t1, t2)]

    for e, t in zip(run(ember), run(torch)):
        assert_close(e, t, 1e-10, 1e-8)


REFUSED = {  # PyTorch 2.13 raises for these
    "scalar_last": lambda lib, x, y, t1, t2: x.add(y, 2),
    "scalar_last_fn": lambda lib, x, y, t1, t2: lib.add(x, y, 2),
    "addcmul_scalar_last": lambda lib, x, y, t1, t2: x.addcmul(t1, t2, 2),
    "too_many": lambda lib, x, y, t1, t2: x.add(2, y, y),
    "addcmul_missing_tensor": lambda lib, x, y, t1, t2: x.addcmul(2, t1),
    "tensor_scalar": lambda lib, x, y, t1, t2: x.add(y, t1),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_like_torch(name):
    found = []
    for lib in (ember, torch):
        args = [lib.tensor(v) for v in (X, Y, T1, T2)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as info:
                REFUSED[name](lib, *args)
        found.append(info.type)
    assert found[0] is found[1], found


def test_new_forms_unchanged():
    x, y = ember.tensor(X), ember.tensor(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the current signatures
        assert_close(x.add(y, alpha=2), to_torch(x) + 2 * to_torch(y))
        assert_close(ember.addcmul(x, y, y, value=0.5), torch.addcmul(to_torch(x), to_torch(y), to_torch(y), value=0.5))
