"""ember.vision.utils: make_grid's layout against hand-computed positions, and save_image's PNG."""
import io
import os

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision.utils import make_grid, save_image


def _batch(n, c=3, h=3, w=4):
    """Image k is filled with k + 1, so each cell of the grid is recognisable."""
    return ember.tensor(np.arange(1, n + 1, dtype=np.float32)[:, None, None, None] * np.ones((n, c, h, w), np.float32))


def test_make_grid_literal_layout():
    # 3 images of 2x2, one row (nrow=8), padding 1: columns 1:3, 4:6, 7:9 of a 4x10 grid.
    grid = make_grid(_batch(3, h=2, w=2), padding=1, pad_value=-1)
    assert tuple(grid.shape) == (3, 4, 10)
    expected = np.full((4, 10), -1.0)
    expected[1:3, 1:3], expected[1:3, 4:6], expected[1:3, 7:9] = 1, 2, 3
    assert np.array_equal(grid.numpy()[0], expected) and np.array_equal(grid.numpy()[2], expected)


@pytest.mark.parametrize("n, nrow, padding", [(5, 2, 2), (8, 8, 2), (7, 3, 0), (2, 5, 3), (9, 4, 1), (4, 1, 2)])
def test_make_grid_positions(n, nrow, padding):
    h, w = 3, 4
    grid = make_grid(_batch(n, h=h, w=w), nrow=nrow, padding=padding, pad_value=-1).numpy()
    cols = min(nrow, n)
    rows = -(-n // cols)
    assert grid.shape == (3, rows * (h + padding) + padding, cols * (w + padding) + padding)
    covered = np.zeros(grid.shape[1:], bool)
    for k in range(n):
        top, left = (k // cols) * (h + padding) + padding, (k % cols) * (w + padding) + padding
        assert np.all(grid[:, top:top + h, left:left + w] == k + 1), f"image {k}"
        covered[top:top + h, left:left + w] = True
    assert np.all(grid[:, ~covered] == -1)  # padding and the empty cells of the last row


def test_make_grid_inputs():
    x = ember.rand(2, 1, 3, 3)
    grid = make_grid(x, padding=0)
    assert tuple(grid.shape) == (3, 3, 6)  # one channel repeated over three
    assert np.array_equal(grid.numpy()[1, :, 3:], x.numpy()[1, 0])
    assert np.array_equal(make_grid(list(ember.rand(2, 3, 3, 3).unbind(0)), padding=0).shape, (3, 3, 6))
    single = ember.rand(3, 5, 6)
    assert np.array_equal(make_grid(single).numpy(), single.numpy())  # one image: no padding
    assert tuple(make_grid(ember.rand(5, 6)).shape) == (3, 5, 6)
    assert tuple(make_grid(ember.rand(1, 1, 5, 6)).shape) == (3, 5, 6)
    four = make_grid(ember.rand(3, 4, 2, 2), padding=1)
    assert tuple(four.shape) == (4, 4, 10)
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="got a list containing"):
        make_grid([ember.rand(3, 2, 2), np.zeros((3, 2, 2))])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(x, normalize=True, value_range=[0, 1])


def test_make_grid_normalize():
    x = ember.tensor(np.array([[[[0.0, 2.0]]], [[[4.0, 10.0]]]], np.float32))
    g = make_grid(x, padding=0, normalize=True).numpy()[0]
    np.testing.assert_allclose(g, [[0.0, 0.2, 0.4, 1.0]])  # (x - 0) / (10 - 0)
    g = make_grid(x, padding=0, normalize=True, scale_each=True).numpy()[0]
    np.testing.assert_allclose(g, [[0.0, 1.0, 0.0, 1.0]])  # each image by its own min and max
    g = make_grid(x, padding=0, normalize=True, value_range=(1.0, 5.0)).numpy()[0]
    np.testing.assert_allclose(g, [[0.0, 0.25, 0.75, 1.0]])  # clipped to [1, 5], then scaled
    g = make_grid(ember.full((2, 1, 1, 1), 3.0), padding=0, normalize=True).numpy()[0]
    np.testing.assert_allclose(g, [[0.0, 0.0]])  # a constant image stays finite
    assert x.numpy()[1, 0, 0, 1] == 10.0  # the input is not changed


def test_make_grid_outside_the_graph():
    x = ember.rand(2, 3, 2, 2, requires_grad=True)
    grid = make_grid(x)
    assert not grid.requires_grad and grid.grad_fn is None


def _expected_png_pixels(grid):
    return np.clip(np.floor(grid.numpy() * 255 + 0.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def test_save_image_png(tmp_path):
    x = ember.rand(5, 3, 4, 6) * 1.2 - 0.1  # values outside [0, 1] are clipped
    path = tmp_path / "grid.png"
    save_image(x, path, nrow=3, padding=1)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        pixels = np.asarray(im)
    assert np.array_equal(pixels, _expected_png_pixels(make_grid(x, nrow=3, padding=1)))
    assert os.listdir(tmp_path) == ["grid.png"]  # the temporary file was renamed over it


def test_save_image_formats_and_file_objects(tmp_path):
    x = ember.rand(1, 3, 5, 5)
    path = tmp_path / "img.jpg"
    save_image(x, str(path))
    with Image.open(path) as im:
        assert im.format == "JPEG"
    (tmp_path / "noext").write_bytes(b"old")
    save_image(x, tmp_path / "noext")  # no extension: PNG, replacing the old file
    with Image.open(tmp_path / "noext") as im:
        assert im.format == "PNG" and np.array_equal(np.asarray(im), _expected_png_pixels(make_grid(x)))
    buf = io.BytesIO()
    save_image(ember.rand(2, 1, 3, 3), buf, padding=0)
    buf.seek(0)
    with Image.open(buf) as im:
        assert im.format == "PNG" and im.size == (6, 3)
    bmp = io.BytesIO()
    save_image(x, bmp, format="BMP")
    assert bmp.getvalue()[:2] == b"BM"


def test_save_image_failure_leaves_no_temporary(tmp_path):
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        save_image([1, 2], tmp_path / "bad.png")
    with pytest.raises((KeyError, ValueError, OSError)):
        save_image(ember.rand(3, 2, 2), tmp_path / "bad.png", format="NOSUCHFORMAT")
    assert os.listdir(tmp_path) == []
