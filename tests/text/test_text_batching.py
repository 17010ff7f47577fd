"""batchify / get_batch / BPTT windows against pytorch/examples' definitions; random blocks;
padded batches against pad_sequence and pack_padded_sequence."""
import numpy as np
import pytest

import ember
from ember.text import BPTTIterator, PadCollate, batchify, get_batch, pad_batch, random_blocks
from ember.utils.data import DataLoader

torch = pytest.importorskip("torch")
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence  # noqa: E402


def torch_batchify(data, bsz):
    """pytorch/examples word_language_model main.py's batchify."""
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def torch_get_batch(source, i, bptt):
    """pytorch/examples word_language_model main.py's get_batch."""
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def stream(n):
    values = np.random.default_rng(n).integers(0, 1000, size=n)
    return ember.tensor(values, dtype=ember.int64), torch.tensor(values, dtype=torch.int64)


@pytest.mark.parametrize("n, bsz", [(100, 1), (100, 7), (100, 10), (103, 20), (5, 10), (0, 3), (1, 1)])
def test_batchify_matches_the_definition(n, bsz):
    e, t = stream(n)
    out, ref = batchify(e, bsz), torch_batchify(t, bsz)
    assert tuple(out.shape) == tuple(ref.shape) == (n // bsz, bsz)
    assert out.dtype == ember.int64 and out.is_contiguous()
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    if n >= bsz >= 2:  # column j is the j-th consecutive slice of the stream
        np.testing.assert_array_equal(out[:, 1].numpy(), e[n // bsz:2 * (n // bsz)].numpy())


def test_batchify_errors():
    with pytest.raises(ValueError, match=r"1-D token tensor, got shape \(2, 3\)"):
        batchify(ember.zeros(2, 3, dtype=ember.int64), 2)
    with pytest.raises(ValueError, match="positive int"):
        batchify(ember.arange(10), 0)


@pytest.mark.parametrize("n, bsz, bptt", [(200, 4, 7), (200, 4, 35), (200, 4, 49), (200, 4, 100), (35, 1, 5)])
def test_get_batch_and_bptt_iterator_match_the_definition(n, bsz, bptt):
    e, t = stream(n)
    source_e, source_t = batchify(e, bsz), torch_batchify(t, bsz)
    starts = list(range(0, source_t.size(0) - 1, bptt))
    windows = list(BPTTIterator(source_e, bptt))
    assert len(BPTTIterator(source_e, bptt)) == len(windows) == len(starts)
    for (data, target), i in zip(windows, starts):
        ref_data, ref_target = torch_get_batch(source_t, i, bptt)
        d2, t2 = get_batch(source_e, i, bptt)
        for ours in ((data, target), (d2, t2)):
            assert tuple(ours[0].shape) == tuple(ref_data.shape)
            assert tuple(ours[1].shape) == tuple(ref_target.shape) == (ref_data.numel(),)
            np.testing.assert_array_equal(ours[0].numpy(), ref_data.numpy())
            np.testing.assert_array_equal(ours[1].numpy(), ref_target.numpy())
    # every token but the first row is a target exactly once
    targets = np.concatenate([w[1].numpy() for w in windows])
    np.testing.assert_array_equal(targets, source_t[1:].reshape(-1).numpy())


def test_get_batch_default_bptt_and_errors():
    source = batchify(ember.arange(400), 4)
    data, target = get_batch(source, 0)
    assert tuple(data.shape) == (35, 4) and tuple(target.shape) == (140,)
    with pytest.raises(IndexError, match="no window starts at row 99 of a source with 100 rows"):
        get_batch(source, 99)
    with pytest.raises(ValueError, match="batchified"):
        BPTTIterator(ember.arange(10))
    with pytest.raises(ValueError, match="bptt must be a positive int"):
        BPTTIterator(source, 0)


def test_random_blocks_follow_their_definition():
    data = ember.arange(100, 200)
    x, y = random_blocks(data, 5, 12, generator=ember.Generator().manual_seed(7))
    starts = ember.randint(100 - 12, (5,), generator=ember.Generator().manual_seed(7)).tolist()
    assert x.shape == (5, 12) and y.shape == (5, 12)
    for row, s in enumerate(starts):
        assert x[row].tolist() == list(range(100 + s, 112 + s))
        assert y[row].tolist() == list(range(101 + s, 113 + s))
    ember.manual_seed(1)
    a = random_blocks(data, 3, 4)
    ember.manual_seed(1)
    b = random_blocks(data, 3, 4)
    assert a[0].tolist() == b[0].tolist()  # the default generator is used without one
    with pytest.raises(ValueError, match="1-D data"):
        random_blocks(data.view(10, 10), 2, 3)


SEQS = [[5, 3, 8], [2], [7, 7, 7, 7, 1], [], [4, 4]]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("padding_value", [0, -1, 9])
def test_pad_batch_matches_pad_sequence(batch_first, padding_value):
    padded, lengths = pad_batch(SEQS, padding_value=padding_value, batch_first=batch_first)
    ref = pad_sequence([torch.tensor(s, dtype=torch.int64) for s in SEQS], batch_first=batch_first,
                       padding_value=padding_value)
    assert padded.dtype == ember.int64 and tuple(padded.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(padded.numpy(), ref.numpy())
    assert lengths.dtype == ember.int64 and lengths.device.type == "cpu"
    assert lengths.tolist() == [3, 1, 5, 0, 2]


@pytest.mark.parametrize("batch_first", [True, False])
def test_pad_batch_feeds_pack_padded_sequence(batch_first):
    seqs = [s for s in SEQS if s]
    padded, lengths = pad_batch(seqs, padding_value=0, batch_first=batch_first)
    tp = torch.from_numpy(padded.numpy().astype(np.float32)).unsqueeze(-1)
    packed = pack_padded_sequence(tp, torch.from_numpy(lengths.numpy()), batch_first=batch_first,
                                  enforce_sorted=False)
    unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=batch_first)
    assert unpacked_lengths.tolist() == [len(s) for s in seqs]
    np.testing.assert_array_equal(unpacked.squeeze(-1).numpy(), padded.numpy())


def test_pad_batch_of_tensors_with_features():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 2)]
    padded, lengths = pad_batch([ember.tensor(a) for a in arrays], padding_value=0.5)
    ref = pad_sequence([torch.tensor(a) for a in arrays], batch_first=True, padding_value=0.5)
    assert padded.dtype == ember.float32 and tuple(padded.shape) == (3, 4, 3)
    np.testing.assert_array_equal(padded.numpy(), ref.numpy())
    assert lengths.tolist() == [4, 1, 2]


def test_pad_batch_errors():
    with pytest.raises(RuntimeError, match="empty list of sequences"):
        pad_batch([])
    with pytest.raises(ValueError, match="same trailing shape"):
        pad_batch([ember.zeros(2, 3), ember.zeros(2, 4)])
    with pytest.raises(ValueError, match="shape"):
        pad_batch([ember.tensor(3)])


class Samples:
    def __init__(self):
        self.items = [([1, 2, 3], 0), ([4], 1), ([5, 6, 7, 8], 1), ([9, 10], 0), ([11], 2)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_pad_collate_with_a_dataloader():
    batches = list(DataLoader(Samples(), batch_size=3, collate_fn=PadCollate(padding_value=-1)))
    padded, lengths, labels = batches[0]
    assert padded.tolist() == [[1, 2, 3, -1], [4, -1, -1, -1], [5, 6, 7, 8]]
    assert lengths.tolist() == [3, 1, 4] and labels.tolist() == [0, 1, 1]
    assert labels.dtype == ember.int64
    padded, lengths, labels = batches[1]
    assert padded.tolist() == [[9, 10], [11, -1]] and lengths.tolist() == [2, 1] and labels.tolist() == [0, 2]


def test_pad_collate_sorted_for_enforce_sorted_packing():
    collate = PadCollate(batch_first=False, sort_by_length=True)
    padded, lengths, labels = collate(Samples().items)
    assert lengths.tolist() == [4, 3, 2, 1, 1]
    assert labels.tolist() == [1, 0, 0, 1, 2]  # equal lengths keep their order
    assert padded[:, 0].tolist() == [5, 6, 7, 8]
    tp = torch.from_numpy(padded.numpy().astype(np.float32))
    packed = pack_padded_sequence(tp, lengths.tolist(), enforce_sorted=True)
    assert packed.batch_sizes.tolist() == [5, 3, 2, 1]
    assert repr(collate) == "PadCollate(padding_value=0, batch_first=False, sort_by_length=True)"
