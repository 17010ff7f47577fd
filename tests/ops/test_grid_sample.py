"""affine_grid and grid_sample against torch: every mode, padding mode and align_corners,
values and gradients (input, grid, theta) with random cotangents, warnings and errors."""
import itertools
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from helpers import assert_close, check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [(k, mode, pad, align) for k, mode, pad, align in itertools.product(
    (2, 3), ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection"), (True, False))
    if not (k == 3 and mode == "bicubic")]


def _grid(k, seed, low=-1.6, high=1.6):
    """Points inside and outside [-1, 1], shape (2, *out, k)."""
    return np.random.default_rng(seed).uniform(low, high, (2,) + (3, 4, 2)[:k] + (k,))


@pytest.mark.parametrize("k,mode,pad,align", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_sample_matches_torch(k, mode, pad, align, dtype):
    grid = _grid(k, 1).astype(dtype)
    in_shape = (2, 3) + (4, 5, 6)[:k]
    # nearest has no gradient w.r.t. the grid: torch gives zeros, ember none
    if mode != "nearest":
        check_op([in_shape, grid.shape], lambda x, g: TF.grid_sample(x, g, mode, pad, align),
                 lambda x, g: EF.grid_sample(x, g, mode, pad, align), dtype=dtype, values=[None, grid])
    else:
        g_t, g_e = torch.tensor(grid), ember.tensor(grid)
        check_op([in_shape], lambda x: TF.grid_sample(x, g_t, mode, pad, align),
                 lambda x: EF.grid_sample(x, g_e, mode, pad, align), dtype=dtype)


def test_nearest_grid_gradient_is_zero_in_torch_and_absent_here():
    g_t = torch.tensor(_grid(2, 2), requires_grad=True)
    TF.grid_sample(torch.randn(2, 3, 4, 5, dtype=torch.float64), g_t, "nearest", align_corners=False).sum().backward()
    assert not g_t.grad.any()
    g_e = ember.tensor(_grid(2, 2), requires_grad=True)
    out = EF.grid_sample(ember.randn(2, 3, 4, 5, dtype=ember.float64, requires_grad=True), g_e, "nearest",
                         align_corners=False)
    out.sum().backward()
    assert g_e.grad is None


def test_grid_sample_second_order():
    def f(lib, F):
        def run(x, g):
            out = F.grid_sample(x, g, "bilinear", "reflection", False)
            gx, gg = lib.autograd.grad(out.pow(2).sum(), (x, g), create_graph=True)
            return gx.sum() + gg.pow(2).sum()
        return run
    check_op([(2, 3, 4, 5), (2, 3, 4, 2)], f(torch, TF), f(ember, EF), dtype="float64", values=[None, _grid(2, 3)])


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("align", [True, False])
def test_affine_grid_matches_torch(k, align):
    size = (2, 3) + (4, 5, 6)[:k]
    check_op([(2, k, k + 1)], lambda t: TF.affine_grid(t, size, align), lambda t: EF.affine_grid(t, size, align),
             dtype="float64")
    # affine_grid then grid_sample: a rotation of an image
    theta = np.array([[[0.8, -0.6, 0.1], [0.6, 0.8, -0.2]]] * 2)
    if k == 2:
        check_op([size], lambda x: TF.grid_sample(x, TF.affine_grid(torch.tensor(theta), size, align),
                                                  align_corners=align),
                 lambda x: EF.grid_sample(x, EF.affine_grid(ember.tensor(theta), size, align), align_corners=align),
                 dtype="float64")


def test_align_corners_warnings():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        EF.grid_sample(ember.zeros(1, 1, 2, 2), ember.zeros(1, 1, 1, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        EF.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="unit-size grids"):
        EF.affine_grid(ember.zeros(1, 2, 3), (1, 1, 1, 2), align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EF.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 2), align_corners=True)
    # a unit-size grid without align_corners: the single point is the centre
    assert_close(EF.affine_grid(ember.eye(2, 3).unsqueeze(0), (1, 1, 1, 3), False),
                 TF.affine_grid(torch.eye(2, 3).unsqueeze(0), (1, 1, 1, 3), False))


ERRORS = [
    (lambda F, lib: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), "linear", align_corners=False),
     ValueError, "expected mode"),
    (lambda F, lib: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), padding_mode="wrap",
                                  align_corners=False), ValueError, "expected padding_mode"),
    (lambda F, lib: F.grid_sample(lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 1, 1, 1, 3), "bicubic",
                                  align_corners=False), RuntimeError, "bicubic"),
    (lambda F, lib: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 3), align_corners=False),
     RuntimeError, "size 2 in last dimension"),
    (lambda F, lib: F.grid_sample(lib.zeros(2, 1, 2, 2), lib.zeros(1, 1, 1, 2), align_corners=False),
     RuntimeError, "same batch size"),
    (lambda F, lib: F.grid_sample(lib.zeros(1, 1, 2), lib.zeros(1, 1, 1), align_corners=False),
     RuntimeError, "input and grid with same number of dimensions"),
    (lambda F, lib: F.affine_grid(lib.zeros(1, 2, 3, dtype=lib.int64), (1, 1, 2, 2), False),
     ValueError, "floating point"),
    (lambda F, lib: F.affine_grid(lib.zeros(1, 3, 4), (1, 1, 2, 2), False), ValueError, "Nx2x3"),
    (lambda F, lib: F.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2), False), NotImplementedError, "4D and 5D"),
    (lambda F, lib: F.affine_grid(lib.zeros(1, 2, 3), (1, 1, 0, 2), False), ValueError, "positive output size"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(TF, torch)
    with pytest.raises(exc, match=match):
        call(EF, ember)
