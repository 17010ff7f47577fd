"""Variable-length sequences for recurrent layers: padding, packing and back.

A PackedSequence stores a batch of sequences sorted by decreasing length time step by time
step: ``data`` holds, for t = 0, 1, ..., the t-th element of every sequence that is at least
t + 1 long (``batch_sizes[t]`` of them), so no computation is spent on padding.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes
from ...backend.device import xp_of
from ...ops.creation import full
from ...ops.join import cat, stack
from ...ops.padding import pad

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    p = permutation._data
    inverse = np.empty_like(p)
    inverse[p] = np.arange(p.size, dtype=p.dtype, like=p)
    return Tensor._make(inverse)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                                      "unsorted_indices"])):
    """A batch of variable-length sequences packed time step by time step (see the module doc).

    Made by pack_padded_sequence or pack_sequence, not by hand. ``batch_sizes`` is an int64
    CPU tensor; ``sorted_indices`` maps the packed order to the original batch order (None when
    the batch came sorted) and ``unsorted_indices`` is its inverse.
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """``data`` converted like Tensor.to; the indices follow its device, batch_sizes stays
        on the CPU. Returns self when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (None if t is None else t.to(data.device)
                                            for t in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, device=None) -> "PackedSequence":
        return self.to("cuda" if device is None else device)

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=dtypes.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int32)

    def short(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int16)

    def char(self) -> "PackedSequence":
        return self.to(dtype=dtypes.int8)

    def byte(self) -> "PackedSequence":
        return self.to(dtype=dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


# ---- padded (T, B, *) <-> packed (N, *) ------------------------------------------------------
def packed_positions(batch_sizes, batch: int) -> np.ndarray:
    """For each packed row, its flat position t * batch + b in a (T, batch) padded layout."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    steps = np.repeat(np.arange(sizes.size), sizes)
    return steps * batch + np.arange(int(sizes.sum())) - np.repeat(starts, sizes)


def padded_to_packed(padded: Tensor, batch_sizes) -> Tensor:
    """The packed rows (N, *) of a time-major padded batch (T, B, *): one gather."""
    steps, batch = padded.shape[0], padded.shape[1]
    flat = padded.reshape((steps * batch,) + tuple(padded.shape[2:]))
    return flat[_on_device(packed_positions(batch_sizes, batch), padded)]


def packed_to_padded(data: Tensor, batch_sizes, steps: int | None = None,
                     padding_value: float = 0.0) -> Tensor:
    """The time-major padded batch (steps, B, *) of packed rows: one gather from the rows plus
    a padding row."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    batch = int(sizes[0]) if sizes.size else 0
    steps = sizes.size if steps is None else steps
    n = data.shape[0]
    layout = np.full(steps * batch, n, dtype=np.int64)  # row n is the padding row
    layout[packed_positions(sizes, batch)] = np.arange(n)
    rest = tuple(data.shape[1:])
    filler = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    return cat([data, filler])[_on_device(layout.reshape(steps, batch), data)]


def _on_device(index: np.ndarray, like: Tensor) -> Tensor:
    """A host index array as a tensor on ``like``'s device."""
    return Tensor._make(xp_of(like._data).asarray(index))


def _lengths(lengths) -> np.ndarray:
    arr = np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1:
        raise RuntimeError(f"lengths must be a 1-D list or tensor of sequence lengths, got shape "
                           f"{list(arr.shape)}")
    return arr.astype(np.int64)


# ---- the public functions ----------------------------------------------------------------------
def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of the given
    lengths.

    Args:
        lengths: each sequence's length (a list or a 1-D tensor).
        enforce_sorted: require lengths in decreasing order; with False the batch is sorted
            here and ``sorted_indices`` remembers the order.
    """
    lens = _lengths(lengths)
    batch_dim = 0 if batch_first else 1
    if lens.size != input.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={input.shape[batch_dim]})")
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                "sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _on_device(order, input)
        lens = lens[order]
        input = input.index_select(batch_dim, sorted_indices)
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    steps = input.shape[1 - batch_dim]
    if lens.size and lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a sequence length ({int(lens[0])}) exceeds the "
                           f"{steps} time steps of the padded input (shape {list(input.shape)})")
    if batch_first:
        input = input.transpose(0, 1)
    longest = int(lens[0]) if lens.size else 0
    batch_sizes = (lens[None, :] > np.arange(longest)[:, None]).sum(1)
    return PackedSequence(padded_to_packed(input, batch_sizes), Tensor._make(batch_sizes),
                          sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo pack_padded_sequence: (padded batch (T, B, *) or (B, T, *), int64 lengths), in the
    batch's original order.

    Args:
        total_length: pad to this many steps instead of the longest sequence's length.
    """
    sizes = sequence.batch_sizes._data.astype(np.int64)
    steps = sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence "
                             f"in input, but got total_length={total_length} and max sequence length "
                             f"being {steps}")
        steps = total_length
    padded = packed_to_padded(sequence.data, sizes, steps, padding_value)
    batch = int(sizes[0]) if sizes.size else 0
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)]
    return padded, Tensor._make(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *) with batch_first), T the
    longest length, filling with ``padding_value`` on the right (or the left)."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    elif not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = list(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.dim() == 0:
            raise RuntimeError(f"pad_sequence: sequence {i} is 0-d; sequences need a length dimension")
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence needs the same trailing shape: sequence 0 "
                               f"has {list(trailing)} after its length, sequence {i} has "
                               f"{list(s.shape[1:])}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        short = longest - s.shape[0]
        if short:
            s = pad(s, (0, 0) * len(trailing) + ((0, short) if padding_side == "right" else (short, 0)),
                    value=padding_value)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Undo pad_sequence: the list of sequences, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(_lengths(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shapes (L_i, *) (sorted by decreasing length unless
    ``enforce_sorted`` is False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Undo pack_sequence: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
