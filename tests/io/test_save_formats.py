"""ember.save writes torch.save's format and ember.load reads it, both ways: weights_only
loads by default, add_safe_globals, whole objects with weights_only=False, and mmap."""
import collections
import io
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import ember
from ember import serialization


class Config:
    """A user class: refused by weights_only loads until allowed."""

    def __init__(self, lr, layers):
        self.lr, self.layers = lr, layers

    def __eq__(self, other):
        return type(other) is Config and vars(other) == vars(self)


def _ember_file(obj, **kw):
    buf = io.BytesIO()
    ember.save(obj, buf, **kw)
    buf.seek(0)
    return buf


def _torch_file(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    buf.seek(0)
    return buf


def _same(e, t):
    """An ember value and a torch value are the same data (recursively)."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor) and str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        assert tuple(e.shape) == tuple(t.shape) and e.requires_grad == t.requires_grad
        assert isinstance(e, ember.nn.Parameter) == isinstance(t, torch.nn.Parameter)
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            _same(e[k], t[k])
    elif isinstance(t, (torch.dtype, torch.device)):
        assert repr(e).split(".")[-1] == repr(t).split(".")[-1]  # ember.float16 / torch.float16, device(...)
    elif isinstance(t, torch.Size):
        assert type(e) is ember.Size and tuple(e) == tuple(t)
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
    else:
        assert e == t and type(e).__name__ == type(t).__name__


def _checkpoint(lib):
    """The same training checkpoint built with ember or torch (identical values)."""
    lib.manual_seed(0)
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    base = lib.tensor(np.arange(10.0))
    sd = collections.OrderedDict(weight=lib.nn.Parameter(lib.tensor(w)), bias=lib.tensor([0.5, -1.0, 2.0]))
    sd._metadata = {"": {"version": 1}}
    return {"model": sd, "epoch": 3, "loss": 0.25, "name": "run", "none": None,
            "nested": [(1, {"a": lib.tensor([True, False])}), {2: lib.arange(3)}],
            "views": [base[2:], base[::3], base.reshape(2, 5).t()], "grad": lib.ones(2, requires_grad=True),
            "half": lib.tensor([1.5, -2.0]).half(), "int8": lib.tensor([1, -2], dtype=lib.int8),
            "empty": lib.zeros(0, 3), "scalar": lib.tensor(7), "dtype": lib.float16, "device": lib.device("cpu"),
            "size": lib.zeros(2, 3).shape, "set": {1, 2}}


@pytest.mark.parametrize("weights_only", [True, False])
def test_ember_save_loads_in_torch(weights_only):
    obj = _checkpoint(ember)
    out = torch.load(_ember_file(obj), weights_only=weights_only)
    _same(obj, out)
    assert out["model"]._metadata == obj["model"]._metadata
    views = out["views"]
    assert len({v.untyped_storage().data_ptr() for v in views}) == 1  # views of one tensor: one storage
    views[0][1] = 100.0  # base[3]
    assert views[1][1].item() == 100.0 and views[2][3, 0].item() == 100.0


def test_torch_save_loads_in_ember():
    out = ember.load(_torch_file(_checkpoint(torch)))
    _same(out, _checkpoint(torch))
    assert out["dtype"] is ember.float16 and out["device"] == ember.device("cpu")
    assert type(out["size"]) is ember.Size and out["size"] == (2, 3)
    out["views"][0][1] = 100.0  # views share their storage again, as torch.load makes them
    assert out["views"][1][1].item() == 100.0 and out["views"][2][3, 0].item() == 100.0
    again = torch.load(_ember_file(out["views"]), weights_only=True)  # and saving them again keeps one storage
    assert len({v.untyped_storage().data_ptr() for v in again}) == 1 and again[1][1].item() == 100.0


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_ember_round_trip(protocol):
    obj = {**_checkpoint(ember), "bytes": b"\x00\xffab"}
    out = ember.load(_ember_file(obj, pickle_protocol=protocol))
    # torch.load's weights_only reader takes protocol 2 only (not 4's frames), as ember.save's default
    ref = torch.load(_ember_file(obj, pickle_protocol=protocol), weights_only=protocol == 2)
    _same(out, ref)
    assert out["dtype"] is ember.float16 and type(out["size"]) is ember.Size


def test_numpy_arrays_follow_torch():
    obj = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "f": np.float32(1.5)}
    for load in (lambda f: torch.load(f, weights_only=True), ember.load):
        with pytest.raises(pickle.UnpicklingError, match="weights_only"):
            load(_ember_file(obj))
    for f in (_ember_file(obj), _torch_file(obj)):
        out = ember.load(f, weights_only=False)
        np.testing.assert_array_equal(out["a"], obj["a"])
        assert type(out["f"]) is np.float32 and out["f"] == 1.5
    assert torch.load(_ember_file(obj), weights_only=False)["a"].tolist() == obj["a"].tolist()
    # Allow-listing NumPy's array globals lets both load arrays with weights_only=True.
    allowed = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, type(obj["a"].dtype)]
    arrays = {"a": obj["a"]}
    with torch.serialization.safe_globals(allowed):
        ref = torch.load(_ember_file(arrays), weights_only=True)
    with serialization.safe_globals(allowed):
        out = ember.load(_torch_file(arrays))
    np.testing.assert_array_equal(out["a"], ref["a"])
    assert out["a"].dtype == ref["a"].dtype


def test_weights_only_refuses_objects_with_advice():
    cfg = Config(0.1, [1, 2])
    for f in (_ember_file({"cfg": cfg}), _torch_file({"cfg": cfg})):
        with pytest.raises(pickle.UnpicklingError) as exc:
            ember.load(f)
        msg = str(exc.value)
        assert "test_save_formats.Config" in msg and "weights_only=False" in msg
        assert "ember.serialization.add_safe_globals([test_save_formats.Config])" in msg
        assert "safe_globals(" in msg
    with pytest.raises(pickle.UnpicklingError):
        torch.load(_ember_file({"cfg": cfg}), weights_only=True)


def test_add_safe_globals_allows_a_user_class():
    cfg = Config(0.1, [1, ember.ones(2)])
    try:
        serialization.add_safe_globals([Config])
        assert Config in serialization.get_safe_globals()
        out = ember.load(_ember_file({"cfg": cfg}))
        assert out["cfg"].lr == 0.1 and out["cfg"].layers[1].tolist() == [1.0, 1.0]
        out = ember.load(_torch_file({"cfg": Config(0.2, [3])}))
        assert out["cfg"] == Config(0.2, [3])
    finally:
        serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        ember.load(_ember_file({"cfg": cfg}))
    with serialization.safe_globals([Config]):
        assert ember.load(_ember_file(Config(1, []))) == Config(1, [])
    assert serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        ember.load(_ember_file(Config(1, [])))


def test_whole_modules():
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.Linear(4, 2))
    x = ember.randn(5, 3)
    out = ember.load(_ember_file(model), weights_only=False)
    assert type(out) is ember.nn.Sequential and out is not model
    np.testing.assert_array_equal(out(x).detach().numpy(), model(x).detach().numpy())
    assert all(type(p) is ember.nn.Parameter and p.requires_grad for p in out.parameters())
    with pytest.raises(pickle.UnpicklingError, match="ember.nn.modules.container.Sequential"):
        ember.load(_ember_file(model))
    # A torch.nn module is PyTorch's own object: ember names it instead of guessing.
    with pytest.raises(pickle.UnpicklingError, match=r"torch.nn.modules.linear.Linear.*state_dict"):
        ember.load(_torch_file(torch.nn.Linear(2, 2)), weights_only=False)
    # With weights_only=False torch reads the ember module too (its tensors as torch's).
    back = torch.load(_ember_file(model), weights_only=False)
    assert type(back) is ember.nn.Sequential
    np.testing.assert_array_equal(back[0].weight.detach().numpy(), model[0].weight.detach().numpy())


def test_archive_layout():
    buf = _ember_file({"w": ember.ones(3), "v": ember.arange(4)})
    with zipfile.ZipFile(buf) as zf:
        names = zf.namelist()
        assert {"archive/data.pkl", "archive/byteorder", "archive/version", "archive/.format_version",
                "archive/data/0", "archive/data/1"} <= set(names)
        assert zf.read("archive/byteorder") == b"little"
        for name in ("archive/data/0", "archive/data/1"):
            info = zf.getinfo(name)
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert start % 64 == 0 and info.compress_type == zipfile.ZIP_STORED


def _peak_bytes(load):
    """What ``load()`` returns and the most memory NumPy and Python allocated meanwhile."""
    tracemalloc.start()
    try:
        out = load()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_mmap_loads_views_of_the_file(tmp_path):
    path = tmp_path / "big.pt"
    w = ember.arange(1 << 20, dtype=ember.float32)  # 4 MiB
    ember.save({"w": w, "half": w[: 1 << 19]}, path)
    out, copied = _peak_bytes(lambda: ember.load(path))
    assert copied > w.numel() * 4  # the measure sees a load's copy
    out, mapped = _peak_bytes(lambda: ember.load(path, mmap=True))
    assert mapped < 256 * 1024  # the tensors are the mapped file's bytes, not a copy
    arr = out["w"].numpy()
    assert not arr.flags.owndata and np.shares_memory(arr, out["half"].numpy())
    np.testing.assert_array_equal(arr, w.numpy())
    out["w"][0] = 5.0  # copy-on-write: the file keeps its bytes
    assert ember.load(path)["w"][0].item() == 0.0
    torch_path = tmp_path / "torch.pt"
    torch.save({"t": torch.arange(6.0)}, torch_path)
    with open(torch_path, "rb") as fh:
        assert ember.load(fh, mmap=True)["t"].tolist() == list(range(6))
    with pytest.raises(RuntimeError, match="mmap=True needs a file"):
        ember.load(_ember_file({"w": w}), mmap=True)


def test_allowed_classes_widen_nothing_else():
    """Allowing a class lets a file instantiate it and set its instances' state, nothing more:
    NEWOBJ on another class and BUILD on the allowed class itself stay refused."""
    config = b"ctest_save_formats\nConfig\n"
    odict = b"ccollections\nOrderedDict\n"
    with serialization.safe_globals([Config]):
        for payload, match in ((b"\x80\x02" + odict + b")\x81.", "NEWOBJ"),
                               (b"\x80\x02" + config + b"}X\x02\x00\x00\x00lrK\x01sb.", "BUILD on a type")):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr("archive/data.pkl", payload)
            buf.seek(0)
            with pytest.raises(pickle.UnpicklingError, match=match):
                ember.load(buf)
        assert ember.load(_ember_file(Config(2, []))) == Config(2, [])
