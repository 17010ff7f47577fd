"""nn.utils.rnn (padding and packing of variable-length sequences) against PyTorch's."""
import numpy as np
import pytest

import ember
from helpers import assert_close

torch = pytest.importorskip("torch")
tutils = torch.nn.utils.rnn
eutils = ember.nn.utils.rnn


def sequences(lengths, trailing=(3,), seed=0):
    """The same random sequences as torch and ember tensors that require grad."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + trailing).astype(np.float32) for n in lengths]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [ember.tensor(a, requires_grad=True) for a in arrays])


def backprop_same(out_t, out_e, leaves_t, leaves_e, seed=1):
    """Back-propagate one random cotangent through both results; compare the leaves' gradients."""
    cot = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(np.float32)
    out_t.backward(torch.tensor(cot))
    out_e.backward(ember.tensor(cot))
    for a, b in zip(leaves_e, leaves_t):
        assert_close(a.grad, b.grad, 0, 0, "grad")


def assert_same_packed(pe, pt):
    assert isinstance(pe, eutils.PackedSequence)
    assert_close(pe.data, pt.data, 0, 0, "data")
    assert_close(pe.batch_sizes, pt.batch_sizes, 0, 0, "batch_sizes")
    for k in ("sorted_indices", "unsorted_indices"):
        assert (getattr(pe, k) is None) == (getattr(pt, k) is None), k
        if getattr(pt, k) is not None:
            assert_close(getattr(pe, k), getattr(pt, k), 0, 0, k)


@pytest.mark.parametrize("lengths", [[4, 2, 3], [1], [3, 3]])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(lengths, trailing, batch_first, padding_side):
    st, se = sequences(lengths, trailing)
    kw = dict(batch_first=batch_first, padding_value=-2.5, padding_side=padding_side)
    out_t, out_e = tutils.pad_sequence(st, **kw), eutils.pad_sequence(se, **kw)
    assert_close(out_e, out_t, 0, 0)
    backprop_same(out_t, out_e, st, se)


def test_pad_sequence_of_a_tensor_and_integer_sequences():
    x = np.arange(6).reshape(2, 3)
    assert_close(eutils.pad_sequence(ember.tensor(x)), tutils.pad_sequence(torch.tensor(x)), 0, 0)
    ints = [[1, 2, 3], [4], [5, 6]]
    assert_close(eutils.pad_sequence([ember.tensor(s) for s in ints], True, 9),
                 tutils.pad_sequence([torch.tensor(s) for s in ints], True, 9), 0, 0)


@pytest.mark.parametrize("lengths,enforce_sorted", [([4, 3, 3, 1], True), ([2, 4, 1, 4, 3], False),
                                                    ([3, 1, 3, 3, 2, 1], False), ([5], True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sequence_and_back(lengths, enforce_sorted, batch_first):
    steps, batch = max(lengths) + 1, len(lengths)  # one step of padding past the longest
    x = np.random.default_rng(0).standard_normal((batch, steps, 2) if batch_first else (steps, batch, 2))
    xt, xe = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    for lens in (lengths, torch.tensor(lengths)):
        pt = tutils.pack_padded_sequence(xt, lens, batch_first, enforce_sorted)
        pe = eutils.pack_padded_sequence(xe, lens if isinstance(lens, list) else ember.tensor(lengths),
                                         batch_first, enforce_sorted)
        assert_same_packed(pe, pt)
    backprop_same(pt.data, pe.data, [xt], [xe])
    for total in (None, steps + 2):
        kw = dict(batch_first=batch_first, padding_value=7.0, total_length=total)
        padded_t, len_t = tutils.pad_packed_sequence(pt, **kw)
        padded_e, len_e = eutils.pad_packed_sequence(pe, **kw)
        assert_close(padded_e, padded_t, 0, 0)
        assert_close(len_e, len_t, 0, 0)
    pt = tutils.pack_padded_sequence(torch.tensor(x, requires_grad=True), lengths, batch_first, enforce_sorted)
    data_t = pt.data.detach().requires_grad_()
    data_e = ember.tensor(data_t.detach().numpy(), requires_grad=True)
    out_t = tutils.pad_packed_sequence(tutils.PackedSequence(data_t, pt.batch_sizes, pt.sorted_indices,
                                                             pt.unsorted_indices), batch_first)[0]
    out_e = eutils.pad_packed_sequence(eutils.PackedSequence(data_e, pe.batch_sizes, pe.sorted_indices,
                                                             pe.unsorted_indices), batch_first)[0]
    backprop_same(out_t, out_e, [data_t], [data_e])


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_unpack_and_unpad(enforce_sorted):
    lengths = [4, 3, 1] if enforce_sorted else [1, 4, 3]
    st, se = sequences(lengths, (2,))
    pt, pe = tutils.pack_sequence(st, enforce_sorted), eutils.pack_sequence(se, enforce_sorted)
    assert_same_packed(pe, pt)
    backprop_same(pt.data, pe.data, st, se)
    back_t, back_e = tutils.unpack_sequence(pt), eutils.unpack_sequence(pe)
    assert len(back_e) == len(back_t) == 3
    for a, b, s in zip(back_e, back_t, se):
        assert_close(a, b, 0, 0)
        assert np.array_equal(a.detach().numpy(), s.detach().numpy())
    for batch_first in (False, True):
        padded_e = eutils.pad_sequence(se, batch_first)
        un_t = tutils.unpad_sequence(tutils.pad_sequence(st, batch_first), torch.tensor(lengths), batch_first)
        for lens in (lengths, ember.tensor(lengths)):
            un_e = eutils.unpad_sequence(padded_e, lens, batch_first)
            for a, b in zip(un_e, un_t):
                assert_close(a, b, 0, 0)
        assert padded_e.shape == ((3, 4, 2) if batch_first else (4, 3, 2))  # not transposed in place


def test_packed_sequence_type():
    pe = eutils.pack_sequence([ember.tensor([1.0, 2.0]), ember.tensor([3.0])])
    assert pe._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    data, batch_sizes, sorted_indices, unsorted_indices = pe
    assert batch_sizes.dtype == ember.int64 and batch_sizes.tolist() == [2, 1] and sorted_indices is None
    again = eutils.PackedSequence((data, batch_sizes))
    assert again.batch_sizes is batch_sizes and again.unsorted_indices is None
    p2 = eutils.PackedSequence(data, batch_sizes, ember.tensor([1, 0]))
    assert p2.unsorted_indices.tolist() == [1, 0]
    d = p2.double()
    assert d.data.dtype == ember.float64 and d.batch_sizes is batch_sizes and d.sorted_indices.tolist() == [1, 0]
    assert p2.to(ember.float32) is p2 and p2.cpu() is p2 and not p2.is_cuda and not p2.is_pinned()
    assert p2.long().data.dtype == ember.int64 and p2.half().data.dtype == ember.float16
    assert p2.byte().data.dtype == ember.uint8 and p2.char().data.dtype == ember.int8
    assert p2.int().data.dtype == ember.int32 and p2.short().data.dtype == ember.int16
    assert p2.float().data.dtype == ember.float32
    perm = ember.tensor([2, 0, 3, 1])
    inv = eutils.invert_permutation(perm)
    assert inv.tolist() == tutils.invert_permutation(torch.tensor([2, 0, 3, 1])).tolist()
    assert eutils.invert_permutation(None) is None
    with pytest.raises(AssertionError, match="Expected data to be a list or tuple of length 2"):
        eutils.PackedSequence(ember.zeros(3))


def test_errors_match_torch():
    x = np.zeros((4, 3, 2), np.float32)
    cases = [
        (lambda u, m: u.pack_padded_sequence(m.tensor(x), [3, 4, 2]), RuntimeError,
         "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True"),
        (lambda u, m: u.pack_padded_sequence(m.tensor(x), [4, 3]), RuntimeError,
         "Expected `len\\(lengths\\)` to be equal to batch_size, but got 2 \\(batch_size=3\\)"),
        (lambda u, m: u.pack_padded_sequence(m.tensor(x), [4, 3, 0]), RuntimeError,
         "Length of all samples has to be greater than 0"),
        (lambda u, m: u.pack_padded_sequence(m.tensor(x), [0, 3, 4], enforce_sorted=False), RuntimeError,
         "Length of all samples has to be greater than 0"),
        (lambda u, m: u.pad_packed_sequence(u.pack_padded_sequence(m.tensor(x), [4, 3, 2]), total_length=3),
         ValueError, "Expected total_length to be at least the length of the longest sequence in input, but got "
                     "total_length=3 and max sequence length being 4"),
        (lambda u, m: u.pad_sequence([]), RuntimeError, "received an empty list of sequences"),
        (lambda u, m: u.pad_sequence([m.zeros(2)], padding_side="middle"), RuntimeError,
         "Expected padding_side to be one of left or right, but got middle."),
        (lambda u, m: u.pad_sequence(3), RuntimeError, "Expected iterable for input sequences"),
        (lambda u, m: u.pad_sequence([m.zeros(2, 3), m.zeros(3, 4)]), RuntimeError, None),
    ]
    for fn, exc, match in cases:
        for u, m in ((tutils, torch), (eutils, ember)):
            with pytest.raises(exc, match=match):
                fn(u, m)
    with pytest.raises(RuntimeError, match="exceeds the 4 time steps"):
        eutils.pack_padded_sequence(ember.zeros(4, 3, 2), [5, 3, 2])
    with pytest.raises(RuntimeError, match="same trailing shape"):
        eutils.pad_sequence([ember.zeros(2, 3), ember.zeros(3, 4)])
