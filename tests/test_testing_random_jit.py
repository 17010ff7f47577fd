"""ember.testing, ember.random and ember.jit against torch.testing, torch.random and torch.jit."""
import numpy as np
import pytest

import ember
from helpers import to_ember, torch


def _outcome(fn):
    """(exception type or None, message with the library's name removed)."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the test compares which exception each raises)
        return type(e), str(e).replace("torch", "ember")
    return None, ""


def _pairs():
    t = torch.tensor
    return [
        (t([1., 2, 3]), t([1., 2.5, 3]), {}),
        (t([1., 2]), t([1., 2, 3]), {}),
        (t([1., 2]), t([1., 2], dtype=torch.float64), {}),
        (t([1., 2]), t([1., 2], dtype=torch.float64), {"check_dtype": False}),
        (t([1., 2]), t([1., 2 + 1e-6]), {}),                        # inside float32's tolerance
        (t([1., 2], dtype=torch.float64), t([1., 2 + 1e-6], dtype=torch.float64), {}),
        (t([1., 2], dtype=torch.float16), t([1., 2.001], dtype=torch.float16), {}),
        (t([1., 2]), t([1., 2.1]), {"rtol": 0.1, "atol": 0.0}),
        (t([1., 2]), t([1., 2.1]), {"rtol": 0.1}),                  # ValueError: atol missing
        (t([1, 2]), t([1, 3]), {}),
        (t([True]), t([False]), {}),
        (t([float("nan")]), t([float("nan")]), {}),
        (t([float("nan")]), t([float("nan")]), {"equal_nan": True}),
        (t([float("inf"), 1]), t([float("inf"), 1]), {}),
        (t([1., 2]), t([1., 3]), {"msg": "custom message"}),
        (t([1., 2]), t([1., 3]), {"msg": lambda m: "wrapped: " + m}),
        (t(1.), 1., {}),                                            # TypeError: no comparison pair
        (1., 1.0000001, {}),
        (1, 1., {}),
        (1, 2, {}),
        ((1, 2), [1, 2], {}),
        ([t([1., 2])], [t([1., 3])], {}),
        ({"a": t([1.])}, {"a": t([2.])}, {}),
        (np.array([1., 2]), np.array([1., 3]), {}),
    ]


@pytest.mark.parametrize("case", range(len(_pairs())))
def test_assert_close_matches_torch(case):
    a, b, kw = _pairs()[case]
    conv = lambda x: to_ember(x) if isinstance(x, torch.Tensor) else (  # noqa: E731
        [conv(v) for v in x] if isinstance(x, list) else {k: conv(v) for k, v in x.items()}
        if isinstance(x, dict) else x)
    got = _outcome(lambda: ember.testing.assert_close(conv(a), conv(b), **kw))
    want = _outcome(lambda: torch.testing.assert_close(a, b, **kw))
    assert got[0] is want[0]
    assert got[1] == want[1]


def test_assert_close_checks_device_of_tensors():
    ember.testing.assert_close(ember.ones(2), ember.ones(2), check_device=True)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool"])
def test_make_tensor_dtype_shape_and_range(dtype):
    d = getattr(ember, dtype) if dtype != "bool" else ember.bool
    t = ember.testing.make_tensor(3, 4, dtype=d, low=0, high=5)
    assert t.shape == (3, 4) and t.dtype is d
    if dtype != "bool":
        assert float(t.min()) >= 0 and float(t.max()) < 5
    nc = ember.testing.make_tensor((2, 3), dtype=d, noncontiguous=True)
    assert nc.shape == (2, 3) and not nc.is_contiguous()


def test_rng_state_is_uint8_tensor_and_restores():
    ember.manual_seed(5)
    state = ember.random.get_rng_state()
    assert isinstance(state, ember.Tensor) and state.dtype is ember.uint8 and state.dim() == 1
    a = ember.rand(4)
    ember.random.set_rng_state(state)
    assert np.array_equal(ember.rand(4).numpy(), a.numpy())
    assert ember.random.initial_seed() == 5
    # the state survives a round trip through a list (as checkpoints store it)
    ember.random.set_rng_state(ember.tensor(state.tolist(), dtype=ember.uint8))
    assert np.array_equal(ember.rand(4).numpy(), a.numpy())


def test_set_rng_state_refuses_other_tensors():
    with pytest.raises(RuntimeError, match="uint8 tensor"):
        ember.random.set_rng_state(ember.zeros(3))


def test_fork_rng_restores_state_on_exit_and_on_error():
    ember.random.manual_seed(1)
    expected = ember.rand(3).numpy().copy()
    ember.random.manual_seed(1)
    with ember.random.fork_rng():
        ember.rand(10)
    assert np.array_equal(ember.rand(3).numpy(), expected)
    ember.random.manual_seed(1)
    with pytest.raises(ValueError):
        with ember.random.fork_rng(devices=[]):
            ember.rand(10)
            raise ValueError
    assert np.array_equal(ember.rand(3).numpy(), expected)
    ember.random.manual_seed(1)
    with ember.random.fork_rng(enabled=False):
        ember.rand(10)
    assert not np.array_equal(ember.rand(3).numpy(), expected)


def test_random_seed_returns_the_new_initial_seed():
    s = ember.random.seed()
    assert ember.random.initial_seed() == s == ember.initial_seed()


def test_jit_script_and_trace_return_the_eager_model():
    model = ember.nn.Linear(3, 2)
    assert ember.jit.script(model) is model
    assert ember.jit.trace(model, ember.randn(4, 3)) is model
    with pytest.raises(RuntimeError, match="expected input with last"):  # trace runs the example
        ember.jit.trace(model, (ember.randn(4, 5),))

    @ember.jit.ignore
    def f(x):
        return x + 1

    @ember.jit.ignore(drop=True)
    def g(x):
        return x

    assert f(1) == 2 and g(3) == 3
    assert ember.jit.unused(f) is f and ember.jit.export(f) is f
    assert ember.jit.is_scripting() is torch.jit.is_scripting() is False


def test_jit_save_and_load_name_the_alternative(tmp_path):
    with pytest.raises(RuntimeError, match=r"ember\.save"):
        ember.jit.save(ember.jit.script(ember.nn.Linear(1, 1)), tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match=r"ember\.load"):
        ember.jit.load(tmp_path / "m.pt")
