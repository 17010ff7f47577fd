"""SVHN on generated .mat files: layout, the 10 -> 0 label, errors and downloads."""
import hashlib
import os

import numpy as np
import pytest
from scipy.io import savemat

from ember.vision import datasets
from helpers import LocalServer


def write_mat(path, n, seed):
    """An SVHN-format file: X (32, 32, 3, N) uint8 and y (N, 1) with the digit 0 labelled 10."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
    y[0, 0] = 10
    savemat(path, {"X": x, "y": y})
    return x, y, hashlib.md5(open(path, "rb").read()).hexdigest()


@pytest.fixture
def svhn_root(tmp_path, monkeypatch):
    arrays, split_list = {}, {}
    for k, (split, (filename, _)) in enumerate(datasets.SVHN.split_list.items()):
        x, y, md5 = write_mat(tmp_path / filename, 4 + k, k)
        arrays[split] = (x, y)
        split_list[split] = (filename, md5)
    monkeypatch.setattr(datasets.SVHN, "split_list", split_list)
    return tmp_path, arrays


@pytest.mark.parametrize("split", ["train", "test", "extra"])
def test_loads_each_split(svhn_root, split):
    root, arrays = svhn_root
    x, y = arrays[split]
    ds = datasets.SVHN(root, split=split)
    assert len(ds) == x.shape[3] and ds.data.shape == (x.shape[3], 3, 32, 32) and ds.data.dtype == np.uint8
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == [v % 10 for v in y[:, 0].tolist()]
    assert ds.labels[0] == 0
    image, label = ds[1]
    assert image.mode == "RGB" and image.size == (32, 32) and label == y[1, 0] % 10 and isinstance(label, int)
    np.testing.assert_array_equal(np.asarray(image), x[:, :, :, 1])
    assert ds.data[2, 1, 3, 5] == x[3, 5, 1, 2]  # (N, C, H, W) from (H, W, C, N)
    assert repr(ds) == (f"Dataset SVHN\n    Number of datapoints: {len(ds)}\n    Root location: {root}\n"
                        f"    Split: {split}")


def test_transforms(svhn_root):
    ds = datasets.SVHN(svhn_root[0], split="test", transform=lambda im: im.mode, target_transform=lambda t: -t)
    assert ds[2] == ("RGB", -int(ds.labels[2]))


def test_errors(svhn_root):
    root, _ = svhn_root
    with pytest.raises(ValueError, match=r"Unknown value 'valid' for argument split. "
                                         r"Valid values are \{'train', 'test', 'extra'\}"):
        datasets.SVHN(root, split="valid")
    os.remove(root / "test_32x32.mat")
    with pytest.raises(RuntimeError) as info:
        datasets.SVHN(root, split="test")
    assert str(info.value) == (f"Dataset not found at {root} (missing test_32x32.mat). "
                               f"Use download=True, or put the files there.")
    path = root / "train_32x32.mat"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(RuntimeError) as info:
        datasets.SVHN(root)
    expected = datasets.SVHN.split_list["train"][1]
    assert str(path) in str(info.value) and f"expected md5 {expected}" in str(info.value)
    assert hashlib.md5(path.read_bytes()).hexdigest() in str(info.value)


def test_not_an_svhn_file(tmp_path, monkeypatch):
    savemat(tmp_path / "test_32x32.mat", {"images": np.zeros((2, 2))})
    md5 = hashlib.md5((tmp_path / "test_32x32.mat").read_bytes()).hexdigest()
    monkeypatch.setattr(datasets.SVHN, "split_list", {"test": ("test_32x32.mat", md5)})
    with pytest.raises(RuntimeError, match="is not an SVHN file"):
        datasets.SVHN(tmp_path, split="test")


def test_download_then_cache(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    x, _, md5 = write_mat(site / "test_32x32.mat", 3, 7)
    monkeypatch.setattr(datasets.SVHN, "split_list", {**datasets.SVHN.split_list, "test": ("test_32x32.mat", md5)})
    with LocalServer(site) as server:
        monkeypatch.setattr(datasets.SVHN, "mirrors", [f"{server.url}/missing", server.url])
        ds = datasets.SVHN(tmp_path / "root", split="test", download=True)
        datasets.SVHN(tmp_path / "root", split="test", download=True)
        assert server.requests == ["/missing/test_32x32.mat", "/test_32x32.mat"]
    np.testing.assert_array_equal(np.asarray(ds[0][0]), x[..., 0])


def test_publisher_constants():
    assert datasets.SVHN.mirrors == ["http://ufldl.stanford.edu/housenumbers/"]
    assert datasets.SVHN.split_list["train"] == ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373")
