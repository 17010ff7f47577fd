"""examples/speech_digits.py: the --smoke run trains, decodes and saves its checkpoint and
plots; the pieces its figures rest on (the letter encoding, the model's frame counts, CTC
training on a fixed batch) are checked directly."""
import math
import os
import shutil

import pytest

import ember
from example_modules import assert_png, load_example

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def speech():
    return load_example("speech_digits")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the synthesized data needs espeak-ng")
def test_speech_smoke_run_writes_checkpoint_and_plots(speech, tmp_path):
    # a stand-in for the Free Spoken Digit Dataset: its layout, with two noise "recordings"
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    for name in ("3_jackson_0.wav", "7_theo_4.wav"):
        ember.audio.save(str(recordings / name), 0.05 * ember.randn(1, 4000), 8000)
    result = speech.main(["--smoke", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                          "--fsdd", str(tmp_path / "fsdd")])
    assert set(result["fsdd"]) == {"loss", "wer", "cer"} and math.isfinite(result["fsdd"]["loss"])
    history = result["history"]
    assert len(history) == 1
    for key in ("loss", "val_loss", "val_wer", "val_cer"):
        assert all(math.isfinite(v) for v in history[key]), key
    # the final greedy scores are the last epoch's validation figures (the same model, decoded again)
    assert result["greedy"]["wer"] == pytest.approx(history["val_wer"][-1] / 100)
    assert result["greedy"]["cer"] == pytest.approx(history["val_cer"][-1] / 100)
    assert all(math.isfinite(v) for v in result["beam"].values())
    assert {os.path.basename(p) for p in result["pngs"]} == {"speech_digits_curves.png",
                                                            "speech_digits_emissions.png"}
    for path in result["pngs"]:
        assert_png(path)
    state = ember.load(result["checkpoint"])
    assert state["tokens"] == speech.TOKENS
    speech.AcousticModel().load_state_dict(state["model"])


def test_transcripts_encode_to_letters_and_back(speech):
    text = "three one four one five nine"
    indices = speech.encode(text)
    assert speech.TOKENS[0] == "-" and 0 not in indices  # blank never appears in a target
    assert "".join(speech.TOKENS[i] for i in indices) == text.replace(" ", "|")
    assert speech.decode(indices) == text
    assert speech.decode([1] + indices + [1, 1]) == text  # stray separators give no empty words


def test_model_halves_the_frames_and_respects_lengths(speech):
    ember.manual_seed(0)
    model = speech.AcousticModel(hidden=16).eval()
    frames = ember.randn(3, 1, 40, 21)
    lengths = ember.tensor([21, 14, 7])
    log_probs, out_lengths = model(frames, lengths)
    assert log_probs.shape == (3, 11, len(speech.TOKENS))
    assert out_lengths.tolist() == [11, 7, 4]
    assert ember.allclose(log_probs.exp().sum(-1), ember.ones(3, 11), atol=1e-5)
    # the GRU runs over packed sequences: frames past a short utterance's 4 output frames do
    # not reach them. (Input frame i feeds output frames j >= (i - 3) / 2 through the two
    # convolutions, so frames 10 and later feed only output frames 4 and later.)
    padded = frames.clone()
    padded[2, :, :, 10:] = 100.0
    again, _ = model(padded, lengths)
    assert ember.allclose(again[2, :4], log_probs[2, :4], atol=1e-5)
    padded[2, :, :, 7:] = 100.0  # inside the receptive field: the last frames change
    assert not ember.allclose(model(padded, lengths)[0][2, :4], log_probs[2, :4], atol=1e-5)


def test_ctc_training_fits_a_fixed_batch(speech):
    ember.manual_seed(0)
    model = speech.AcousticModel(hidden=32, dropout=0.0)
    texts = ["one", "two three", "nine"]
    targets = [speech.encode(t) for t in texts]
    frames = ember.randn(3, 1, 40, 40)
    lengths = ember.tensor([40, 40, 30])
    optimizer = ember.optim.Adam(model.parameters(), lr=3e-3)
    flat, target_lengths = ember.tensor(sum(targets, [])), ember.tensor([len(t) for t in targets])
    losses = []
    for _ in range(150):
        log_probs, out_lengths = model(frames, lengths)
        loss = ember.nn.functional.ctc_loss(log_probs.transpose(0, 1), flat, out_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    model.eval()
    log_probs, out_lengths = model(frames, lengths)
    decoded = ember.audio.models.decoder.ctc_greedy_decode(log_probs, out_lengths)
    assert [speech.decode(d) for d in decoded] == texts


def test_frequency_warp_moves_bands_and_keeps_levels(speech):
    ember.manual_seed(0)
    warp = speech.FrequencyWarp(0.15)
    frames = ember.randn(4, 1, 40, 9)
    assert ember.equal(warp.eval()(frames), frames)  # identity outside training
    warp.train()
    assert ember.equal(speech.FrequencyWarp(0.0)(frames), frames)
    flat = ember.full((4, 1, 40, 9), 2.5)
    assert ember.allclose(warp(flat), flat, atol=1e-6)  # interpolation weights sum to 1
    ramp = ember.arange(40).float().reshape(1, 1, 40, 1).expand(4, 1, 40, 9)
    warped = warp(ramp)
    assert warped.shape == ramp.shape
    # a ramp over the bands becomes a ramp of slope = the factor, capped at the top band
    slopes = warped[:, 0, 1, 0] - warped[:, 0, 0, 0]
    assert ((slopes > 0.849) & (slopes < 1.151)).all() and not ember.allclose(slopes, ember.ones(4))
    assert ember.allclose(warped[:, 0, 39, 0], (39 * slopes).clamp(max=39), atol=1e-4)


def test_log_mel_frames_are_normalised_per_band(speech):
    ember.manual_seed(0)
    mel = ember.audio.transforms.MelSpectrogram(sample_rate=8000, n_fft=256, hop_length=80, n_mels=40)
    frames = speech.log_mel_frames(0.1 * ember.randn(1, 4000), mel)
    assert frames.shape == (51, 40)
    assert ember.allclose(frames.mean(0), ember.zeros(40), atol=1e-4)
    assert ember.allclose(frames.std(0), ember.ones(40), atol=1e-3)
