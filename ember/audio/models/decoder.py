"""CTC decoders (torchaudio.models.decoder's place and names): ``ctc_decoder`` builds a
lexicon-free CTC prefix beam search, ``ctc_greedy_decode`` is the fast best-path decoder.

Both run in NumPy on the host: emissions are detached and CUDA tensors copied to the CPU.
The beam search keeps, per prefix (a collapsed label sequence), the log-probability of its
alignments ending in a blank and ending in its last label; each frame extends all beams by
all candidate labels at once, as array ops over (beams x labels), and only the survivors
become Python tuples.
"""
from __future__ import annotations

import os
from typing import List, NamedTuple, Optional, Union

import numpy as np

import ember
from ember import Tensor

__all__ = ["CTCDecoder", "CTCHypothesis", "ctc_decoder", "ctc_greedy_decode"]


class CTCHypothesis(NamedTuple):
    """One decoded sequence: ``tokens`` (LongTensor, blanks removed and repeats collapsed),
    ``words`` (the tokens split at the silence token), ``score`` (log-probability of the
    prefix over its alignments; the best alignment's with ``log_add=False``) and
    ``timesteps`` (IntTensor, the frame where each token starts)."""
    tokens: Tensor
    words: List[str]
    score: float
    timesteps: Tensor


def _host_emissions(emissions: Tensor, lengths: Optional[Tensor], where: str) -> tuple[np.ndarray, np.ndarray]:
    """(batch, frames, tokens) float64 scores and (batch,) valid lengths, checked, on the host."""
    if not isinstance(emissions, Tensor):
        raise TypeError(f"{where}: emissions must be a Tensor, got {type(emissions).__name__}.")
    if emissions.dim() != 3:
        raise RuntimeError(f"{where}: emissions must be 3D (batch, frames, tokens). Found {tuple(emissions.shape)}.")
    if not emissions.is_floating_point():
        raise ValueError(f"{where}: emissions must be floating point (log-probabilities or logits), "
                         f"got {emissions.dtype}.")
    scores = emissions.detach().cpu().numpy().astype(np.float64)
    batch, frames, _ = scores.shape
    if lengths is None:
        return scores, np.full(batch, frames, dtype=np.int64)
    valid = np.asarray(lengths.detach().cpu().numpy() if isinstance(lengths, Tensor) else lengths)
    if valid.shape != (batch,) or valid.dtype.kind not in "iu":
        raise RuntimeError(f"{where}: lengths must be an integer tensor of shape ({batch},) for emissions of "
                           f"shape {tuple(emissions.shape)}; got shape {valid.shape} and dtype {valid.dtype}.")
    if (valid < 0).any() or (valid > frames).any():
        raise RuntimeError(f"{where}: lengths must lie in [0, {frames}] (the emissions' frames); "
                           f"got {valid.tolist()}.")
    return scores, valid.astype(np.int64)


def ctc_greedy_decode(emissions: Tensor, lengths: Optional[Tensor] = None, blank: int = 0) -> List[List[int]]:
    """Best-path decoding: the most likely token of each frame, repeats collapsed, blanks dropped.

    The fast path (one argmax over the batch); it returns the labelling of the single most
    likely alignment, which is usually but not always the most likely labelling: the beam
    search of ``ctc_decoder`` sums over alignments. ``emissions``: (batch, frames, tokens);
    ``lengths``: (batch,) valid frames per sequence.
    """
    scores, valid = _host_emissions(emissions, lengths, "ctc_greedy_decode")
    if not 0 <= blank < scores.shape[2]:
        raise IndexError(f"ctc_greedy_decode: blank={blank} is out of range for emissions with "
                         f"{scores.shape[2]} tokens.")
    best = scores.argmax(axis=2)
    keep = best != blank
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    keep &= np.arange(scores.shape[1]) < valid[:, None]
    return [row[mask].tolist() for row, mask in zip(best, keep)]


class CTCDecoder:
    """CTC prefix beam search over emissions of shape (batch, frames, tokens); built by
    :func:`ctc_decoder`. ``decoder(emissions, lengths=None)`` returns, per sequence, the
    ``nbest`` hypotheses, best first."""

    def __init__(self, tokens: List[str], nbest: int, beam_size: int, beam_size_token: Optional[int],
                 beam_threshold: float, log_add: bool, blank_token: str, sil_token: str) -> None:
        self.tokens = list(tokens)
        self.nbest = nbest
        self.beam_size = beam_size
        self.beam_size_token = beam_size_token
        self.beam_threshold = beam_threshold
        # sum over alignments (log-add) or keep the best one: the same recursion in another semiring
        self._combine = np.logaddexp if log_add else np.maximum
        self.blank = self.tokens.index(blank_token)
        self.sil = self.tokens.index(sil_token) if sil_token in self.tokens else None

    def idxs_to_tokens(self, idxs: Tensor) -> List[str]:
        """The token strings of a 1-D tensor of token indices."""
        return [self.tokens[i] for i in idxs.tolist()]

    def __call__(self, emissions: Tensor, lengths: Optional[Tensor] = None) -> List[List[CTCHypothesis]]:
        scores, valid = _host_emissions(emissions, lengths, "CTCDecoder")
        if scores.shape[2] != len(self.tokens):
            raise ValueError(f"CTCDecoder: emissions have {scores.shape[2]} tokens per frame (shape "
                             f"{tuple(emissions.shape)}) but the decoder was built with {len(self.tokens)} tokens; "
                             f"the last dimension must index the decoder's tokens.")
        return [self._hypotheses(*self._search(sample[:n])) for sample, n in zip(scores, valid)]

    def _candidates(self, frames: np.ndarray) -> np.ndarray:
        """Per frame, the labels a beam may be extended by: the ``beam_size_token`` best (all
        without a limit), blank excluded (staying on a prefix is always considered)."""
        vocab = frames.shape[1]
        labels = np.array([c for c in range(vocab) if c != self.blank], dtype=np.int64)
        if self.beam_size_token is None or self.beam_size_token >= vocab:
            return np.broadcast_to(labels, (len(frames), len(labels)))
        top = np.argpartition(-frames, self.beam_size_token - 1, axis=1)[:, :self.beam_size_token]
        # fixed width: a frame whose top-k holds the blank gets it masked out later
        return top

    def _search(self, frames: np.ndarray) -> tuple[list, np.ndarray, list]:
        """Prefix beam search over one sequence's (frames, tokens) scores: the final prefixes,
        their scores and their tokens' start frames."""
        combine, blank = self._combine, self.blank
        prefixes: list = [()]
        starts: list = [()]
        p_blank = np.zeros(1)            # log P(alignments of the prefix ending in a blank)
        p_label = np.full(1, -np.inf)    # ... ending in the prefix's last label
        last = np.full(1, -1)            # the prefix's last label (-1: the empty prefix)
        candidates = self._candidates(frames)
        for t, lp in enumerate(frames):
            cand = candidates[t]
            total = combine(p_blank, p_label)
            # staying on the prefix: a blank, or the last label repeated
            stay_blank = total + lp[blank]
            stay_label = np.where(last >= 0, p_label + lp[np.maximum(last, 0)], -np.inf)
            # growing it by label c: from any alignment, or only after a blank when c repeats the last label
            grow = np.where(cand[None, :] == last[:, None], p_blank[:, None], total[:, None]) + lp[cand][None, :]
            grow[:, cand == blank] = -np.inf
            # a grown prefix that is already a beam joins that beam instead of becoming a new one
            index = {p: i for i, p in enumerate(prefixes)}
            where = {int(c): j for j, c in enumerate(cand)}
            old_mass = combine(stay_blank, stay_label)
            old_starts, starts = starts, list(starts)
            for i, p in enumerate(prefixes):
                if p and p[:-1] in index and p[-1] in where:
                    src, j = index[p[:-1]], where[p[-1]]
                    joined = grow[src, j]
                    grow[src, j] = -np.inf
                    if joined > old_mass[i]:  # the label's start: that of the likelier alignments
                        starts[i] = old_starts[src] + (t,)
                    stay_label[i] = combine(stay_label[i], joined)
            p_blank, p_label, last, prefixes, starts = self._prune(
                stay_blank, stay_label, grow, cand, last, prefixes, starts, t)
        return prefixes, combine(p_blank, p_label), starts

    def _prune(self, stay_blank, stay_label, grow, cand, last, prefixes, starts, t):
        """Keep the ``beam_size`` best of the stayed and grown prefixes within ``beam_threshold``
        of the best; only those become Python tuples."""
        beams = len(prefixes)
        score = np.concatenate([self._combine(stay_blank, stay_label), grow.ravel()])
        finite = np.isfinite(score)
        if finite.any():
            finite &= score >= score[finite].max() - self.beam_threshold
        keep = np.flatnonzero(finite)
        if len(keep) > self.beam_size:
            keep = keep[np.argpartition(-score[keep], self.beam_size - 1)[:self.beam_size]]
        keep = keep[np.argsort(-score[keep], kind="stable")]
        stayed = keep < beams
        src, j = np.divmod(keep - beams, len(cand))
        labels = cand[j]
        new_prefixes, new_starts = [], []
        for k, s, c in zip(keep.tolist(), src.tolist(), labels.tolist()):
            if k < beams:
                new_prefixes.append(prefixes[k])
                new_starts.append(starts[k])
            else:
                new_prefixes.append(prefixes[s] + (c,))
                new_starts.append(starts[s] + (t,))
        p_blank = np.where(stayed, stay_blank[np.minimum(keep, beams - 1)], -np.inf)
        p_label = np.where(stayed, stay_label[np.minimum(keep, beams - 1)], score[keep])
        new_last = np.where(stayed, last[np.minimum(keep, beams - 1)], labels)
        return p_blank, p_label, new_last, new_prefixes, new_starts

    def _hypotheses(self, prefixes: list, scores: np.ndarray, starts: list) -> List[CTCHypothesis]:
        order = np.argsort(-scores, kind="stable")[:self.nbest]
        return [CTCHypothesis(tokens=ember.tensor(list(prefixes[i]), dtype=ember.long), words=self._words(prefixes[i]),
                              score=float(scores[i]), timesteps=ember.tensor(list(starts[i]), dtype=ember.int32))
                for i in order.tolist()]

    def _words(self, prefix: tuple) -> List[str]:
        """The token strings joined between silence tokens (lexicon-free words)."""
        words, current = [], []
        for c in prefix:
            if c == self.sil:
                words.append("".join(current))
                current = []
            else:
                current.append(self.tokens[c])
        words.append("".join(current))
        return [w for w in words if w]


def _read_tokens(tokens: Union[str, os.PathLike, List[str]]) -> List[str]:
    if isinstance(tokens, (str, os.PathLike)):
        with open(tokens, encoding="utf-8") as f:
            return [line.rstrip("\r\n") for line in f if line.strip()]
    return list(tokens)


def ctc_decoder(lexicon: Optional[str] = None, tokens: Union[str, List[str]] = (), lm=None, lm_dict=None,
                nbest: int = 1, beam_size: int = 50, beam_size_token: Optional[int] = None,
                beam_threshold: float = 50.0, lm_weight: float = 2.0, word_score: float = 0.0,
                unk_score: float = float("-inf"), sil_score: float = 0.0, log_add: bool = False,
                blank_token: str = "-", sil_token: str = "|", unk_word: str = "<unk>") -> CTCDecoder:
    """A lexicon-free CTC prefix beam search decoder (torchaudio.models.decoder.ctc_decoder).

    ``tokens``: the token strings in emission order, or a file with one per line. Each
    frame, every beam is extended by the ``beam_size_token`` most likely tokens (all when
    None); the ``beam_size`` best prefixes within ``beam_threshold`` of the best survive.
    Alignments of the same prefix are merged, so a hypothesis's ``score`` is the summed
    log-probability of all its alignments with ``log_add=True``, or the best single
    alignment's with False (the default, as torchaudio's). Emissions are treated as scores
    and added as they are: pass log-probabilities for probabilities. ``words`` are the
    tokens joined and split at ``sil_token``.

    Only lexicon-free decoding without a language model is supported: ``lexicon``, ``lm``
    and ``lm_dict`` must be None, ``word_score`` and ``sil_score`` 0 (``lm_weight``,
    ``unk_score`` and ``unk_word`` only act through a lexicon or language model).
    """
    if lexicon is not None or lm is not None or lm_dict is not None:
        raise NotImplementedError("ctc_decoder: only lexicon-free decoding without a language model is supported; "
                                  "pass lexicon=None, lm=None and lm_dict=None.")
    if word_score != 0 or sil_score != 0:
        raise NotImplementedError(f"ctc_decoder: word_score and sil_score are not supported in lexicon-free decoding "
                                  f"here (got word_score={word_score}, sil_score={sil_score}); leave them at 0.")
    tokens = _read_tokens(tokens)
    if blank_token not in tokens:
        raise ValueError(f"ctc_decoder: blank_token {blank_token!r} is not among the {len(tokens)} tokens; "
                         f"pass the blank's string as blank_token.")
    for name, value in (("nbest", nbest), ("beam_size", beam_size)):
        if value < 1:
            raise ValueError(f"ctc_decoder: {name} must be at least 1, got {value}.")
    if beam_size_token is not None and beam_size_token < 1:
        raise ValueError(f"ctc_decoder: beam_size_token must be None or at least 1, got {beam_size_token}.")
    return CTCDecoder(tokens, nbest, beam_size, beam_size_token, beam_threshold, log_add, blank_token, sil_token)
