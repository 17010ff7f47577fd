"""CTC decoding and edit distance: the beam search against every alignment enumerated by brute
force (exact best labelling, its score summed over alignments, the n-best order), its score
against CTC loss (ember's and PyTorch's), the greedy decoder on hand-built emissions, and
edit_distance against the textbook dynamic programme."""
import itertools

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.audio.functional import edit_distance
from ember.audio.models.decoder import CTCHypothesis, ctc_decoder, ctc_greedy_decode

torch = pytest.importorskip("torch")

TOKENS = ["-", "a", "b", "c"]


# ---------------------------------------------------------------- edit distance

def _reference_distance(a, b) -> int:
    """The full Levenshtein table, one cell at a time."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if i == 0 or j == 0:
                table[i][j] = i + j
            else:
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                                  table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return table[-1][-1]


@pytest.mark.parametrize("a, b, expected", [("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "abc", 3),
                                            ("abc", "", 3), ("same", "same", 0), ("ab", "ba", 2)])
def test_edit_distance_known_strings(a, b, expected):
    assert edit_distance(a, b) == expected


def test_edit_distance_word_lists():
    ref = "the cat sat on the mat".split()
    hyp = "the cat sit on mat".split()
    assert edit_distance(ref, hyp) == 2  # one substitution, one deletion
    assert edit_distance(hyp, ref) == 2


@pytest.mark.parametrize("seed", range(8))
def test_edit_distance_matches_reference_table(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, rng.integers(0, 12)).tolist()
    b = rng.integers(0, 4, rng.integers(0, 12)).tolist()
    expected = _reference_distance(a, b)
    assert edit_distance(a, b) == expected
    assert edit_distance(ember.tensor(a, dtype=ember.long), ember.tensor(b, dtype=ember.long)) == expected
    assert isinstance(edit_distance(a, b), int)


def test_edit_distance_rejects_2d_tensors():
    with pytest.raises(ValueError, match="1-D"):
        edit_distance(ember.zeros(2, 3), ember.zeros(3))


# ---------------------------------------------------------------- brute force over alignments

def _labelling_scores(lp: np.ndarray, blank: int = 0, log_add: bool = True) -> dict:
    """Every collapsed labelling of the (T, V) scores with its log-sum-exp (or max) over alignments."""
    groups: dict = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        collapsed = tuple(c for k, c in enumerate(path) if c != blank and (k == 0 or c != path[k - 1]))
        groups.setdefault(collapsed, []).append(lp[np.arange(len(path)), path].sum())
    reduce = (lambda v: np.logaddexp.reduce(v)) if log_add else max
    return {labels: float(reduce(np.array(v))) for labels, v in groups.items()}


def _log_probs(seed, batch, frames, vocab=4):
    gen = np.random.default_rng(seed)
    logits = gen.normal(0, 1.5, (batch, frames, vocab))
    return ember.tensor(logits, dtype=ember.float64).log_softmax(-1)


def _wide(**kw):
    kw.setdefault("log_add", True)
    return ctc_decoder(None, TOKENS, beam_size=2000, beam_threshold=float("inf"), **kw)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("frames", [1, 3, 6])
def test_wide_beam_finds_the_exact_best_labellings_and_scores(seed, frames):
    em = _log_probs(seed, 2, frames)
    hyps = _wide(nbest=5)(em)
    for sample, got in zip(em.numpy(), hyps):
        expected = sorted(_labelling_scores(sample).items(), key=lambda kv: -kv[1])
        assert len(got) == min(5, len(expected))
        for hyp, (labels, score) in zip(got, expected):
            assert hyp.score == pytest.approx(score, abs=1e-9)
            # ties in score may swap labellings; the labelling's own score must match
            assert _labelling_scores(sample)[tuple(hyp.tokens.tolist())] == pytest.approx(hyp.score, abs=1e-9)
        assert tuple(got[0].tokens.tolist()) == expected[0][0]
        assert [h.score for h in got] == sorted((h.score for h in got), reverse=True)


@pytest.mark.parametrize("seed", range(3))
def test_log_add_false_scores_the_best_alignment(seed):
    em = _log_probs(seed, 1, 5)
    hyps = _wide(nbest=4, log_add=False)(em)[0]
    expected = sorted(_labelling_scores(em.numpy()[0], log_add=False).items(), key=lambda kv: -kv[1])
    for hyp, (_, score) in zip(hyps, expected):
        assert hyp.score == pytest.approx(score, abs=1e-9)
    # torchaudio's default is the best alignment's score
    default = ctc_decoder(None, TOKENS, nbest=4, beam_size=2000, beam_threshold=float("inf"))(em)[0]
    assert [h.score for h in default] == [h.score for h in hyps]


@pytest.mark.parametrize("seed", range(4))
def test_top_score_is_minus_ctc_loss_of_the_labelling(seed):
    em = _log_probs(seed, 3, 6)
    best = [h[0] for h in _wide()(em)]
    targets = [h.tokens.tolist() for h in best]
    flat = [c for t in targets for c in t]
    lengths = [len(t) for t in targets]
    log_probs = em.permute(1, 0, 2)
    nll = F.ctc_loss(log_probs, ember.tensor(flat, dtype=ember.long), [6] * 3, lengths, reduction="none")
    nll_torch = torch.nn.functional.ctc_loss(torch.from_numpy(log_probs.numpy().copy()),
                                             torch.tensor(flat, dtype=torch.long), [6] * 3, lengths,
                                             reduction="none")
    scores = np.array([h.score for h in best])
    np.testing.assert_allclose(scores, -nll.numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(scores, -nll_torch.numpy(), rtol=0, atol=1e-9)


def test_lengths_mask_the_frames_after_each_sequence():
    em = _log_probs(7, 3, 6)
    lengths = ember.tensor([6, 2, 0])
    hyps = _wide(nbest=3)(em, lengths)
    for sample, n, got in zip(em.numpy(), [6, 2, 0], hyps):
        expected = _labelling_scores(sample[:n]) if n else {(): 0.0}
        best = max(expected.items(), key=lambda kv: kv[1])
        assert tuple(got[0].tokens.tolist()) == best[0]
        assert got[0].score == pytest.approx(best[1], abs=1e-9)
    assert ctc_greedy_decode(em, lengths)[2] == []


# ---------------------------------------------------------------- greedy and peaky emissions

def _peaky(path, vocab=4, margin=20.0):
    """Emissions whose every frame puts nearly all its mass on the path's token."""
    logits = np.zeros((1, len(path), vocab))
    logits[0, np.arange(len(path)), path] = margin
    return ember.tensor(logits, dtype=ember.float32).log_softmax(-1)


def test_greedy_collapses_repeats_and_drops_blanks():
    em = ember.cat([_peaky([1, 1, 0, 1, 2, 2, 0, 0, 3]), _peaky([0, 0, 0, 0, 0, 0, 0, 0, 2])])
    assert ctc_greedy_decode(em) == [[1, 1, 2, 3], [2]]
    assert ctc_greedy_decode(em, blank=1) == [[0, 2, 0, 3], [0, 2]]


@pytest.mark.parametrize("path", [[1, 1, 0, 1, 2, 2, 0, 0, 3], [0, 2, 2, 2, 0, 2], [3, 1, 2, 1, 0]])
def test_beam_of_one_is_greedy_on_peaky_emissions(path):
    em = _peaky(path)
    hyp = ctc_decoder(None, TOKENS, beam_size=1)(em)[0][0]
    assert hyp.tokens.tolist() == ctc_greedy_decode(em)[0]
    starts = [k for k, c in enumerate(path) if c != 0 and (k == 0 or c != path[k - 1])]
    assert hyp.timesteps.tolist() == starts
    assert hyp.tokens.dtype == ember.long and hyp.timesteps.dtype == ember.int32


def test_a_label_starts_where_most_of_its_alignments_start_it():
    # "a" is born at frame 0 from its small mass there; most of its mass starts it at frame 1
    probs = np.array([[[0.85, 0.1, 0.05, 0.0], [0.005, 0.99, 0.005, 0.0]]]) + 1e-9
    em = ember.tensor(np.log(probs), dtype=ember.float64)
    hyp = ctc_decoder(None, TOKENS, beam_size=10)(em)[0][0]
    assert hyp.tokens.tolist() == [1] and hyp.timesteps.tolist() == [1]
    flipped = ctc_decoder(None, TOKENS, beam_size=10)(em.flip(1))[0][0]
    assert flipped.tokens.tolist() == [1] and flipped.timesteps.tolist() == [0]


@pytest.mark.parametrize("seed", range(3))
def test_zero_threshold_keeps_only_the_best_beam(seed):
    em = _log_probs(seed, 2, 8)
    narrow = ctc_decoder(None, TOKENS, beam_size=1)(em)
    zero = ctc_decoder(None, TOKENS, beam_size=50, beam_threshold=0.0)(em)
    for a, b in zip(narrow, zero):
        assert a[0].tokens.tolist() == b[0].tokens.tolist() and a[0].score == b[0].score


@pytest.mark.parametrize("seed", range(3))
def test_beam_size_token_starts_labels_only_among_the_frame_top_k(seed):
    em = _log_probs(seed, 2, 10, vocab=6)
    tokens = ["-", "a", "b", "c", "d", "e"]
    scores = em.numpy()
    for k in (1, 2):
        hyps = ctc_decoder(None, tokens, beam_size=8, beam_size_token=k, nbest=3)(em)
        for sample, got in zip(scores, hyps):
            for hyp in got:
                for c, t in zip(hyp.tokens.tolist(), hyp.timesteps.tolist()):
                    assert c in np.argsort(-sample[t])[:k]
    unrestricted = ctc_decoder(None, tokens, beam_size=8)(em)
    full_k = ctc_decoder(None, tokens, beam_size=8, beam_size_token=6)(em)
    assert [h[0].score for h in unrestricted] == [h[0].score for h in full_k]


def test_words_split_at_the_silence_token_and_tokens_file(tmp_path):
    tokens = ["-", "|", "h", "i", "y", "o"]
    path = [1, 2, 3, 0, 1, 1, 4, 5, 1]  # | h i - | | y o |
    em = _peaky(path, vocab=6)
    (tmp_path / "tokens.txt").write_text("\n".join(tokens) + "\n")
    for source in (tokens, str(tmp_path / "tokens.txt")):
        decoder = ctc_decoder(None, source)
        hyp = decoder(em)[0][0]
        assert isinstance(hyp, CTCHypothesis)
        assert hyp.words == ["hi", "yo"]
        assert decoder.idxs_to_tokens(hyp.tokens) == ["|", "h", "i", "|", "y", "o", "|"]


# ---------------------------------------------------------------- errors

def test_bad_inputs_raise_with_clear_messages():
    decoder = ctc_decoder(None, TOKENS)
    with pytest.raises(RuntimeError, match="3D"):
        decoder(ember.zeros(5, 4))
    with pytest.raises(RuntimeError, match="lengths must lie in"):
        decoder(ember.zeros(2, 5, 4), ember.tensor([5, 6]))
    with pytest.raises(RuntimeError, match="shape"):
        decoder(ember.zeros(2, 5, 4), ember.tensor([5]))
    with pytest.raises(ValueError, match="built with 4 tokens"):
        decoder(ember.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="floating point"):
        decoder(ember.zeros(2, 5, 4, dtype=ember.long))
    with pytest.raises(RuntimeError, match="3D"):
        ctc_greedy_decode(ember.zeros(5, 4))
    with pytest.raises(IndexError, match="blank=4"):
        ctc_greedy_decode(ember.zeros(1, 5, 4), blank=4)
    with pytest.raises(NotImplementedError, match="lexicon-free"):
        ctc_decoder("lexicon.txt", TOKENS)
    with pytest.raises(NotImplementedError, match="lexicon-free"):
        ctc_decoder(None, TOKENS, lm="lm.bin")
    with pytest.raises(ValueError, match="blank_token"):
        ctc_decoder(None, ["a", "b"])
    with pytest.raises(ValueError, match="beam_size"):
        ctc_decoder(None, TOKENS, beam_size=0)
