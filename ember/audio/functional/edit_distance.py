"""edit_distance (torchaudio.functional.edit_distance): the Levenshtein distance between two
sequences, for word or character error rates."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ember import Tensor


def _elements(seq) -> list:
    """The sequence's elements as plain Python values (a 1-D tensor's numbers, a string's characters)."""
    if isinstance(seq, Tensor):
        if seq.dim() != 1:
            raise ValueError(f"edit_distance: a tensor sequence must be 1-D (got shape {tuple(seq.shape)}); "
                             f"compare the rows one at a time.")
        return seq.detach().cpu().tolist()
    return list(seq)


def edit_distance(seq1: Sequence, seq2: Sequence) -> int:
    """The fewest insertions, deletions and substitutions turning ``seq1`` into ``seq2``.

    The sequences may be strings (characters compared), lists of tokens or words, or 1-D
    tensors. Divide by ``len(reference)`` for an error rate (WER on word lists, CER on strings).
    """
    first, second = _elements(seq1), _elements(seq2)
    # elements as integer ids, so one row of the table is computed with array ops
    ids: dict = {}
    a = np.array([ids.setdefault(x, len(ids)) for x in first], dtype=np.int64)
    b = np.array([ids.setdefault(x, len(ids)) for x in second], dtype=np.int64)
    cols = np.arange(len(b) + 1)
    row = cols.copy()
    for i, x in enumerate(a, start=1):
        # substitution (or a match) and deletion come from the previous row ...
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[:-1] + (b != x), row[1:] + 1)
        # ... insertion chains along this row: d[j] = min_k (best[k] + j - k), a running minimum
        row = np.minimum.accumulate(best - cols) + cols
    return int(row[-1])
