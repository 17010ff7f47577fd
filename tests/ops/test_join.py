import pytest

import ember
from helpers import assert_close, check_gradcheck, check_op, make_inputs, torch


# ---- cat / stack -------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,dim", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 5)], 1),
                                        ([(2, 3), (2, 4)], -1), ([(2, 3, 4), (2, 1, 4)], -2),
                                        ([(3,)], 0), ([(0, 3), (2, 3)], 0), ([(2, 0), (2, 3)], 1),
                                        ([(0,), (2, 3)], 1), ([(2, 3), (0,), (1, 3)], 0)])
def test_cat(shapes, dim):
    for name in ("cat", "concat", "concatenate"):
        check_op(shapes, lambda *xs: getattr(torch, name)(xs, dim), lambda *xs: getattr(ember, name)(xs, dim))
    check_op(shapes, lambda *xs: torch.cat(list(xs), dim=dim), lambda *xs: ember.cat(list(xs), dim=dim))


def test_cat_promotes_dtypes_and_keeps_grads_apart():
    a_e, a_t = make_inputs([(2, 3)])
    b_e, b_t = make_inputs([(1, 3)], dtype="int32", seed=1)
    c_e, c_t = make_inputs([(2, 3)], dtype="float64", seed=2)
    assert_close(ember.cat([a_e[0], b_e[0]]), torch.cat([a_t[0], b_t[0]]))
    assert_close(ember.cat([b_e[0], c_e[0]]), torch.cat([b_t[0], c_t[0]]))
    check_op([(2, 3), (1, 3)], lambda a, b: torch.cat([a.double(), b]), lambda a, b: ember.cat([a.double(), b]))
    check_op([(2, 3), (2, 3)], lambda a, b: torch.cat([a, b, a], 1), lambda a, b: ember.cat([a, b, a], 1))


def test_cat_errors():
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match except in dimension 1\. Expected size 3 "
                                           r"but got size 4 for tensor number 1 in the list\."):
        ember.cat([ember.zeros(3, 2), ember.zeros(4, 2)], 1)
    with pytest.raises(RuntimeError, match="Tensors must have same number of dimensions: got 2 and 3"):
        ember.cat([ember.zeros(2, 3), ember.zeros(2, 3, 1)])
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        ember.cat([])
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 1\) cannot be concatenated"):
        ember.cat([ember.zeros(1), ember.tensor(2.0)])
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        ember.cat([ember.zeros(2, 3), ember.zeros(2, 3)], 2)
    with pytest.raises(TypeError, match="must be tuple of Tensors, not Tensor"):
        ember.cat(ember.zeros(2, 3))


@pytest.mark.parametrize("shape", [(3,), (2, 3), (), (0, 2)])
def test_stack(shape):
    for d in range(-len(shape) - 1, len(shape) + 1):
        check_op([shape, shape, shape], lambda *xs: torch.stack(xs, d), lambda *xs: ember.stack(xs, d))
    check_op([shape], lambda x: torch.stack([x]), lambda x: ember.stack([x]))


def test_stack_errors():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[3\] at "
                                           r"entry 0 and \[4\] at entry 1"):
        ember.stack([ember.zeros(3), ember.zeros(4)])
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        ember.stack([])
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.stack([ember.zeros(3), ember.zeros(3)], 2)


COMMON = [[(3,), (3,)], [(2, 3), (2, 3)], [(), ()], [(3,)]]


@pytest.mark.parametrize("name,shapes", [(n, s) for n in ("hstack", "vstack", "dstack", "column_stack")
                                         for s in COMMON] + [
    ("hstack", [(2, 3, 2), (2, 1, 2)]), ("vstack", [(2, 3, 2), (1, 3, 2)]),
    ("dstack", [(2, 3, 2), (2, 3, 1)]), ("column_stack", [(2, 3), (2,), (2, 1)])])
def test_stack_family(name, shapes):
    check_op(shapes, lambda *xs: getattr(torch, name)(xs), lambda *xs: getattr(ember, name)(xs))
    check_op(shapes, lambda *xs: getattr(torch, name)(list(xs)), lambda *xs: getattr(ember, name)(list(xs)))


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(name):
    for shape in [(), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)]:
        check_op([shape], lambda x: getattr(torch, name)(x), lambda x: getattr(ember, name)(x))
    check_op([(), (3,)], lambda a, b: getattr(torch, name)(a, b), lambda a, b: getattr(ember, name)(a, b))
    check_op([(), (3,)], lambda a, b: getattr(torch, name)([a, b]), lambda a, b: getattr(ember, name)([a, b]))
    check_op([(2,)], lambda a: getattr(torch, name)((a,)), lambda a: getattr(ember, name)((a,)))


def test_cat_stack_gradcheck():
    check_gradcheck([(2, 3), (1, 3)], lambda a, b: ember.cat([a, b, a * b], 0))
    check_gradcheck([(2, 3), (2, 3)], lambda a, b: ember.stack([a, b * a], -1))
    check_gradcheck([(3,), (3,)], lambda a, b: ember.vstack([a, b]) * ember.hstack([b, a]).sum())


# ---- split / chunk / tensor_split / unbind ----------------------------------------------------
@pytest.mark.parametrize("size,dim", [(2, 0), (3, 1), (1, -1), (5, 0), (4, 1), ([1, 2, 2], 0), ([0, 4], 1),
                                      ((3, 1), -1)])
def test_split(size, dim):
    check_op([(5, 4)], lambda x: x.split(size, dim))
    check_op([(5, 4)], lambda x: torch.split(x, size, dim=dim), lambda x: ember.split(x, size, dim=dim))


def test_split_edge_cases_and_errors():
    check_op([(0,)], lambda x: x.split(2))
    check_op([(0, 3)], lambda x: x.split(0))
    check_op([(4, 3)], lambda x: torch.split(x, split_size_or_sections=2, dim=1),
             lambda x: ember.split(x, split_size_or_sections=2, dim=1))
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly to 5 \(input "
                                           r"tensor's size at dimension 0\), but got split_sizes=\[2, 2\]"):
        ember.zeros(5).split([2, 2])
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        ember.zeros(4).split(0)
    with pytest.raises(RuntimeError, match="at least a 1-dimensional tensor"):
        ember.zeros(()).split(1)


@pytest.mark.parametrize("n,chunks", [(5, 3), (6, 4), (6, 3), (2, 5), (0, 3), (1, 1)])
def test_chunk(n, chunks):
    check_op([(n, 2)], lambda x: x.chunk(chunks))
    check_op([(2, n)], lambda x: torch.chunk(x, chunks, -1), lambda x: ember.chunk(x, chunks, -1))


@pytest.mark.parametrize("spec", [3, 1, 8, [1, 5], [1, 5, 9], [4, 2], [-2], (0, 0, 3),
                                  "tensor_int", "tensor_list"])
def test_tensor_split(spec):
    def run(x, lib):
        s = spec
        if s == "tensor_int":
            s = lib.tensor(3)
        elif s == "tensor_list":
            s = lib.tensor([2, 4])
        return lib.tensor_split(x, s, dim=1)
    check_op([(2, 7)], lambda x: run(x, torch), lambda x: run(x, ember))
    check_op([(7,)], lambda x: x.tensor_split(spec) if not isinstance(spec, str) else x.tensor_split(2))


def test_chunk_tensor_split_errors():
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        ember.zeros(6).chunk(0)
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0"):
        ember.zeros(6).tensor_split(0)


@pytest.mark.parametrize("shape", [(3, 4), (1, 2, 3), (0, 2), (4,)])
def test_unbind(shape):
    for d in range(-len(shape), len(shape)):
        check_op([shape], lambda x: x.unbind(d))
        check_op([shape], lambda x: torch.unbind(x, dim=d), lambda x: ember.unbind(x, dim=d))
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        ember.zeros(()).unbind()


def test_iteration_uses_unbind():
    check_op([(3, 4)], lambda x: [row * (i + 1) for i, row in enumerate(x)])
    check_op([(3, 4)], lambda x: sum(row for row in x.t()))


def test_pieces_are_views():
    x = ember.arange(12.0).reshape(4, 3)
    pieces = list(x.split(2)) + list(x.chunk(3, 1)) + list(x.unbind(1)) + list(x.tensor_split([1, 3]))
    for p in pieces:
        assert p._base is x._base or p._base is x
    with ember.no_grad():
        x.split([1, 3])[1].mul_(0)
        x.unbind(1)[0].add_(100)
    assert x.tolist() == [[100.0, 1.0, 2.0], [100.0, 0.0, 0.0], [100.0, 0.0, 0.0], [100.0, 0.0, 0.0]]
    assert x._version == pieces[0]._version == 2


def test_split_unbind_gradcheck():
    check_gradcheck([(5, 2)], lambda x: x.split([2, 3])[1] * 2 + x.chunk(2)[0].sum())
    check_gradcheck([(3, 2)], lambda x: x.unbind(1)[0] * x.unbind(1)[1])
    check_gradcheck([(2, 5)], lambda x: x.tensor_split([1, 4], 1)[1] * x.tensor_split(2, 1)[0].sum())


# ---- repeat / tile / repeat_interleave ---------------------------------------------------------
@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 1)), ((2, 3), (1, 1)), ((2, 3), (3, 2, 2)), ((3,), (2, 0)),
                                        ((), (2, 3)), ((), ()), ((1, 2), (2, 3))])
def test_repeat(shape, reps):
    check_op([shape], lambda x: x.repeat(reps))
    if reps:
        check_op([shape], lambda x: x.repeat(*reps))


def test_repeat_copies_and_errors():
    x = ember.zeros(2, 3)
    out = x.repeat(1, 1)
    out.add_(1.0)
    assert x.sum().item() == 0.0 and out._base is None
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be smaller"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1"):
        x.repeat(2, -1)


@pytest.mark.parametrize("shape,reps", [((2, 3), (2,)), ((2, 3), (2, 2)), ((2, 3), (2, 1, 2)), ((), (3,)),
                                        ((3,), 2)])
def test_tile(shape, reps):
    check_op([shape], lambda x: x.tile(reps))
    check_op([shape], lambda x: torch.tile(x, reps if isinstance(reps, tuple) else (reps,)),
             lambda x: ember.tile(x, reps))


@pytest.mark.parametrize("repeats", [2, 1, 0, "tensor", "tensor1"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_repeat_interleave(repeats, dim):
    def run(x, lib):
        r = repeats
        if r == "tensor":
            r = lib.tensor([1, 0, 3]) if dim in (1, -1) else lib.tensor([2, 1])
            if dim is None:
                r = lib.tensor([0, 1, 2, 1, 1, 3])
        elif r == "tensor1":
            r = lib.tensor([2])
        return lib.repeat_interleave(x, r, dim=dim)
    check_op([(2, 3)], lambda x: run(x, torch), lambda x: run(x, ember))
    check_op([(2, 3)], lambda x: x.repeat_interleave(2, dim=dim))


def test_repeat_interleave_edge_cases_and_errors():
    check_op([()], lambda x: x.repeat_interleave(3))
    check_op([(1, 2)], lambda x: x.repeat_interleave(3, 0))
    out = ember.repeat_interleave(ember.tensor([1, 0, 2]))
    assert_close(out, torch.repeat_interleave(torch.tensor([1, 0, 2])))
    x = ember.zeros(1, 3)
    assert x.repeat_interleave(1, 0)._base is None
    with pytest.raises(RuntimeError, match=r"repeats must have the same size as input along dim, but got "
                                           r"repeats.size\(0\) = 2 and input.size\(0\) = 3"):
        ember.zeros(3, 4).repeat_interleave(ember.tensor([1, 2]), dim=0)
    with pytest.raises(RuntimeError, match="Repeats must be non-negative"):
        ember.zeros(3).repeat_interleave(-1)
    with pytest.raises(RuntimeError, match="Repeats must be non-negative"):
        ember.zeros(2).repeat_interleave(ember.tensor([1, -1]))


def test_repeat_gradcheck():
    check_gradcheck([(2, 3)], lambda x: x.repeat(2, 1, 2) * 1.5)
    check_gradcheck([(2, 3)], lambda x: x.tile((2,)) + x.repeat_interleave(2, 1).sum(1, keepdim=True))
    check_gradcheck([(2, 3)], lambda x: x.repeat_interleave(ember.tensor([2, 0, 1]), dim=1) ** 2)


def test_join_of_views_and_transposed_inputs():
    check_op([(3, 4)], lambda x: torch.cat([x.t(), x.t()[:, :2]], 1),
             lambda x: ember.cat([x.t(), x.t()[:, :2]], 1))
    check_op([(3, 1)], lambda x: torch.stack([x.expand(3, 2), x.expand(3, 2)]),
             lambda x: ember.stack([x.expand(3, 2), x.expand(3, 2)]))


def test_keyword_arguments():
    check_op([(2, 3)], lambda x: x.repeat(repeats=(2, 1)))
    check_op([(2, 3)], lambda x: x.tile(dims=(2,)))
    check_op([(2, 3)], lambda x: torch.tile(x, dims=(1, 2)), lambda x: ember.tile(x, dims=(1, 2)))


@pytest.mark.parametrize("case", ["3-d", "2-d", "no bias", "frozen weight", "input without grad", "unused piece",
                                  "float64", "chunk"])
def test_split_of_a_linear_output_takes_its_gradients_without_joining(monkeypatch, case):
    """q, k, v = linear(x).split(...): the split's backward runs with the linear layer's as one,
    each piece's products writing its rows of the weight's gradient (no join of the pieces);
    the gradients are PyTorch's and the joined path's."""
    import numpy as np
    from ember.ops import join, linalg
    rng = np.random.default_rng(0)
    dtype = np.float64 if case == "float64" else np.float32
    x0 = rng.standard_normal((7, 8) if case == "2-d" else (6, 5, 8)).astype(dtype)
    w0 = rng.standard_normal((12, 8)).astype(dtype) / 3
    b0 = None if case == "no bias" else rng.standard_normal(12).astype(dtype)
    fused = []
    real, real_fuse = linalg.linear_grads_of_pieces, join.Split.fuse_backward

    def counted(node, pieces):
        out = real(node, pieces)
        if len(pieces) > 1:  # the split's fused backward (a linear layer's own passes one piece)
            fused.append(out is not None)
        return out

    def run(m, joined=False):
        x = m.tensor(x0, requires_grad=case != "input without grad")
        w = m.tensor(w0, requires_grad=case != "frozen weight")
        b = None if b0 is None else m.tensor(b0, requires_grad=True)
        y = m.nn.functional.linear(x, w, b)
        q, k, v = y.chunk(3, -1) if case == "chunk" else y.split([3, 4, 5], -1)
        loss = (q * 2).sum() + (k ** 2).sum()
        if case != "unused piece":
            loss = loss + v.tanh().sum()
        if m is ember:
            monkeypatch.setattr(join.Split, "fuse_backward", None if joined else real_fuse)
            monkeypatch.setattr(linalg, "linear_grads_of_pieces", counted)
        loss.backward()
        return [None if t is None or t.grad is None else t.grad.detach().numpy() for t in (x, w, b)]

    theirs, joined, ours = run(torch), run(ember, joined=True), run(ember)
    assert fused == [True]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    for a, j, t in zip(ours, joined, theirs):
        assert (a is None) == (j is None) == (t is None)
        if a is not None:
            assert a.dtype == dtype
            np.testing.assert_allclose(a, j, **tol)
            np.testing.assert_allclose(a, t, **tol)


def test_a_split_along_another_dim_joins_its_pieces():
    x = ember.randn(6, 4, requires_grad=True)
    w = ember.randn(10, 4, requires_grad=True)
    xt, wt = torch.tensor(x.detach().numpy(), requires_grad=True), torch.tensor(w.detach().numpy(), requires_grad=True)
    for m, (a, b) in ((ember, (x, w)), (torch, (xt, wt))):
        top, bottom = m.nn.functional.linear(a, b).split([2, 4], 0)
        ((top * 3).sum() + bottom.exp().sum()).backward()
    assert_close(x.grad, xt.grad)
    assert_close(w.grad, wt.grad)
