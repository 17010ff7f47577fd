"""ember.hub.load_state_dict_from_url on .safetensors files: read as safetensors (never through
pickle), hash-checked like any checkpoint, tied tensors kept tied, map_location honoured."""
import hashlib
import pickle

import numpy as np
import pytest

import ember
import ember.hub as hub


def _tied_file(folder):
    """A safetensors file named after its SHA-256 prefix holding a Linear's weight twice (tied)."""
    linear = ember.nn.Linear(4, 3)
    state = {"a.weight": linear.weight, "b.weight": linear.weight, "a.bias": linear.bias}
    tmp = folder / "tmp.safetensors"
    ember.io.save_safetensors(state, tmp)
    path = folder / f"tied-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.safetensors"
    tmp.rename(path)
    return path, state


def test_reads_safetensors_without_pickle_and_keeps_ties(tmp_path, monkeypatch):
    path, state = _tied_file(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("a safetensors file went through pickle")

    for name in ("Unpickler", "load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(hub, "_load", refuse)
    out = hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "cache"), check_hash=True,
                                       progress=False)
    assert set(out) == set(state) and out["a.weight"] is out["b.weight"]
    for k, v in state.items():
        np.testing.assert_array_equal(out[k].numpy(), v.detach().numpy())
    assert (tmp_path / "cache" / path.name).exists()


def test_hash_mismatch_refused(tmp_path):
    path, _ = _tied_file(tmp_path)
    wrong = path.with_name("tied-00000000.safetensors")
    path.rename(wrong)
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "00000000"'):
        hub.load_state_dict_from_url(wrong.as_uri(), model_dir=str(tmp_path / "cache"), check_hash=True,
                                     progress=False)
    assert not (tmp_path / "cache" / wrong.name).exists()


@pytest.mark.parametrize("map_location", [None, "cpu", ember.device("cpu"), {"cpu": "cpu"}])
def test_map_location_as_a_device(tmp_path, map_location):
    path, _ = _tied_file(tmp_path)
    out = hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "cache"), map_location=map_location,
                                       progress=False)
    assert all(v.device == ember.device("cpu") for v in out.values()) and out["a.weight"] is out["b.weight"]


def test_map_location_callable_sees_cpu_and_ties_survive(tmp_path):
    path, state = _tied_file(tmp_path)
    seen = []

    def double(t, location):
        seen.append(location)
        return t * 2

    out = hub.load_state_dict_from_url(path.as_uri(), model_dir=str(tmp_path / "cache"), map_location=double,
                                       progress=False)
    assert seen == ["cpu", "cpu"]  # the tied tensor is stored and placed once
    assert out["a.weight"] is out["b.weight"]
    np.testing.assert_array_equal(out["a.bias"].numpy(), 2 * state["a.bias"].detach().numpy())
