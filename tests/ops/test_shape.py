import numpy as np
import pytest

import ember
from helpers import check_gradcheck, check_op, torch
from outcome import assert_same_outcome


# ---- reshape / view ------------------------------------------------------------------------
@pytest.mark.parametrize("shape,target", [((3, 4), (12,)), ((3, 4), (-1,)), ((3, 4), (2, -1, 3)),
                                          ((3, 4), (4, 3)), ((), (1, 1)), ((1,), ()), ((0, 3), (3, 0)),
                                          ((0, 3), (-1, 3)), ((2, 3, 4), (6, -1))])
def test_reshape_and_view(shape, target):
    check_op([shape], lambda x: x.reshape(target))
    check_op([shape], lambda x: x.reshape(*target) if target else x.reshape(()))
    check_op([shape], lambda x: x.view(target))
    check_op([shape], lambda x: torch.reshape(x, target), lambda x: ember.reshape(x, target))


def test_view_as_reshape_as_and_non_contiguous():
    check_op([(3, 4), (2, 6)], lambda x, y: x.view_as(y) * y)
    check_op([(3, 4), (6, 2)], lambda x, y: x.t().reshape_as(y) * y)
    check_op([(3, 4)], lambda x: x.t().reshape(2, 6))
    check_op([(3, 4)], lambda x: x.t().view(4, 3))  # same shape is always a valid view
    check_op([(2, 3, 4)], lambda x: x.transpose(0, 1).view(3, 2, 2, 2))  # splitting a dim


def test_reshape_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.view(-1, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 12"):
        x.view(5)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 12"):
        x.reshape(5, -1)
    with pytest.raises(RuntimeError, match="unspecified dimension size -1 can be any value and is ambiguous"):
        ember.zeros(0, 3).reshape(-1, 0)
    with pytest.raises(RuntimeError, match="invalid shape dimension -2"):
        x.reshape(-2, -6)
    with pytest.raises(RuntimeError, match=r"view size is not compatible.*Use \.reshape\(\.\.\.\) instead"):
        x.t().view(12)
    with pytest.raises(RuntimeError):
        torch.zeros(3, 4).t().view(12)


@pytest.mark.parametrize("start,end", [(0, -1), (1, 2), (-2, -1), (0, 0), (2, 2)])
def test_flatten(start, end):
    check_op([(2, 3, 4)], lambda x: x.flatten(start, end))
    check_op([(2, 3, 4)], lambda x: torch.flatten(x, start_dim=start, end_dim=end),
             lambda x: ember.flatten(x, start_dim=start, end_dim=end))


def test_flatten_ravel_edge_cases():
    check_op([()], lambda x: x.flatten())
    check_op([(0, 3)], lambda x: x.flatten())
    check_op([(2, 3)], lambda x: x.t().ravel())
    check_op([()], lambda x: torch.ravel(x), lambda x: ember.ravel(x))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        ember.zeros(2, 3, 4).flatten(2, 1)


@pytest.mark.parametrize("shape,dim,sizes", [((3, 4, 5), 1, (2, 2)), ((3, 4), -1, (4, 1)), ((3, 4), 0, (-1, 1)),
                                              ((3, 4, 5), 1, (-1, 2)), ((3, 4, 5), 2, (1, 5, 1)),
                                              ((0, 4), 1, (2, -1))])
def test_unflatten(shape, dim, sizes):
    check_op([shape], lambda x: x.unflatten(dim, sizes))
    check_op([shape], lambda x: torch.unflatten(x, dim, sizes), lambda x: ember.unflatten(x, dim, sizes))


def test_unflatten_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"unflatten: Provided sizes \[3, 2\] don't multiply up to the "
                                           r"size of dim 1 \(4\) in the input tensor"):
        x.unflatten(1, (3, 2))
    with pytest.raises(RuntimeError, match="sizes must be non-empty"):
        x.unflatten(1, ())
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.unflatten(1, (-1, -1))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.unflatten(2, (2, 2))


# ---- squeeze / unsqueeze ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 3, 1, 2), (1,), (), (3, 4), (0, 1)])
def test_squeeze(shape):
    check_op([shape], lambda x: x.squeeze())
    for d in range(-len(shape), len(shape)) if shape else (0, -1):
        check_op([shape], lambda x: x.squeeze(d))
        check_op([shape], lambda x: torch.squeeze(x, d), lambda x: ember.squeeze(x, d))


def test_squeeze_several_dims_and_unsqueeze():
    check_op([(1, 3, 1, 2)], lambda x: x.squeeze((0, 2)))
    check_op([(1, 3, 1, 2)], lambda x: x.squeeze((-1, -4)))
    for d in range(-4, 4):
        check_op([(2, 3, 4)], lambda x: x.unsqueeze(d))
    check_op([()], lambda x: x.unsqueeze(0))
    check_op([()], lambda x: x.unsqueeze(-1))
    check_op([(0, 2)], lambda x: torch.unsqueeze(x, 1), lambda x: ember.unsqueeze(x, 1))


def test_squeeze_unsqueeze_errors():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 3\)"):
        ember.zeros(3, 4).squeeze(3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-3, 2\], but got 3\)"):
        ember.zeros(3, 4).unsqueeze(3)


# ---- permute / transpose / movedim ------------------------------------------------------------
@pytest.mark.parametrize("dims", [(0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, -2)])
def test_permute(dims):
    check_op([(2, 3, 4)], lambda x: x.permute(dims))
    check_op([(2, 3, 4)], lambda x: x.permute(*dims))
    check_op([(2, 3, 4)], lambda x: torch.permute(x, dims), lambda x: ember.permute(x, dims))


@pytest.mark.parametrize("d0,d1", [(0, 1), (0, 2), (-1, 0), (1, 1), (-2, -1)])
def test_transpose_swapaxes(d0, d1):
    for name in ("transpose", "swapaxes", "swapdims"):
        check_op([(2, 3, 4)], lambda x: getattr(x, name)(d0, d1))
        check_op([(2, 3, 4)], lambda x: getattr(torch, name)(x, d0, d1), lambda x: getattr(ember, name)(x, d0, d1))


def test_t_and_T():
    for shape in [(3, 4), (3,), ()]:
        check_op([shape], lambda x: x.t())
        check_op([shape], lambda x: torch.t(x), lambda x: ember.t(x))
    check_op([(2, 3, 4)], lambda x: x.mT)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        ember.zeros(2, 3, 4).t()


@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ((0, 2), (-1, -2)), (1, 1), ((), ())])
def test_movedim(src, dst):
    check_op([(2, 3, 4)], lambda x: x.movedim(src, dst))
    check_op([(2, 3, 4)], lambda x: torch.moveaxis(x, src, dst), lambda x: ember.moveaxis(x, src, dst))


@pytest.mark.parametrize("src,dst", [(0, 0), (-1, -1), (0, -1), ([0], [0]), ([], []), ([0, 0], [0, 0]),
                                     ([0, -1], [0, -1]), (1, 0), (0, 1), ([0], [])])
def test_movedim_zero_d_like_torch(src, dst):
    assert_same_outcome(lambda m, t: m.movedim(t, src, dst), np.array(2.5, dtype=np.float32))
    assert_same_outcome(lambda m, t: t.moveaxis(src, dst), np.array(2.5, dtype=np.float32))


def test_movedim_zero_d_gradient():
    check_op([()], lambda x: x.movedim(0, -1) * 3)


def test_permute_movedim_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="number of dimensions in the tensor input does not match"):
        x.permute(0)
    with pytest.raises(RuntimeError, match="duplicate dims"):
        x.permute(0, -2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.transpose(0, 2)
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in `source` \(\[0, 0\]\)"):
        ember.movedim(x, (0, 0), (1, 0))
    with pytest.raises(RuntimeError, match="should contain the same number of dims as destination"):
        ember.movedim(x, (0, 1), (1,))


def test_permute_gradcheck():
    check_gradcheck([(2, 3, 4)], lambda x: x.permute(2, 0, 1) * x.movedim(1, -1).transpose(0, 1))


# ---- expand / broadcast -----------------------------------------------------------------------
@pytest.mark.parametrize("shape,sizes", [((3, 1), (3, 4)), ((3, 1), (-1, 4)), ((4,), (2, 3, 4)),
                                         ((), (2, 3)), ((1, 1), (0, 5)), ((3, 4), (3, 4)),
                                         ((2, 1, 3), (4, 2, 5, -1))])
def test_expand(shape, sizes):
    check_op([shape], lambda x: x.expand(sizes))
    check_op([shape], lambda x: x.expand(*sizes))
    check_op([shape], lambda x: x.broadcast_to(sizes))
    check_op([shape], lambda x: torch.broadcast_to(x, sizes), lambda x: ember.broadcast_to(x, sizes))


def test_expand_as_and_errors():
    check_op([(3, 1), (2, 3, 4)], lambda x, y: x.expand_as(y) * y)
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(5\) must match the existing "
                                           r"size \(4\) at non-singleton dimension 1"):
        x.expand(3, 5)
    with pytest.raises(RuntimeError, match="must be greater or equal to the number of dimensions"):
        x.expand(4)
    with pytest.raises(RuntimeError, match="-1 is not allowed in a leading, non-existing dimension"):
        x.expand(-1, 3, 4)


@pytest.mark.parametrize("shapes", [[(3, 1), (4,)], [(2, 1, 3), (5, 1), ()], [(3,)], [(0, 1), (1, 4)]])
def test_broadcast_tensors(shapes):
    check_op(shapes, lambda *xs: torch.broadcast_tensors(*xs), lambda *xs: ember.broadcast_tensors(*xs))
    check_op(shapes, lambda *xs: sum(x * (i + 1) for i, x in enumerate(torch.broadcast_tensors(*xs))),
             lambda *xs: sum(x * (i + 1) for i, x in enumerate(ember.broadcast_tensors(*xs))))
    assert ember.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)


def test_broadcast_errors():
    assert ember.broadcast_shapes(3, (2, 1)) == (2, 3)
    assert isinstance(ember.broadcast_shapes((3, 1), (4,)), ember.Size)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b "
                                           r"\(4\) at non-singleton dimension 0"):
        ember.broadcast_tensors(ember.zeros(3), ember.zeros(4))
    with pytest.raises(RuntimeError, match="must match"):
        ember.broadcast_shapes((2, 3), (3, 2))


def test_expand_gradcheck():
    check_gradcheck([(3, 1), (4,)], lambda x, y: x.expand(3, 4) * y.expand(2, 3, 4))


# ---- narrow / select / diagonal ---------------------------------------------------------------
@pytest.mark.parametrize("dim,start,length", [(0, 0, 2), (1, 1, 3), (-1, -3, 2), (0, 3, 0), (1, 0, 4), (2, 4, 1)])
def test_narrow(dim, start, length):
    check_op([(3, 4, 5)], lambda x: x.narrow(dim, start, length))
    check_op([(3, 4, 5)], lambda x: torch.narrow(x, dim, torch.tensor(start), length),
             lambda x: ember.narrow(x, dim, ember.tensor(start), length))


@pytest.mark.parametrize("dim,index", [(0, 0), (1, -1), (-1, 2), (2, -5), (0, 2)])
def test_select(dim, index):
    check_op([(3, 4, 5)], lambda x: x.select(dim, index))
    check_op([(3, 4, 5)], lambda x: torch.select(x, dim, index), lambda x: ember.select(x, dim, index))


def test_narrow_select_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"start \(5\) \+ length \(2\) exceeds dimension size \(6\)"):
        ember.zeros(6).narrow(0, 5, 2)
    with pytest.raises(RuntimeError, match="length must be non-negative"):
        ember.zeros(6).narrow(0, 1, -1)
    with pytest.raises(IndexError, match="start out of range"):
        ember.zeros(6).narrow(0, 7, 0)
    with pytest.raises(RuntimeError, match="cannot be applied to a 0-dim tensor"):
        ember.zeros(()).narrow(0, 0, 1)
    with pytest.raises(IndexError, match=r"select\(\): index 5 out of range for tensor of size \[3, 4\] "
                                         r"at dimension 0"):
        x.select(0, 5)
    with pytest.raises(IndexError, match=r"select\(\) cannot be applied to a 0-dim tensor"):
        ember.zeros(()).select(0, 0)


@pytest.mark.parametrize("offset,d1,d2", [(0, 0, 1), (1, 0, 1), (-2, 0, 1), (0, 1, 0), (1, -1, 0), (2, 2, 0),
                                          (5, 0, 1)])
def test_diagonal(offset, d1, d2):
    check_op([(3, 4, 5)], lambda x: x.diagonal(offset, d1, d2))
    check_op([(3, 4, 5)], lambda x: torch.diagonal(x, offset=offset, dim1=d1, dim2=d2),
             lambda x: ember.diagonal(x, offset=offset, dim1=d1, dim2=d2))


@pytest.mark.parametrize("offset,d1,d2", [(0, -2, -1), (1, 0, 2), (-2, 2, 0), (0, 1, -1)])
def test_diag_embed(offset, d1, d2):
    check_op([(2, 3)], lambda x: torch.diag_embed(x, offset, d1, d2),
             lambda x: ember.diag_embed(x, offset, d1, d2))
    check_op([(2, 3)], lambda x: x.diag_embed(offset, d1, d2))


@pytest.mark.parametrize("shape", [(3,), (3, 4), (4, 3), (0,)])
@pytest.mark.parametrize("k", [0, 1, -1, 2])
def test_diag(shape, k):
    check_op([shape], lambda x: torch.diag(x, k), lambda x: ember.diag(x, k))
    check_op([shape], lambda x: x.diag(diagonal=k))


def test_diagonal_errors_and_gradcheck():
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 0, 0"):
        ember.zeros(3, 3).diagonal(0, 0, 0)
    with pytest.raises(RuntimeError, match="Supports 1D or 2D tensors. Got 3D"):
        ember.diag(ember.zeros(2, 2, 2))
    check_gradcheck([(3, 4)], lambda x: x.narrow(1, 1, 2) * x.select(0, -1).narrow(0, 0, 2))
    check_gradcheck([(3, 4, 2)], lambda x: x.diagonal(1, 0, 1) * 2)
    check_gradcheck([(2, 3)], lambda x: ember.diag_embed(x, -1) + ember.diag(x[0]).sum())


# ---- flip / roll ------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [(0,), (1,), (-1,), (0, 2), (2, 0, 1), ()])
def test_flip(dims):
    check_op([(2, 3, 4)], lambda x: x.flip(dims))
    check_op([(2, 3, 4)], lambda x: torch.flip(x, dims), lambda x: ember.flip(x, dims))
    if dims:
        check_op([(2, 3, 4)], lambda x: x.flip(*dims))


def test_flip_edge_cases():
    check_op([()], lambda x: x.flip(0))
    check_op([(0, 3)], lambda x: x.flip(0, 1))
    check_op([(3, 4)], lambda x: x.fliplr())
    check_op([(3,)], lambda x: x.flipud())
    check_op([(3, 4, 2)], lambda x: torch.fliplr(x) + torch.flipud(x), lambda x: ember.fliplr(x) + ember.flipud(x))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        ember.zeros(3, 4).flip(0, -2)
    with pytest.raises(RuntimeError, match="Input must be >= 2-d"):
        ember.zeros(3).fliplr()
    with pytest.raises(RuntimeError, match="Input must be >= 1-d"):
        ember.zeros(()).flipud()
    out = ember.arange(3.0).flip(0)
    assert out._base is None and out.is_contiguous()


@pytest.mark.parametrize("shifts,dims", [(1, 0), (-2, 1), (5, -1), ((1, 2), (0, 1)), ((1, -1), (1, 1)),
                                         (3, None), ((7,), None), (0, 0)])
def test_roll(shifts, dims):
    check_op([(3, 4)], lambda x: x.roll(shifts, dims))
    check_op([(3, 4)], lambda x: torch.roll(x, shifts, dims), lambda x: ember.roll(x, shifts, dims))


def test_roll_edge_cases_and_errors():
    check_op([()], lambda x: x.roll(1))
    check_op([(0, 2)], lambda x: x.roll(1, 0))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        ember.zeros(3, 4).roll((1, 2), (0,))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:0"):
        ember.zeros(3, 4).roll((1, 2))
    check_gradcheck([(3, 4)], lambda x: x.roll((1, -1), (0, 1)) * x.flip(1) + x.roll(2))


# An empty dims rolls the flattened tensor; no shifts at all is an error, even for empty or 0-d
# tensors, and the counts must align before an empty tensor is copied.
@pytest.mark.parametrize("shifts,dims", [(1, []), ([1], ()), ((1, 2), []), ((), ()), ([], []), ((), 0), (1, 0),
                                         ((1, 2), (0,)), (1, 5), (-7, None), ((1, 2), (0, 0))])
@pytest.mark.parametrize("shape", [(), (3, 4), (0,), (2, 0)])
def test_roll_arguments_like_torch(shape, shifts, dims):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    assert_same_outcome(lambda m, t: t.roll(shifts, dims), x, what=f"roll{shape} {shifts} {dims}")


# ---- clone / contiguous / devices -------------------------------------------------------------
def test_clone_contiguous():
    check_op([(3, 4)], lambda x: x.clone())
    check_op([(3, 4)], lambda x: x.t().contiguous())
    x = ember.zeros(3, 4)
    assert x.contiguous() is x
    y = x.t().contiguous()
    assert y.is_contiguous() and not np.may_share_memory(y.cpu().numpy(), x.cpu().numpy())
    c = x.clone()
    c[0, 0] = 1.0
    assert x[0, 0].item() == 0.0


# ---- view semantics ---------------------------------------------------------------------------
VIEWS = {
    "view": lambda x: x.view(4, 6), "reshape": lambda x: x.reshape(-1), "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)), "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2), "movedim": lambda x: x.movedim(0, -1),
    "unsqueeze": lambda x: x.unsqueeze(1), "squeeze": lambda x: x[:1].squeeze(0),
    "narrow": lambda x: x.narrow(1, 1, 2), "select": lambda x: x.select(2, -1),
    "diagonal": lambda x: x.diagonal(0, 1, 2), "t": lambda x: x[0].t(), "view_as": lambda x: x.view_as(x),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_storage_and_version(name):
    x = ember.arange(24.0).reshape(2, 3, 4)
    xt = torch.arange(24.0).reshape(2, 3, 4)
    v, vt = VIEWS[name](x), VIEWS[name](xt)
    assert v._base is x._base or v._base is x
    before = x._version
    with ember.no_grad():
        v.mul_(-1)
        v.add_(0.5)
    vt.mul_(-1).add_(0.5)
    np.testing.assert_array_equal(x.cpu().numpy(), xt.cpu().numpy())
    assert x._version == v._version > before


def test_expand_is_a_view():
    x = ember.zeros(3, 1)
    v = x.expand(3, 4)
    assert v._base is x and v._version == x._version
    x.add_(1.0)
    assert v._version == x._version and v.tolist() == [[1.0] * 4] * 3


def test_views_through_graph_get_gradients():
    check_op([(2, 3, 4)], lambda x: x.permute(2, 0, 1).narrow(0, 1, 2).select(1, 0).diagonal())
    check_op([(2, 3, 4)], lambda x: x.view(6, 4).unsqueeze(0).expand(2, 6, 4).flatten())


@pytest.mark.parametrize("call", [
    lambda x: x.view(size=(12,)), lambda x: x.reshape(shape=(4, 3)), lambda x: x.permute(dims=(1, 0)),
    lambda x: x.expand(size=(2, 3, 4)), lambda x: x.flip(dims=(0,)), lambda x: x.flip(0, 1),
    lambda x: x.reshape(ember.Size([2, 6])) if isinstance(x, ember.Tensor) else x.reshape(torch.Size([2, 6]))])
def test_keyword_and_sequence_arguments(call):
    check_op([(3, 4)], call)
