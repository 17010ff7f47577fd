"""Batches for language models (pytorch/examples' batchify and BPTT windows, nanoGPT's random
blocks) and padded batches of variable-length sequences for classifiers."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from .._tensor import Tensor
from ..backend.random import Generator
from ..ops.creation import arange, from_numpy, randint
from ..utils.data import default_collate

__all__ = ["BPTTIterator", "PadCollate", "batchify", "get_batch", "pad_batch", "random_blocks"]


def batchify(data: Tensor, bsz: int) -> Tensor:
    """Cut a token stream into ``bsz`` columns: ``data`` (N,) -> (N // bsz, bsz).

    Tokens that do not fill a last row are dropped; column ``j`` holds the ``j``-th consecutive
    slice of the stream, so each column is an independent sequence for truncated BPTT.
    """
    if data.dim() != 1:
        raise ValueError(f"batchify: expected a 1-D token tensor, got shape {tuple(data.shape)}")
    if not isinstance(bsz, int) or bsz < 1:
        raise ValueError(f"batchify: bsz must be a positive int, got {bsz!r}")
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


def get_batch(source: Tensor, i: int, bptt: int = 35) -> tuple[Tensor, Tensor]:
    """The BPTT window starting at row ``i`` of a batchified ``source`` (T, B) and its targets.

    Returns ``data`` = ``source[i:i+L]`` (L, B) and ``target`` = ``source[i+1:i+1+L]`` flattened
    to (L * B,), where ``L = min(bptt, T - 1 - i)``: each token's target is the next token of
    its column.
    """
    seq_len = min(bptt, len(source) - 1 - i)
    if seq_len < 1:
        raise IndexError(f"get_batch: no window starts at row {i} of a source with {len(source)} rows "
                         f"(the last window starts at row {len(source) - 2})")
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)


class BPTTIterator:
    """The consecutive ``get_batch`` windows of a batchified ``source``: rows 0, bptt, 2*bptt, ...

    Args:
        source: a (T, B) tensor from ``batchify``.
        bptt: the window length; the last window may be shorter.
    """

    def __init__(self, source: Tensor, bptt: int = 35):
        if source.dim() != 2:
            raise ValueError(f"BPTTIterator: expected a batchified (T, B) source, got shape {tuple(source.shape)}")
        if not isinstance(bptt, int) or bptt < 1:
            raise ValueError(f"BPTTIterator: bptt must be a positive int, got {bptt!r}")
        self.source = source
        self.bptt = bptt

    def __len__(self) -> int:
        return len(range(0, len(self.source) - 1, self.bptt))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i in range(0, len(self.source) - 1, self.bptt):
            yield get_batch(self.source, i, self.bptt)


def random_blocks(data: Tensor, batch_size: int, block_size: int,
                  generator: Generator | None = None) -> tuple[Tensor, Tensor]:
    """Inputs and targets for next-token prediction: ``batch_size`` blocks ``data[i:i+block_size]``
    at random offsets ``i``, and the same blocks one token later (nanoGPT's ``get_batch``).

    Shape: ``data`` (N,) -> x, y (batch_size, block_size). The offsets are
    ``ember.randint(N - block_size, (batch_size,), generator=generator)``.
    """
    if data.dim() != 1:
        raise ValueError(f"random_blocks: expected 1-D data, got shape {tuple(data.shape)}")
    if len(data) <= block_size:
        raise ValueError(f"random_blocks: block_size={block_size} needs more than {block_size} tokens "
                         f"of data, got {len(data)}")
    starts = randint(len(data) - block_size, (batch_size,), generator=generator, device=data.device)
    index = starts[:, None] + arange(block_size, device=data.device)  # (B, T)
    return data[index], data[index + 1]


def _as_array(seq) -> np.ndarray:
    if isinstance(seq, Tensor):
        return seq.detach().cpu().numpy()
    return np.asarray(seq, dtype=np.int64)


def pad_batch(sequences: Sequence[Sequence[int] | Tensor], padding_value: float = 0,
              batch_first: bool = True) -> tuple[Tensor, Tensor]:
    """Stack variable-length sequences into one padded tensor, with their lengths.

    Args:
        sequences: lists of token indices (int64) or tensors of shape (L, *), same trailing shape.
        padding_value: the value after each sequence's end.
        batch_first: (B, T, *) if True, else (T, B, *).

    Returns:
        ``(padded, lengths)``: lengths is a CPU int64 tensor (B,), as
        ``nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=batch_first,
        enforce_sorted=False)`` takes it.
    """
    if len(sequences) == 0:
        raise RuntimeError("pad_batch: received an empty list of sequences")
    arrays = [_as_array(s) for s in sequences]
    trailing = {a.shape[1:] for a in arrays}
    if any(a.ndim == 0 for a in arrays) or len(trailing) != 1:
        raise ValueError(f"pad_batch: sequences must have shape (L, *) with the same trailing shape, "
                         f"got shapes {[a.shape for a in arrays]}")
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    out = np.full((len(arrays), int(lengths.max()), *trailing.pop()), padding_value,
                  dtype=np.result_type(*arrays))
    for row, a in zip(out, arrays):
        row[:len(a)] = a
    padded = from_numpy(out if batch_first else np.ascontiguousarray(out.swapaxes(0, 1)))
    first = sequences[0]
    if isinstance(first, Tensor):
        padded = padded.to(first.device)
    return padded, from_numpy(lengths)


class PadCollate:
    """A DataLoader ``collate_fn`` for classification: samples ``(token indices, label)`` become
    ``(padded (B, T), lengths (B,), labels (B,))``.

    Args:
        padding_value: the index used for padding (usually ``vocab['<pad>']``).
        batch_first: padded is (B, T) if True, else (T, B).
        sort_by_length: order each batch by decreasing length, so
            ``pack_padded_sequence(..., enforce_sorted=True)`` accepts it.
    """

    def __init__(self, padding_value: int = 0, batch_first: bool = True, sort_by_length: bool = False):
        self.padding_value = padding_value
        self.batch_first = batch_first
        self.sort_by_length = sort_by_length

    def __call__(self, batch: Sequence[tuple]) -> tuple[Tensor, Tensor, Tensor]:
        if self.sort_by_length:
            # A stable sort: equal lengths keep their order in the batch.
            batch = sorted(batch, key=lambda sample: -len(sample[0]))
        padded, lengths = pad_batch([sample[0] for sample in batch], self.padding_value, self.batch_first)
        return padded, lengths, default_collate([sample[1] for sample in batch])

    def __repr__(self) -> str:
        return (f"PadCollate(padding_value={self.padding_value}, batch_first={self.batch_first}, "
                f"sort_by_length={self.sort_by_length})")
