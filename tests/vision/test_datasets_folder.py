"""ImageFolder / DatasetFolder on generated folders, FakeData, and the base class's repr."""
import os

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import datasets
from ember.vision.datasets import folder as folder_module


def save_image(path, seed, mode="RGB", size=(5, 4)):
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


@pytest.fixture
def tree(tmp_path):
    """root/cat/{b.png, a.PNG, notes.txt, sub/c.bmp}, root/dog/x.png (grey), root/empty/, root/file.png."""
    root = tmp_path / "root"
    pixels = {
        "cat/b.png": save_image(root / "cat" / "b.png", 0),
        "cat/a.PNG": save_image(root / "cat" / "a.PNG", 1),
        "cat/sub/c.bmp": save_image(root / "cat" / "sub" / "c.bmp", 2),
        "dog/x.png": save_image(root / "dog" / "x.png", 3, mode="L"),
    }
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "empty").mkdir()
    save_image(root / "file.png", 4)  # not in a class folder
    return root, pixels


def test_image_folder(tree):
    root, pixels = tree
    ds = datasets.ImageFolder(root, allow_empty=True)
    assert ds.classes == ["cat", "dog", "empty"] and ds.class_to_idx == {"cat": 0, "dog": 1, "empty": 2}
    expected = [(str(root / "cat" / "a.PNG"), 0), (str(root / "cat" / "b.png"), 0),
                (str(root / "cat" / "sub" / "c.bmp"), 0), (str(root / "dog" / "x.png"), 1)]
    assert ds.samples == expected and ds.imgs is ds.samples and ds.targets == [0, 0, 0, 1]
    assert len(ds) == 4 and ds.extensions == datasets.IMG_EXTENSIONS and ds.loader is datasets.default_loader
    for i, key in enumerate(["cat/a.PNG", "cat/b.png", "cat/sub/c.bmp"]):
        image, target = ds[i]
        assert image.mode == "RGB" and target == 0
        np.testing.assert_array_equal(np.asarray(image), pixels[key])
    grey, target = ds[3]
    assert grey.mode == "RGB" and target == 1  # converted, as the default loader does
    np.testing.assert_array_equal(np.asarray(grey)[..., 1], pixels["dog/x.png"])
    assert repr(ds) == f"Dataset ImageFolder\n    Number of datapoints: 4\n    Root location: {root}"


def test_empty_class_needs_allow_empty(tree):
    root, _ = tree
    with pytest.raises(FileNotFoundError) as info:
        datasets.ImageFolder(root)
    assert str(info.value).startswith("Found no valid file for the classes empty. "
                                      "Supported extensions are: .jpg, .jpeg, .png")


def test_transforms_and_loader(tree):
    root, _ = tree
    ds = datasets.ImageFolder(root, transform=lambda im: im.size, target_transform=lambda t: t * 10,
                              loader=lambda p: Image.open(p), allow_empty=True)
    assert ds[3] == ((5, 4), 10)


def test_is_valid_file(tree):
    root, _ = tree
    ds = datasets.ImageFolder(root, is_valid_file=lambda p: p.endswith((".txt", ".bmp")), allow_empty=True)
    assert [os.path.basename(p) for p, _ in ds.samples] == ["notes.txt", "c.bmp"] and ds.extensions is None
    with pytest.raises(FileNotFoundError, match=r"classes dog, empty\. $"):
        datasets.ImageFolder(root, is_valid_file=lambda p: p.endswith(".txt"))


def test_dataset_folder_with_custom_loader(tmp_path):
    for name, text in [("a/1.txt", "one"), ("a/2.TXT", "two"), ("b/3.txt", "three"), ("b/4.md", "four")]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    ds = datasets.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(), extensions=".txt")
    assert [ds[i] for i in range(len(ds))] == [("one", 0), ("two", 0), ("three", 1)]
    ds = datasets.DatasetFolder(tmp_path, loader=len, extensions=(".md",), allow_empty=True)
    assert ds.targets == [1]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or not None"):
        datasets.DatasetFolder(tmp_path, loader=len)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        datasets.DatasetFolder(tmp_path, loader=len, extensions=".txt", is_valid_file=bool)


def test_overridden_find_classes(tmp_path):
    for name in ("x/1.png", "y/2.png"):
        save_image(tmp_path / name, 0)

    class OnlyY(datasets.ImageFolder):
        def find_classes(self, directory):
            return ["y"], {"y": 5}

    ds = OnlyY(tmp_path)
    assert ds.classes == ["y"] and ds.samples == [(str(tmp_path / "y" / "2.png"), 5)]


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"Couldn't find any class folder in {tmp_path}"):
        datasets.ImageFolder(tmp_path)
    with pytest.raises(FileNotFoundError):
        datasets.ImageFolder(tmp_path / "absent")
    with pytest.raises(ValueError, match="'class_to_index' must have at least one entry"):
        folder_module.make_dataset(tmp_path, {}, extensions=".png")
    with pytest.raises(ValueError, match="The class_to_idx parameter cannot be None"):
        datasets.DatasetFolder.make_dataset(tmp_path, None, extensions=".png")


def test_module_functions(tree):
    root, _ = tree
    assert folder_module.find_classes(root) == (["cat", "dog", "empty"], {"cat": 0, "dog": 1, "empty": 2})
    samples = folder_module.make_dataset(str(root), {"dog": 0, "missing": 1}, extensions=".png", allow_empty=True)
    assert samples == [(str(root / "dog" / "x.png"), 0)]
    assert folder_module.is_image_file("A.JPEG") and not folder_module.is_image_file("a.gif")
    assert folder_module.has_file_allowed_extension("x.Md", ".md")
    assert folder_module.has_file_allowed_extension("x.md", [".txt", ".md"])
    assert datasets.IMG_EXTENSIONS == (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def test_works_with_dataloader(tree):
    root, _ = tree
    to_tensor = lambda im: ember.tensor(np.asarray(im), dtype=ember.float32).permute(2, 0, 1) / 255  # noqa: E731
    ds = datasets.ImageFolder(root, transform=to_tensor, allow_empty=True)
    x, y = next(iter(ember.utils.data.DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 3, 4, 5) and y.tolist() == [0, 0, 0, 1]


# ---- FakeData -------------------------------------------------------------------------------

def test_fakedata_is_deterministic_per_index():
    ds = datasets.FakeData(size=20, image_size=(3, 8, 6), num_classes=4)
    state = ember.get_rng_state()
    image, target = ds[7]
    assert image.mode == "RGB" and image.size == (6, 8) and isinstance(target, int) and 0 <= target < 4
    again, target_again = ds[7]
    np.testing.assert_array_equal(np.asarray(image), np.asarray(again))
    assert target == target_again
    shifted = datasets.FakeData(size=20, image_size=(3, 8, 6), num_classes=4, random_offset=5)
    np.testing.assert_array_equal(np.asarray(shifted[2][0]), np.asarray(image))
    assert not np.array_equal(np.asarray(ds[8][0]), np.asarray(image))
    assert ember.get_rng_state()["bit_generator"] == state["bit_generator"]  # global RNG untouched
    np.testing.assert_array_equal(np.asarray(ds[-13][0]), np.asarray(image))
    targets = [ds[i][1] for i in range(20)]
    assert set(targets) == {0, 1, 2, 3}
    assert len(ds) == 20 and repr(ds) == "Dataset FakeData\n    Number of datapoints: 20"


@pytest.mark.parametrize("size,mode", [((1, 4, 5), "L"), ((2, 4, 5), "LA"), ((3, 4, 5), "RGB"),
                                       ((4, 4, 5), "RGBA"), ((4, 5), "L")])
def test_fakedata_modes(size, mode):
    image, _ = datasets.FakeData(size=2, image_size=size)[1]
    assert image.mode == mode and image.size == (5, 4)


def test_fakedata_errors_and_transforms():
    ds = datasets.FakeData(size=3, image_size=(1, 2, 2), transform=np.asarray, target_transform=lambda t: t + 100)
    x, y = ds[0]
    assert x.shape == (2, 2) and x.dtype == np.uint8 and 100 <= y < 110
    for index in (3, -4):
        with pytest.raises(IndexError, match="FakeData index out of range"):
            ds[index]
    with pytest.raises(ValueError, match="image_size must be"):
        datasets.FakeData(image_size=(5, 2, 2))


def test_vision_dataset_base():
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        datasets.VisionDataset("r", transforms=lambda x, y: (x, y), transform=abs)
    base = datasets.VisionDataset("~/somewhere", transforms=lambda x, y: (x, y))
    assert base.root == os.path.expanduser("~/somewhere")
    standard = datasets.StandardTransform(None, target_transform=abs)
    assert standard(1, -2) == (1, 2)
    assert repr(standard).startswith("StandardTransform\nTarget transform: <built-in function abs>")
