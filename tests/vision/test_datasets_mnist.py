"""MNIST family: the real IDX files (when ../shared/data is present), small generated files,
the documented errors, and downloads from a local HTTP server."""
import gzip
import hashlib
import os
import zipfile

import numpy as np
import pytest

import ember
from ember.vision import datasets
from ember.vision.datasets.mnist import read_image_file, read_label_file, read_sn3_pascalvincent_tensor
from helpers import LocalServer, unused_local_url

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """``array`` in IDX format, written independently of the reader under test."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def numpy_idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def small_split(seed, n):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_mnist(raw, compressed=True, n_train=12, n_test=5):
    """Generated MNIST-format files in ``raw``; returns {published name: (bytes written, array)}."""
    os.makedirs(raw, exist_ok=True)
    files = {}
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = small_split(seed, n)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(idx_bytes(array)) if compressed else idx_bytes(array)
            with open(os.path.join(raw, name if compressed else name[:-3]), "wb") as f:
                f.write(data)
            files[name] = (data, array)
    return files


def resources_of(files):
    return [(name, hashlib.md5(data).hexdigest()) for name, (data, _) in files.items()]


# ---- the real files -------------------------------------------------------------------------

def shared_root(tmp_path_factory, folder, cls_name):
    source = os.path.join(SHARED, folder)
    if not os.path.isdir(source):
        pytest.skip(f"{source} is not present")
    root = tmp_path_factory.mktemp(folder)
    os.makedirs(root / cls_name / "raw")
    for name in os.listdir(source):
        os.symlink(os.path.join(os.path.abspath(source), name), root / cls_name / "raw" / name)
    return root


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory):
    root = shared_root(tmp_path_factory, "mnist", "MNIST")
    return root, datasets.MNIST(root), datasets.MNIST(str(root), train=False)


def test_real_mnist_train(real_mnist):
    root, train, _ = real_mnist
    assert len(train) == 60000
    assert tuple(train.data.shape) == (60000, 28, 28) and train.data.dtype == ember.uint8
    assert tuple(train.targets.shape) == (60000,) and train.targets.dtype == ember.int64
    assert np.bincount(train.targets.numpy()).tolist() == MNIST_TRAIN_COUNTS
    raw = root / "MNIST" / "raw"
    pixels = numpy_idx(raw / "train-images-idx3-ubyte.gz", 16)
    labels = numpy_idx(raw / "train-labels-idx1-ubyte.gz", 8)
    np.testing.assert_array_equal(train.data.numpy()[[0, 1, 59999]],
                                  pixels.reshape(60000, 28, 28)[[0, 1, 59999]])
    np.testing.assert_array_equal(train.targets.numpy(), labels)
    image, label = train[0]
    assert image.mode == "L" and image.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(image), pixels[:784].reshape(28, 28))
    assert isinstance(label, int) and label == labels[0] == 5
    assert train.classes[3] == "3 - three" and train.class_to_idx["9 - nine"] == 9
    assert repr(train) == (f"Dataset MNIST\n    Number of datapoints: 60000\n    Root location: {root}\n"
                           f"    Split: Train")


def test_real_mnist_test_split(real_mnist):
    root, _, test = real_mnist
    assert len(test) == 10000 and tuple(test.data.shape) == (10000, 28, 28)
    labels = numpy_idx(root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz", 8)
    np.testing.assert_array_equal(test.targets.numpy(), labels)
    assert set(test.targets.tolist()) == set(range(10))
    np.testing.assert_array_equal(np.asarray(test[-1][0]), test.data.numpy()[-1])


def test_real_fashion_mnist(tmp_path_factory):
    root = shared_root(tmp_path_factory, "fashion-mnist", "FashionMNIST")
    test = datasets.FashionMNIST(root, train=False)
    assert tuple(test.data.shape) == (10000, 28, 28)
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    assert test.classes[9] == "Ankle boot" and test[0][0].mode == "L"
    train = datasets.FashionMNIST(root)
    assert np.bincount(train.targets.numpy()).tolist() == [6000] * 10


# ---- IDX parsing ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compressed", [False, True])
def test_idx_round_trip(tmp_path, dtype, compressed):
    array = (np.random.default_rng(0).standard_normal((3, 4, 2)) * 100).astype(dtype)
    data = idx_bytes(array)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compressed else data)
    out = read_sn3_pascalvincent_tensor(path)
    assert out.dtype == ember.tensor(array).dtype
    np.testing.assert_array_equal(out.numpy(), array)


def test_idx_1d_and_empty(tmp_path):
    (tmp_path / "labels").write_bytes(idx_bytes(np.array([3, 1, 4], np.uint8)))
    out = read_label_file(tmp_path / "labels")
    assert out.dtype == ember.int64 and out.tolist() == [3, 1, 4]
    (tmp_path / "empty").write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    assert tuple(read_image_file(tmp_path / "empty").shape) == (0, 28, 28)


def test_idx_data_is_writable(tmp_path):
    (tmp_path / "images").write_bytes(idx_bytes(np.zeros((2, 3, 3), np.uint8)))
    images = read_image_file(tmp_path / "images")
    images[0, 0, 0] = 7
    assert images[0, 0, 0].item() == 7


@pytest.mark.parametrize("reader,wrong,expected", [
    (read_image_file, np.zeros(4, np.uint8), "magic number 0x00000801.*expected 0x00000803"),
    (read_label_file, np.zeros((1, 2, 2), np.uint8), "magic number 0x00000803.*expected 0x00000801"),
    (read_label_file, np.zeros(4, np.int32), "magic number 0x00000C01.*expected 0x00000801"),
])
def test_idx_wrong_magic(tmp_path, reader, wrong, expected):
    (tmp_path / "f").write_bytes(idx_bytes(wrong))
    with pytest.raises(RuntimeError, match=expected):
        reader(tmp_path / "f")


@pytest.mark.parametrize("data,expected", [
    (b"", "not a valid IDX file: magic number 0x00000000"),
    (b"PK\x03\x04rest", "not a valid IDX file: magic number 0x504B0304"),
    (b"\0\0\x07\x01" + bytes(8), r"magic number 0x00000701.*0x0000TTDD"),
    (b"\0\0\x08\x03" + bytes(5), "truncated: its IDX header needs 16 bytes, the file has 9"),
    (idx_bytes(np.zeros((2, 3), np.int16))[:-1], r"truncated: .*shape \(2, 3\) of int16 \(12 bytes\), but 11"),
    (idx_bytes(np.zeros(3, np.uint8)) + b"\0", r"trailing bytes: .*\(3,\) of uint8 \(3 bytes\), but 4"),
])
def test_idx_malformed(tmp_path, data, expected):
    (tmp_path / "f").write_bytes(data)
    with pytest.raises(RuntimeError, match=expected) as info:
        read_sn3_pascalvincent_tensor(tmp_path / "f")
    assert str(tmp_path / "f") in str(info.value)


def test_idx_trailing_bytes_allowed_when_not_strict(tmp_path):
    (tmp_path / "f").write_bytes(idx_bytes(np.arange(3, dtype=np.uint8)) + b"junk")
    assert read_sn3_pascalvincent_tensor(tmp_path / "f", strict=False).tolist() == [0, 1, 2]


def test_truncated_gzip(tmp_path):
    (tmp_path / "f.gz").write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28), np.uint8)))[:-20])
    with pytest.raises(RuntimeError, match="corrupt or truncated gzip file"):
        read_image_file(tmp_path / "f.gz")


# ---- generated MNIST folders ----------------------------------------------------------------

@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A root holding generated MNIST .gz files whose md5s MNIST.resources lists."""
    files = write_mnist(tmp_path / "MNIST" / "raw")
    monkeypatch.setattr(datasets.MNIST, "resources", resources_of(files))
    return tmp_path, files


@pytest.mark.parametrize("compressed", [True, False])
def test_generated_files_load(tmp_path, monkeypatch, compressed):
    files = write_mnist(tmp_path / "MNIST" / "raw", compressed)
    monkeypatch.setattr(datasets.MNIST, "resources", resources_of(files))
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = datasets.MNIST(tmp_path, train=train)
        images, labels = files[f"{prefix}-images-idx3-ubyte.gz"][1], files[f"{prefix}-labels-idx1-ubyte.gz"][1]
        assert len(ds) == len(images)
        np.testing.assert_array_equal(ds.data.numpy(), images)
        assert ds.targets.tolist() == labels.tolist()
        for i in (0, len(ds) - 1, -1):
            image, label = ds[i]
            assert image.mode == "L" and label == int(labels[i])
            np.testing.assert_array_equal(np.asarray(image), images[i])


def test_extracted_file_preferred_over_archive(tiny_mnist):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    labels = np.full(12, 7, np.uint8)
    (raw / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    assert datasets.MNIST(root).targets.tolist() == [7] * 12


def test_transforms_and_repr(tiny_mnist):
    root, files = tiny_mnist

    class Scale:
        def __call__(self, image):
            return ember.tensor(np.asarray(image), dtype=ember.float32) / 255

        def __repr__(self):
            return "Scale(\n  by=255\n)"

    ds = datasets.MNIST(root, train=False, transform=Scale(), target_transform=lambda t: t + 100)
    x, y = ds[2]
    np.testing.assert_allclose(x.numpy(), files["t10k-images-idx3-ubyte.gz"][1][2] / 255, rtol=1e-6)
    assert y == int(files["t10k-labels-idx1-ubyte.gz"][1][2]) + 100
    head = f"Dataset MNIST\n    Number of datapoints: 5\n    Root location: {root}\n    Split: Test\n"
    assert repr(ds).startswith(head + "    StandardTransform\nTransform: Scale(\n" + " " * 13 + "by=255\n"
                                      "           )\nTarget transform: <function")
    ds.transform = None  # assigned later, like scripts do
    assert ds[0][0].mode == "L"


def test_works_with_dataloader(tiny_mnist):
    root, files = tiny_mnist
    ds = datasets.MNIST(root, transform=lambda im: ember.tensor(np.asarray(im), dtype=ember.float32)[None] / 255)
    x, y = next(iter(ember.utils.data.DataLoader(ds, batch_size=8)))
    assert tuple(x.shape) == (8, 1, 28, 28) and x.dtype == ember.float32
    assert y.dtype == ember.int64 and y.tolist() == files["train-labels-idx1-ubyte.gz"][1][:8].tolist()


def test_missing_files_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path)
    assert str(info.value) == (
        f"MNIST: the training split's files are not here. Looked in {raw} and {tmp_path} for "
        f"train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]. Pass the folder that holds "
        f"them as root (--data-dir in the ember command and examples), or its parent with them in "
        f"MNIST/raw/; or download=True to fetch them (needs the internet).")
    assert not raw.exists()  # looking writes nothing
    write_mnist(raw)
    os.remove(raw / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(RuntimeError, match=r"the test split's files are not here"):
        datasets.MNIST(tmp_path, train=False)


def test_a_folder_holding_the_files_is_a_root(tmp_path, monkeypatch):
    """The published files in a plain folder (as downloaded) are read from there, and
    download=True then fetches nothing."""
    files = write_mnist(tmp_path)
    monkeypatch.setattr(datasets.MNIST, "resources", resources_of(files))
    ds = datasets.MNIST(tmp_path, train=False, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), files["t10k-images-idx3-ubyte.gz"][1])
    assert not (tmp_path / "MNIST").exists()


def test_failed_download_leaves_no_empty_folders(tmp_path, monkeypatch, mnist_site):
    server, _ = mnist_site
    monkeypatch.setattr(datasets.MNIST, "mirrors", [f"{server.url}/missing/"])
    root = tmp_path / "not" / "there"
    with pytest.raises(RuntimeError, match=r"MNIST: the training split's files are not here\..*Downloading failed"):
        datasets.MNIST(root, download=True)
    assert not (tmp_path / "not").exists()


def test_checksum_mismatch_error(tiny_mnist, monkeypatch):
    root, files = tiny_mnist
    expected = "0123456789abcdef0123456789abcdef"
    resources = [(n, expected if n.startswith("train-images") else m) for n, m in resources_of(files)]
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(root)
    message = str(info.value)
    assert str(path) in message and f"expected md5 {expected}" in message
    assert f"got {hashlib.md5(path.read_bytes()).hexdigest()}" in message
    assert len(datasets.MNIST(root, train=False)) == 5  # the other split is intact


def test_images_and_labels_must_agree(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(raw, compressed=False)
    (raw / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(RuntimeError, match="holds 12 images but .* holds 11 labels"):
        datasets.MNIST(tmp_path)


def test_deprecated_names_warn(tiny_mnist):
    ds = datasets.MNIST(tiny_mnist[0])
    with pytest.warns(UserWarning, match="renamed targets"):
        assert ds.train_labels is ds.targets
    with pytest.warns(UserWarning, match="renamed data"):
        assert ds.test_data is ds.data


# ---- downloads ------------------------------------------------------------------------------

@pytest.fixture
def mnist_site(tmp_path, monkeypatch):
    """A local server with generated MNIST files under good/, corrupt copies under bad/;
    MNIST.resources lists the good files' md5s."""
    site = tmp_path / "site"
    files = write_mnist(site / "good")
    os.makedirs(site / "bad")
    for name, (data, _) in files.items():
        (site / "bad" / name).write_bytes(data[:-3])
    monkeypatch.setattr(datasets.MNIST, "resources", resources_of(files))
    with LocalServer(site) as server:
        yield server, files


def test_download_falls_back_through_mirrors_then_caches(mnist_site, tmp_path, monkeypatch):
    server, files = mnist_site
    monkeypatch.setattr(datasets.MNIST, "mirrors",
                        [unused_local_url() + "/", *(f"{server.url}/{d}/" for d in ("missing", "bad", "good"))])
    root = tmp_path / "data"
    ds = datasets.MNIST(root, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), files["train-images-idx3-ubyte.gz"][1])
    raw = root / "MNIST" / "raw"
    for name in files:  # both splits, compressed and decompressed, and nothing else
        assert (raw / name).read_bytes() == files[name][0]
        assert (raw / name[:-3]).exists()
    assert len(os.listdir(raw)) == 8
    assert [p for p in server.requests if p.startswith("/good/")] == [f"/good/{n}" for n in files]
    count = len(server.requests)
    test = datasets.MNIST(root, train=False, download=True)
    assert len(server.requests) == count and len(test) == 5


def test_download_replaces_corrupt_archive(mnist_site, tmp_path, monkeypatch):
    server, files = mnist_site
    monkeypatch.setattr(datasets.MNIST, "mirrors", [f"{server.url}/good/"])
    raw = tmp_path / "MNIST" / "raw"
    os.makedirs(raw)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(files["train-labels-idx1-ubyte.gz"][0])
    with pytest.raises(RuntimeError, match="Checksum mismatch"):
        datasets.MNIST(tmp_path)
    ds = datasets.MNIST(tmp_path, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), files["train-images-idx3-ubyte.gz"][1])


def test_download_failure_names_every_mirror(mnist_site, tmp_path, monkeypatch):
    server, _ = mnist_site
    monkeypatch.setattr(datasets.MNIST, "mirrors", [f"{server.url}/missing/", f"{server.url}/bad/"])
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path, download=True)
    message = str(info.value)
    assert "Error downloading train-images-idx3-ubyte.gz" in message
    assert "/missing/train-images-idx3-ubyte.gz: HTTP Error 404" in message
    assert "/bad/train-images-idx3-ubyte.gz: Checksum mismatch" in message
    assert not os.path.exists(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")


# ---- the relatives --------------------------------------------------------------------------

@pytest.mark.parametrize("cls,first_class", [(datasets.FashionMNIST, "T-shirt/top"), (datasets.KMNIST, "o")])
def test_relatives_use_their_own_folder(tmp_path, monkeypatch, cls, first_class):
    files = write_mnist(tmp_path / cls.__name__ / "raw")
    assert dict(cls.resources) != dict(datasets.MNIST.resources)
    monkeypatch.setattr(cls, "resources", resources_of(files))
    ds = cls(tmp_path, train=False)
    assert len(ds) == 5 and ds.classes[0] == first_class and len(ds.classes) == 10
    assert repr(ds).startswith(f"Dataset {cls.__name__}\n")
    with pytest.raises(RuntimeError, match=f"{cls.__name__}: the training split's files are not here. "
                                           f"Looked in {tmp_path / 'x' / cls.__name__ / 'raw'} and"):
        cls(tmp_path / "x")


def emnist_zip(path, splits):
    """A gzip.zip like NIST's: gzip/emnist-<split>-<train|test>-<kind>-ubyte.gz for each split."""
    arrays = {}
    with zipfile.ZipFile(path, "w") as z:
        for k, split in enumerate(splits):
            for part, n in (("train", 6), ("test", 4)):
                images, labels = small_split(10 * k + n, n)
                for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
                    name = f"emnist-{split}-{part}-{kind}-ubyte"
                    z.writestr(f"gzip/{name}.gz", gzip.compress(idx_bytes(array)))
                    arrays[name] = array
    return arrays


def test_emnist_download_and_splits(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    arrays = emnist_zip(site / "gzip.zip", ["letters", "balanced"])
    md5 = hashlib.md5((site / "gzip.zip").read_bytes()).hexdigest()
    monkeypatch.setattr(datasets.EMNIST, "archive", ("gzip.zip", md5))
    root = tmp_path / "data"
    with LocalServer(site) as server:
        monkeypatch.setattr(datasets.EMNIST, "mirrors", [f"{server.url}/missing/", f"{server.url}/"])
        letters = datasets.EMNIST(root, split="letters", download=True)
        balanced = datasets.EMNIST(root, "balanced", train=False, download=True)
        assert server.requests == ["/missing/gzip.zip", "/gzip.zip"]
    np.testing.assert_array_equal(letters.data.numpy(), arrays["emnist-letters-train-images-idx3-ubyte"])
    assert letters.targets.tolist() == arrays["emnist-letters-train-labels-idx1-ubyte"].tolist()
    np.testing.assert_array_equal(balanced.data.numpy(), arrays["emnist-balanced-test-images-idx3-ubyte"])
    assert letters.classes == ["N/A"] + list("abcdefghijklmnopqrstuvwxyz")
    assert len(balanced.classes) == 47 and balanced.class_to_idx["a"] == 36
    assert not (root / "EMNIST" / "raw" / "gzip").exists()
    assert letters[0][0].mode == "L"


def test_emnist_classes_and_errors(tmp_path):
    byclass = datasets.EMNIST.classes_split_dict["byclass"]
    assert len(byclass) == 62 and byclass[:11] == list("0123456789A") and byclass[-1] == "z"
    with pytest.raises(ValueError, match="Unknown value 'digit' for argument split"):
        datasets.EMNIST(tmp_path, split="digit")
    with pytest.raises(RuntimeError, match=r"for emnist-digits-test-images-idx3-ubyte\[.gz\] and "
                                           r"emnist-digits-test-labels-idx1-ubyte\[.gz\]"):
        datasets.EMNIST(tmp_path, split="digits", train=False)
    raw = tmp_path / "EMNIST" / "raw"
    os.makedirs(raw)
    images, labels = small_split(3, 4)
    (raw / "emnist-mnist-train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (raw / "emnist-mnist-train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    ds = datasets.EMNIST(tmp_path, "mnist")
    assert len(ds) == 4 and ds.classes == list("0123456789")


def test_checksums_match_the_shared_data_readme():
    readme = os.path.join(SHARED, "README.md")
    if not os.path.isfile(readme):
        pytest.skip(f"{readme} is not present")
    published = {}
    for line in open(readme):
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].endswith(".gz"):
            published[cells[1]] = cells[3]
    for cls, folder in ((datasets.MNIST, "mnist"), (datasets.FashionMNIST, "fashion-mnist")):
        assert {f"{folder}/{name}": md5 for name, md5 in cls.resources} == {
            k: v for k, v in published.items() if k.startswith(folder + "/")}
    assert datasets.MNIST.mirrors == ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                                      "http://yann.lecun.com/exdb/mnist/"]
