"""ember.save / ember.load: round trips, atomic writes, refusing bad or malicious files, and
ember's earlier (version 1) archives. Exchange with PyTorch is in tests/io/test_save_formats.py."""
import collections
import io
import json
import math
import os
import pathlib
import pickle
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization
from helpers import DTYPES
from v1_archives import write_v1

Point = collections.namedtuple("Point", ["x", "y"])


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **load_kwargs)


def assert_tensor_equal(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)])
def test_tensor_roundtrip(dtype, shape):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 50).astype(DTYPES[dtype][0].np)
    t = ember.tensor(arr)
    out = roundtrip(t)
    assert_tensor_equal(out, t)
    assert out.is_contiguous() and out.numpy().flags.writeable


def test_views_keep_their_layout():
    base = ember.arange(24, dtype=ember.float32).reshape(4, 6)
    for view in (base.T, base[1:3], base[:, ::2], base.T[1::2]):
        out = roundtrip(view)
        np.testing.assert_array_equal(out.numpy(), view.numpy())
        assert out.shape == view.shape and out.numpy().strides == view.numpy().strides
    out = roundtrip(base[:, ::2])
    out[0, 0] = 100
    assert base[0, 0].item() == 0  # loading gives fresh memory


def test_requires_grad_and_parameter():
    w = ember.nn.Parameter(ember.randn(3, 2))
    frozen = ember.nn.Parameter(ember.randn(2), requires_grad=False)
    x = ember.ones(2, requires_grad=True)
    y = x * 2  # a non-leaf saves its values and loads as a leaf
    out = roundtrip({"w": w, "frozen": frozen, "x": x, "y": y, "plain": ember.zeros(1)})
    assert type(out["w"]) is ember.nn.Parameter and out["w"].requires_grad
    assert type(out["frozen"]) is ember.nn.Parameter and not out["frozen"].requires_grad
    assert type(out["x"]) is ember.Tensor and out["x"].requires_grad
    assert out["y"].requires_grad and out["y"].is_leaf and out["y"].tolist() == [2.0, 2.0]
    assert not out["plain"].requires_grad
    assert_tensor_equal(out["w"], w)


def test_python_values_and_containers():
    obj = {
        "none": None, "bools": [True, False], "int": 3, "big": 2 ** 80, "neg": -7,
        "floats": (1.5, -0.0, 1e300), "special": [math.inf, -math.inf], "str": "héllo \u2603",
        "tuple": (1, (2, [3, {"deep": "x"}])), "empty": ([], (), {}), "int_keys": {0: "a", -1: "b"},
        "mixed_keys": {(1, 2): 1, 2.5: 2, None: 3, True: 4}, "bytes": b"\x00\xff", "sets": [{1, 2}, frozenset("a")],
        "dtype": ember.float16, "device": ember.device("cpu"), "size": ember.Size([2, 3]),
    }
    out = roundtrip(obj)
    assert out.keys() == obj.keys()
    for key in obj:
        assert out[key] == obj[key] and type(out[key]) is type(obj[key]), key
    assert out["tuple"][1][1][1] == {"deep": "x"}
    assert type(out["empty"][1]) is tuple
    assert math.copysign(1, out["floats"][1]) == -1
    assert out["dtype"] is ember.float16
    assert math.isnan(roundtrip(math.nan)) and roundtrip("s") == "s" and roundtrip(None) is None
    loop = [1]
    loop.append(loop)
    out = roundtrip(loop)
    assert out[1] is out  # pickle's memo keeps references, cycles included


def test_objects_need_weights_only_false():
    obj = {"point": Point(ember.ones(1), [1, 2]), "foo": Foo(3),
           "np": [np.float64(0.25), np.int32(7), np.bool_(True), np.float16(1.5), np.zeros((2, 2), np.int16)],
           "defaultdict": collections.defaultdict(list, a=[1])}
    for key, value in obj.items():
        with pytest.raises(pickle.UnpicklingError, match="weights_only=False"):
            roundtrip(value)
    out = roundtrip(obj, weights_only=False)
    assert type(out["point"]) is Point and out["point"].y == [1, 2] and out["point"].x.tolist() == [1.0]
    assert type(out["foo"]) is Foo and out["foo"].n == 3
    assert [type(v) for v in out["np"]] == [type(v) for v in obj["np"]] and out["np"][:4] == obj["np"][:4]
    np.testing.assert_array_equal(out["np"][4], obj["np"][4])
    assert out["defaultdict"] == obj["defaultdict"] and out["defaultdict"].default_factory is list


def test_ordered_dict_with_metadata():
    sd = collections.OrderedDict([("b.weight", ember.ones(2)), ("a.bias", ember.zeros(1))])
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("b", {"version": 2})])
    out = roundtrip(sd)
    assert type(out) is collections.OrderedDict and list(out) == ["b.weight", "a.bias"]
    assert out._metadata == sd._metadata


def test_module_and_optimizer_state_dicts():
    model = ember.nn.Linear(4, 3)
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    model(ember.randn(2, 4)).sum().backward()
    opt.step()
    ckpt = {"epoch": 7, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.125}
    out = roundtrip(ckpt)
    fresh = ember.nn.Linear(4, 3)
    fresh.load_state_dict(out["model"])
    for (name, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    opt2 = ember.optim.Adam(fresh.parameters(), lr=0.5)
    opt2.load_state_dict(out["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.01 and out["epoch"] == 7
    state = out["optimizer"]["state"]
    assert sorted(state) == sorted(ckpt["optimizer"]["state"])  # int keys survive
    for k, s in state.items():
        for name, v in s.items():
            ref = ckpt["optimizer"]["state"][k][name]
            if isinstance(ref, ember.Tensor):
                np.testing.assert_array_equal(v.numpy(), ref.numpy())
            else:
                assert v == ref


def test_shared_tensors_stay_shared():
    t = ember.arange(4, dtype=ember.float32)
    alias = t.detach()  # another tensor over the same array
    out = roundtrip({"a": t, "b": t, "c": alias, "d": [t]})
    assert out["a"] is out["b"] is out["d"][0]
    assert out["c"] is not out["a"]
    out["c"][0] = 9
    assert out["a"][0].item() == 9
    buf = io.BytesIO()
    ember.save({"a": t, "b": t, "c": alias}, buf)
    with zipfile.ZipFile(buf) as zf:
        assert len([n for n in zf.namelist() if n.startswith("archive/data/")]) == 1


@pytest.mark.parametrize("kind", ["str", "pathlib"])
def test_paths(tmp_path, kind):
    path = tmp_path / "ckpt.pt"
    f = str(path) if kind == "str" else path
    ember.save({"w": ember.ones(2, 2)}, f)
    assert ember.load(f)["w"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    ember.save([1, 2], f)  # overwrite
    assert ember.load(f) == [1, 2]
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]  # no temporary files left


def test_file_objects(tmp_path):
    path = tmp_path / "x.pt"
    with open(path, "wb") as fh:
        ember.save(ember.arange(3), fh)
    with open(path, "rb") as fh:
        assert ember.load(fh).tolist() == [0, 1, 2]

    class Stream(io.RawIOBase):  # not seekable, as a socket or a pipe
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    assert ember.load(Stream(path.read_bytes())).tolist() == [0, 1, 2]


def test_new_file_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "p.pt"
    ember.save(1, path)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


def test_same_object_gives_same_bytes():
    obj = {"w": ember.ones(3), "n": 1}
    a, b = io.BytesIO(), io.BytesIO()
    ember.save(obj, a)
    ember.save(obj, b)
    assert a.getvalue() == b.getvalue()


class Foo:
    def __init__(self, n):
        self.n = n


def test_unpicklable_objects_leave_the_old_file(tmp_path):
    path = tmp_path / "m.pt"
    ember.save({"old": 1}, path)
    with pytest.raises(pickle.PicklingError, match="Can't pickle"):
        ember.save({"model": {"f": _module_lambda}}, path)
    with pytest.raises(TypeError, match="cannot pickle"):
        ember.save({"gen": (x for x in [])}, path)
    assert ember.load(path) == {"old": 1}  # nothing was written
    assert os.listdir(tmp_path) == ["m.pt"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="f must be a path or a binary file object"):
        ember.save(1, 42)
    with pytest.raises(TypeError, match="f must be a path or a binary file object"):
        ember.load(42)
    with pytest.raises(TypeError, match="pickle_module must be the pickle module"):
        ember.save(1, io.BytesIO(), pickle_module=json)
    buf = io.BytesIO()
    ember.save(1, buf, pickle_module=pickle, _use_new_zipfile_serialization=True)
    buf.seek(0)
    assert ember.load(buf, pickle_module=pickle) == 1


_module_lambda = lambda: 0  # noqa: E731  (not importable by name, so not picklable)


class _FailingFile:
    """Wraps the temporary file: fails after ``limit`` bytes, as a full disk would."""

    def __init__(self, fh, limit, error):
        self.fh, self.limit, self.error, self.written = fh, limit, error, 0

    def write(self, b):
        n = memoryview(b).nbytes
        if self.written + n > self.limit:
            self.fh.write(bytes(memoryview(b).cast("B")[:self.limit - self.written]))
            raise self.error
        self.written += n
        return self.fh.write(b)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_atomic_write(tmp_path, monkeypatch, error):
    path = tmp_path / "model.pt"
    ember.save({"version": "old", "w": ember.zeros(100)}, path)
    before = path.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(serialization.os, "fdopen", lambda fd, mode: _FailingFile(real_fdopen(fd, mode), 300, error))
    with pytest.raises(type(error)):
        ember.save({"version": "new", "w": ember.ones(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ember.load(path)["version"] == "old"
    assert os.listdir(tmp_path) == ["model.pt"]


def test_atomic_write_fsync_failure(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    ember.save("old", path)

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(serialization.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        ember.save("new", path)
    monkeypatch.undo()
    assert ember.load(path) == "old" and os.listdir(tmp_path) == ["model.pt"]


def _saved(tmp_path, obj=None, name="ok.pt"):
    """A version-1 archive (ember's earlier format, still read)."""
    return write_v1(tmp_path / name, {"w": ember.arange(6, dtype=ember.float32).reshape(2, 3), "n": 1}
                    if obj is None else obj)


def _rewrite(path, edit_manifest=None, replace=None):
    """Rewrite an archive, editing its manifest dict and/or replacing entries' bytes."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    if edit_manifest is not None:
        manifest = json.loads(entries["ember/manifest.json"])
        edit_manifest(manifest)
        entries["ember/manifest.json"] = json.dumps(manifest).encode()
    entries.update(replace or {})
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)


def _load_error(path, match):
    with pytest.raises(RuntimeError, match=match) as exc:
        ember.load(path)
    assert "ember.load: " in str(exc.value) and path.name in str(exc.value)


def test_empty_and_foreign_files(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    _load_error(empty, "is empty")
    text = tmp_path / "notes.pt"
    text.write_text("hello world")
    _load_error(text, r"not an ember checkpoint \(not a zip archive\)")
    plain_zip = tmp_path / "other.pt"
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    _load_error(plain_zip, r"not an ember checkpoint \(no manifest\)")


@pytest.mark.parametrize("version", ["v1", "current"])
def test_truncated_file(tmp_path, version):
    path = _saved(tmp_path)
    if version == "current":
        ember.save({"w": ember.arange(6.0), "n": 1}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 30):
        path.write_bytes(data[:cut])
        _load_error(path, "truncated")


def test_corrupted_blob(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("ember/data/0")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 3] ^= 0xFF  # one bit-flipped byte inside the tensor data
    path.write_bytes(bytes(data))
    _load_error(path, "corrupted")


def test_blob_of_wrong_size(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, replace={"ember/data/0": b"\0" * 8})
    _load_error(path, r"holds 8 bytes, expected 24 for a float32 tensor of shape \[2, 3\]")
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist() if n != "ember/data/0"}
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    _load_error(path, "ember/data/0 is missing")


@pytest.mark.parametrize("edit,match", [
    (lambda m: m.update(format="other"), "manifest is not ember's"),
    (lambda m: m.update(version=99), "format version 99"),
    (lambda m: m.update(root={"tensor": 5}), "tensor index 5 out of range"),
    (lambda m: m.update(root={"weird": 1}), "unknown value kind"),
    (lambda m: m.update(root=[1, 2]), "unexpected value"),
    (lambda m: m["blobs"][0].update(dtype="float128"), "bad blob record"),
    (lambda m: m["blobs"][0].update(shape=[-2, -3]), "bad shape"),
    (lambda m: m["blobs"][0].update(shape=[10 ** 9, 10 ** 9]), "holds 24 bytes, expected 4000000000000000000"),
    (lambda m: m["tensors"][0].update(blob=3), "blob index 3 out of range"),
    (lambda m: m.update(root={"dict": [[{"list": []}, 1]]}), "unhashable dict key"),
    (lambda m: m.update(root={"namedtuple": "1bad", "fields": ["a"], "values": [1]}), "bad namedtuple"),
    (lambda m: m.update(root={"device": "tpu"}), "bad device"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_malformed_manifest(tmp_path, edit, match):
    path = _saved(tmp_path)
    _rewrite(path, edit_manifest=edit)
    _load_error(path, match)


@pytest.mark.parametrize("manifest", [b"{not json", b'{"format": "ember", "version": 1, "root": '
                                      + b'{"list": [' * 5000 + b"]}" * 5000 + b"}"], ids=["syntax", "deep"])
def test_manifest_not_json(tmp_path, manifest):
    path = _saved(tmp_path)
    _rewrite(path, replace={"ember/manifest.json": manifest})
    _load_error(path, "malformed manifest")


class _Exploit:
    """Unpickling this creates a marker file: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_payloads_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(str(marker)))
    pickled = tmp_path / "evil.pt"
    pickled.write_bytes(payload)
    _load_error(pickled, "looks like a bare pickle file")
    torch_like = tmp_path / "torch_like.pt"
    with zipfile.ZipFile(torch_like, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
    _load_error(torch_like, "refusing to load the global pathlib")
    # A well-formed ember archive whose tensor bytes are a pickle: they load as plain bytes.
    inside = _saved(tmp_path, ember.zeros(len(payload), dtype=ember.uint8), "inside.pt")
    _rewrite(inside, replace={"ember/data/0": payload})
    out = ember.load(inside)
    assert bytes(out.numpy()) == payload
    # An extra pickle entry beside the manifest is ignored.
    extra = _saved(tmp_path, name="extra.pt")
    _rewrite(extra, replace={"data.pkl": payload})
    assert ember.load(extra)["n"] == 1
    assert not marker.exists()


def test_torch_checkpoints_load(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert ember.load(legacy)["w"].tolist() == [1.0, 1.0]


def _cuda_file(tmp_path):
    return write_v1(tmp_path / "cuda.pt", {"w": ember.ones(2), "c": ember.zeros(1)},
                    lambda m: m["tensors"][0].update(device="cuda:0"))


def test_map_location(tmp_path):
    path = _saved(tmp_path)
    for ml in ("cpu", ember.device("cpu"), {"cpu": "cpu"}, {"cuda:1": "cpu"}):
        out = ember.load(path, map_location=ml)
        assert out["w"].device == ember.device("cpu") and out["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    calls = []

    def fn(tensor, location):
        calls.append((tuple(tensor.shape), location))
        return tensor * 2

    assert ember.load(path, map_location=fn)["w"].tolist() == [[0, 2, 4], [6, 8, 10]]
    assert calls == [((2, 3), "cpu")]
    assert ember.load(path, map_location=lambda t, loc: None)["w"].sum().item() == 15
    assert ember.load(path, weights_only=False)["n"] == 1


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the message shown without CUDA")
def test_cuda_checkpoint_without_cuda(tmp_path):
    path = _cuda_file(tmp_path)
    _load_error(path, "saved on cuda:0, but CUDA is not available. Pass map_location='cpu'")
    out = ember.load(path, map_location="cpu")
    assert out["w"].tolist() == [1.0, 1.0] and out["w"].device == ember.device("cpu")
    out = ember.load(path, map_location={"cuda:0": "cpu"})
    assert out["w"].device == ember.device("cpu")
    seen = []
    out = ember.load(path, map_location=lambda t, loc: seen.append(loc) or t)
    assert sorted(seen) == ["cpu", "cuda:0"] and out["w"].device == ember.device("cpu")
