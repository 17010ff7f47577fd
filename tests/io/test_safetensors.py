"""safetensors round trips, tied weights and interop with safetensors.torch."""
import numpy as np
import pytest
import torch

import ember
import ember.io as eio
from helpers import assert_close

pytest.importorskip("safetensors")
import safetensors.torch as st_torch  # noqa: E402

DTYPES = [ember.float32, ember.float64, ember.float16, ember.int64, ember.int32, ember.int8,
          ember.uint8, ember.bool]


def _sample(dtype, shape):
    rng = np.random.default_rng(0)
    arr = rng.normal(size=shape) * 10
    return ember.tensor(arr > 0 if dtype == ember.bool else arr).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (), (0, 4)])
def test_round_trip(tmp_path, dtype, shape):
    t = _sample(dtype, shape)
    path = tmp_path / "w.safetensors"
    eio.save_safetensors({"t": t}, path)
    out = eio.load_safetensors(path)
    assert list(out) == ["t"]
    assert out["t"].dtype == dtype and out["t"].shape == t.shape
    np.testing.assert_array_equal(out["t"].numpy(), t.numpy())


def test_non_contiguous_and_metadata(tmp_path):
    t = ember.arange(12.0).reshape(3, 4).t()
    path = tmp_path / "w.safetensors"
    eio.save_file({"t": t}, path, metadata={"epoch": "3"})
    np.testing.assert_array_equal(eio.load_file(path)["t"].numpy(), t.numpy())
    from safetensors import safe_open
    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"epoch": "3"}


def test_tied_weights_are_stored_once_and_restored(tmp_path):
    emb = ember.nn.Embedding(5, 3)
    head = ember.nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    model = ember.nn.Sequential(emb, head)
    path = tmp_path / "tied.safetensors"
    eio.save_safetensors(model.state_dict(), path)
    with st_torch.safe_open(str(path), framework="pt") as f:
        assert list(f.keys()) == ["0.weight"]
    out = eio.load_safetensors(path)
    assert set(out) == {"0.weight", "1.weight"}
    assert out["0.weight"] is out["1.weight"]
    np.testing.assert_array_equal(out["1.weight"].numpy(), emb.weight.detach().numpy())
    fresh = ember.nn.Sequential(ember.nn.Embedding(5, 3), ember.nn.Linear(3, 5, bias=False))
    fresh.load_state_dict(out)
    np.testing.assert_array_equal(fresh[1].weight.detach().numpy(), emb.weight.detach().numpy())


def test_partial_views_are_stored_as_copies(tmp_path):
    base = ember.arange(6.0)
    path = tmp_path / "views.safetensors"
    eio.save_safetensors({"a": base[:4], "b": base[2:]}, path)
    out = eio.load_safetensors(path)
    np.testing.assert_array_equal(out["a"].numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(out["b"].numpy(), [2, 3, 4, 5])


def test_file_from_safetensors_torch_loads(tmp_path):
    sd = {"w": torch.randn(3, 2), "i": torch.arange(4), "m": torch.tensor([True, False]),
          "h": torch.randn(2, dtype=torch.float16)}
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(sd, str(path))
    out = ember.io.load_file(path)
    for k, v in sd.items():
        assert_close(out[k], v)


def test_ember_file_loads_in_safetensors_torch(tmp_path):
    sd = {"w": ember.randn(3, 2), "i": ember.arange(4), "m": ember.tensor([True, False])}
    path = tmp_path / "ember.safetensors"
    eio.save_file(sd, path)
    out = st_torch.load_file(str(path))
    for k, v in sd.items():
        assert_close(v, out[k])


def test_errors(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match="not a Tensor"):
        eio.save_safetensors({"x": np.zeros(2)}, path)
    with pytest.raises(ValueError, match="reserved"):
        eio.save_safetensors({"x": ember.zeros(2)}, path, metadata={"__ember_aliases__": "{}"})
    with pytest.raises(TypeError, match="str to str"):
        eio.save_safetensors({"x": ember.zeros(2)}, path, metadata={"a": 1})
    assert not path.exists()
