"""CIFAR-10/100 on generated pickle batches, the restricted unpickler, errors and downloads."""
import hashlib
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from ember.vision import datasets
from ember.vision.datasets.cifar import restricted_load
from helpers import LocalServer, unused_local_url

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING opcodes), as the publisher's Python 2 did."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def to_py2(obj):
    if isinstance(obj, str):
        return obj.encode("latin1")
    if isinstance(obj, dict):
        return {to_py2(k): to_py2(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_py2(v) for v in obj]
    return obj


def py2_pickle(obj):
    """``obj`` pickled as CIFAR's files are: protocol 2 from Python 2 and NumPy 1 (whose
    array module is numpy.core.multiarray), with str written as Python 2 str."""
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(to_py2(obj))
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def batch_bytes(n, seed, label_key="labels"):
    """A batch in the publisher's format: a dict with 'data' (N x 3072 uint8, the red, green and
    blue 32x32 planes of each image in turn) and the labels."""
    rng = np.random.default_rng(seed)
    entry = {"batch_label": f"batch {seed}", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             label_key: rng.integers(0, 10, n).tolist(), "filenames": [f"img_{i}.png" for i in range(n)]}
    return py2_pickle(entry), entry


def write_cifar(folder, cls):
    """Generated batches for ``cls`` in ``folder``; returns (name -> entry, class lists with md5s)."""
    os.makedirs(folder, exist_ok=True)
    label_key = "labels" if cls is datasets.CIFAR10 else "fine_labels"
    entries, md5s = {}, {}
    for k, (name, _) in enumerate(cls.train_list + cls.test_list):
        data, entries[name] = batch_bytes(3 + k, k, label_key)
        (folder / name).write_bytes(data)
        md5s[name] = hashlib.md5(data).hexdigest()
    meta = py2_pickle({cls.meta["key"]: CIFAR10_NAMES, "num_vis": 3072})
    (folder / cls.meta["filename"]).write_bytes(meta)
    patched = {"train_list": [[n, md5s[n]] for n, _ in cls.train_list],
               "test_list": [[n, md5s[n]] for n, _ in cls.test_list],
               "meta": {**cls.meta, "md5": hashlib.md5(meta).hexdigest()}}
    return entries, patched


@pytest.fixture(params=[datasets.CIFAR10, datasets.CIFAR100], ids=["CIFAR10", "CIFAR100"])
def cifar(request, tmp_path, monkeypatch):
    cls = request.param
    entries, patched = write_cifar(tmp_path / cls.base_folder, cls)
    for name, value in patched.items():
        monkeypatch.setattr(cls, name, value)
    return cls, tmp_path, entries


def test_loads_train_and_test(cifar):
    cls, root, entries = cifar
    label_key = "labels" if cls is datasets.CIFAR10 else "fine_labels"
    for train, files in ((True, cls.train_list), (False, cls.test_list)):
        ds = cls(root, train=train)
        raw = np.concatenate([entries[name]["data"] for name, _ in files])
        labels = sum((entries[name][label_key] for name, _ in files), [])
        assert len(ds) == len(raw) and ds.data.shape == (len(raw), 32, 32, 3) and ds.data.dtype == np.uint8
        assert ds.targets == labels
        # Pixel (y, x) of channel c is element c * 1024 + y * 32 + x of the image's row.
        y, x, c = 5, 30, 2
        assert ds.data[1, y, x, c] == raw[1, c * 1024 + y * 32 + x]
        image, label = ds[-1]
        assert image.mode == "RGB" and image.size == (32, 32) and label == labels[-1]
        np.testing.assert_array_equal(np.asarray(image), raw[-1].reshape(3, 32, 32).transpose(1, 2, 0))
        assert ds.classes == CIFAR10_NAMES and ds.class_to_idx["truck"] == 9
        split = "Train" if train else "Test"
        assert repr(ds) == (f"Dataset {cls.__name__}\n    Number of datapoints: {len(raw)}\n"
                            f"    Root location: {root}\n    Split: {split}")


def test_transforms(cifar):
    cls, root, _ = cifar
    ds = cls(root, train=False, transform=lambda im: im.size, target_transform=str)
    assert ds[0] == ((32, 32), str(ds.targets[0]))


def test_missing_files_error(cifar):
    cls, root, _ = cifar
    first = cls.train_list[0][0]
    os.remove(root / cls.base_folder / first)
    with pytest.raises(RuntimeError) as info:
        cls(root)
    assert str(info.value) == (f"Dataset not found at {root / cls.base_folder} (missing {first}). "
                               f"Use download=True, or put the files there.")
    assert len(cls(root, train=False)) > 0


def test_checksum_mismatch_error(cifar):
    cls, root, _ = cifar
    name, md5 = cls.test_list[0]
    path = root / cls.base_folder / name
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(RuntimeError) as info:
        cls(root, train=False)
    message = str(info.value)
    assert str(path) in message and f"expected md5 {md5}" in message
    assert f"got {hashlib.md5(path.read_bytes()).hexdigest()}" in message


def test_download_unpacks_archive_then_caches(tmp_path, monkeypatch):
    cls = datasets.CIFAR10
    build = tmp_path / "build"
    entries, patched = write_cifar(build / cls.base_folder, cls)
    site = tmp_path / "site"
    site.mkdir()
    with tarfile.open(site / cls.filename, "w:gz") as tar:
        tar.add(build / cls.base_folder, arcname=cls.base_folder)
    for name, value in patched.items():
        monkeypatch.setattr(cls, name, value)
    monkeypatch.setattr(cls, "tgz_md5", hashlib.md5((site / cls.filename).read_bytes()).hexdigest())
    root = tmp_path / "root"
    with LocalServer(site) as server:
        monkeypatch.setattr(cls, "mirrors", [unused_local_url(), f"{server.url}/missing/", server.url + "/"])
        ds = cls(root, download=True)
        assert server.requests == [f"/missing/{cls.filename}", f"/{cls.filename}"]
        np.testing.assert_array_equal(ds.data[0].transpose(2, 0, 1).reshape(-1), entries["data_batch_1"]["data"][0])
        assert len(cls(root, train=False, download=True)) == 8
        assert len(server.requests) == 2
    assert (root / cls.filename).exists()


def test_download_verifies_the_archive(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / datasets.CIFAR100.filename).write_bytes(b"not the archive")
    with LocalServer(site) as server:
        monkeypatch.setattr(datasets.CIFAR100, "mirrors", [server.url])
        with pytest.raises(RuntimeError, match=r"Checksum mismatch .*expected md5 eb9058c3a382ffc7106e4002c42a8d85"):
            datasets.CIFAR100(tmp_path / "root", download=True)
    assert os.listdir(tmp_path / "root") == []


class Exploit:
    """Pickles to a call of os.mkdir: loading it with pickle.load would create ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_restricted_unpickler_refuses_code(tmp_path, protocol):
    target = tmp_path / "pwned"
    payload = pickle.dumps({"data": Exploit(target)}, protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load the global posix.mkdir"):
        restricted_load(io.BytesIO(payload))
    assert not target.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1+1'\ntR.",
    b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.",
    b"cnumpy\nload\n(S'x'\ntR.",
], ids=["eval", "codec", "numpy.load"])
def test_restricted_unpickler_refuses_other_globals(payload):
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        restricted_load(io.BytesIO(payload))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_loads_data(protocol):
    value = {"a": [1, 2.5, "s", b"\x00\xff", None, True, (1, 2)], "x": np.arange(6, dtype=np.int16).reshape(2, 3),
             "y": np.float64(1.5), "z": np.zeros((0, 2), np.float32)}
    out = restricted_load(io.BytesIO(pickle.dumps(value, protocol=protocol)))
    assert out["a"] == value["a"] and out["y"] == 1.5
    np.testing.assert_array_equal(out["x"], value["x"])
    assert out["x"].dtype == np.int16 and out["z"].shape == (0, 2)


def test_publisher_format_pickle_is_python2():
    payload, _ = batch_bytes(2, 0)
    assert b"numpy.core.multiarray\n_reconstruct" in payload and pickle.SHORT_BINSTRING + b"\x04data" in payload


def test_malicious_batch_is_refused(cifar, tmp_path, monkeypatch):
    cls, root, _ = cifar
    name = cls.test_list[0][0]
    payload = pickle.dumps({"data": Exploit(tmp_path / "pwned"), "labels": []}, protocol=2)
    (root / cls.base_folder / name).write_bytes(payload)
    monkeypatch.setattr(cls, "test_list", [[name, hashlib.md5(payload).hexdigest()]])
    with pytest.raises(pickle.UnpicklingError):
        cls(root, train=False)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("entry", [[1, 2], {"labels": [1]}, {"data": np.zeros((2, 3072), np.uint8), "labels": [1]},
                                   {"data": np.zeros((1, 100), np.uint8), "labels": [1]}])
def test_malformed_batch(cifar, monkeypatch, entry):
    cls, root, _ = cifar
    name = cls.test_list[0][0]
    payload = pickle.dumps(entry, protocol=2)
    (root / cls.base_folder / name).write_bytes(payload)
    monkeypatch.setattr(cls, "test_list", [[name, hashlib.md5(payload).hexdigest()]])
    with pytest.raises(RuntimeError, match="is not a CIFAR batch"):
        cls(root, train=False)


def test_publisher_constants():
    assert datasets.CIFAR10.mirrors == ["https://www.cs.toronto.edu/~kriz/"]
    assert datasets.CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"
    assert [n for n, _ in datasets.CIFAR10.train_list] == [f"data_batch_{i}" for i in range(1, 6)]
    assert datasets.CIFAR100.base_folder == "cifar-100-python" and datasets.CIFAR100.meta["key"] == "fine_label_names"
