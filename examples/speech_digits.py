"""Speech recognition with ember: a CNN + bidirectional GRU trained with CTC transcribes spoken
digit sequences ("three one four") letter by letter.

    python examples/speech_digits.py                          # synthesizes the data once (espeak-ng)
    python examples/speech_digits.py --fsdd DIR               # also scores real speech (FSDD)
    python examples/speech_digits.py --smoke                  # seconds: checks the pipeline

The data are ember.audio.datasets.SpokenDigits: sequences of 1-5 digit words spoken by
espeak-ng at random speeds, pitches and word gaps over background noise, generated once into
--data-dir. The test set is spoken by voices the model never hears in training, so its error
rates measure generalisation to new speakers, not memory.

Pipeline:
  waveform (8 kHz) -> MelSpectrogram (40 bands, 32 ms windows every 10 ms) -> log, each band
  normalised over the utterance -> in training only: a random warp of the band axis (vocal
  tract length perturbation) and SpecAugment masks
  -> 2 convolutions (stride 2: 20 ms frames, 40 bands -> 10) -> 2-layer bidirectional GRU
  over packed sequences -> per-frame log-probabilities over 17 tokens: the CTC blank "-",
  the word separator "|" and the 15 letters of "zero".."nine".
CTC (F.ctc_loss) sums over every alignment of the target letters to the frames, so no
frame-level labels are needed. Decoding takes the best token per frame and collapses repeats
and blanks (greedy), or keeps the --beam most probable prefixes (CTC prefix beam search,
ember.audio.models.decoder.ctc_decoder). The word error rate (WER) is the edit distance between
the decoded and true word sequences over the number of true words; the character error rate
(CER) the same over letters.

The default run (5,000 training and 500 test utterances, 12 epochs, batch 32, AdamW with a
one-cycle schedule, seed 0) transcribes the held-out voices at a word error rate of 2.36% and
a character error rate of 1.00% with the beam search (greedy: 2.89% and 1.11%); epoch 5 was
already at 4.58% greedy. Training took 506 s on 2 CPU cores shared with other jobs
(OPENBLAS_NUM_THREADS=1, which is faster on a busy machine); synthesizing the data, once,
about a minute more. Without the per-utterance normalisation and the frequency warp, the
same model stalled near 23% WER on the new voices while fitting the training voices.
"""
from __future__ import annotations

import argparse
import os
import time

import ember
from ember import nn
from ember.audio import transforms as T
from ember.audio.datasets import FSDD, SpokenDigits
from ember.audio.functional import edit_distance
from ember.audio.models.decoder import ctc_decoder, ctc_greedy_decode
from ember.nn import functional as F
from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ember.train import History

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# CTC's blank first (index 0, F.ctc_loss's default), then the word separator, then the letters.
TOKENS = ["-", "|", *sorted(set("".join(WORDS)))]
SAMPLE_RATE = 8000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="root folder for the synthesized set (SpokenDigits)")
    parser.add_argument("--train-size", type=int, default=5000, help="training utterances")
    parser.add_argument("--test-size", type=int, default=500, help="test utterances (held-out voices)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--hidden", type=int, default=128, help="GRU units per direction")
    parser.add_argument("--beam", type=int, default=8, help="beam width of the final prefix beam search")
    parser.add_argument("--fsdd", default=None,
                        help="folder of the Free Spoken Digit Dataset: also report its test-split error rates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs", help="folder for the checkpoint and the plots")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds: 48 training and 8 test utterances, 1 epoch")
    args = parser.parse_args(argv)
    if args.smoke:
        args.train_size, args.test_size, args.epochs = 48, 8, 1
    return args


def encode(transcript: str) -> list[int]:
    """"three one" -> token indices of t, h, r, e, e, |, o, n, e."""
    return [TOKENS.index(ch) for ch in transcript.replace(" ", "|")]


def decode(indices) -> str:
    """Token indices (no blanks) -> words separated by spaces."""
    return " ".join(w for w in "".join(TOKENS[i] for i in indices).split("|") if w)


def log_mel_frames(waveform, mel) -> ember.Tensor:
    """Waveform (1, samples) -> log-mel frames (T, bands), each band normalised over the
    utterance to mean 0 and standard deviation 1 (cepstral mean and variance normalisation: a
    voice's or a microphone's constant colouring is removed before the model sees it)."""
    frames = (mel(waveform[0]) + 1e-6).log().T
    return (frames - frames.mean(0)) / (frames.std(0) + 1e-5)


class FrequencyWarp(nn.Module):
    """Vocal tract length perturbation on log-mel batches (B, 1, bands, T): each utterance's
    band axis is stretched or squeezed by a random factor in [1 - max_warp, 1 + max_warp]
    (linear interpolation), as a longer or shorter vocal tract moves a voice's formants. It
    makes the model hear more speakers than the data has. Identity in eval mode."""

    def __init__(self, max_warp: float = 0.15):
        super().__init__()
        self.max_warp = max_warp

    def forward(self, frames):
        if not self.training or self.max_warp == 0:
            return frames
        b, _, bands, _ = frames.shape
        factors = 1 + self.max_warp * (2 * ember.rand(b, 1) - 1)
        source = (ember.arange(bands).float() * factors).clamp(max=bands - 1)  # (B, bands): band read
        lower = source.floor()
        weight = (source - lower).unsqueeze(-1)
        picks = nn.functional.one_hot(lower.long(), bands).float()
        upper = nn.functional.one_hot((lower + 1).clamp(max=bands - 1).long(), bands).float()
        mixing = (1 - weight) * picks + weight * upper  # (B, bands, bands): rows sum to 1
        return mixing.unsqueeze(1) @ frames


def prepare(dataset, mel) -> list[tuple]:
    """[(frames (T, 40), targets, transcript)] for a data set of (waveform, rate, transcript, ...)."""
    items = []
    for i in range(len(dataset)):
        waveform, rate, transcript = dataset[i][:3]
        if isinstance(transcript, int):  # FSDD labels a recording with its digit
            transcript = WORDS[transcript]
        if rate != SAMPLE_RATE:
            waveform = ember.audio.functional.resample(waveform, rate, SAMPLE_RATE)
        items.append((log_mel_frames(waveform, mel), encode(transcript), transcript))
    return items


def batches(items: list, batch_size: int, shuffle: bool, generator=None):
    """Batches of similar lengths (less padding for the GRU): sorted by length within shuffled
    pools of 20 batches, the batches then shuffled. Yields (frames (B, 1, 40, T), lengths,
    targets (sum of lengths,), target lengths, transcripts)."""
    order = ember.randperm(len(items), generator=generator).tolist() if shuffle else list(range(len(items)))
    pool = 20 * batch_size
    chunks = []
    for start in range(0, len(order), pool):
        part = sorted(order[start:start + pool], key=lambda i: len(items[i][0]))
        chunks += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    if shuffle:
        chunks = [chunks[i] for i in ember.randperm(len(chunks), generator=generator).tolist()]
    for chunk in chunks:
        frames = [items[i][0] for i in chunk]
        lengths = ember.tensor([len(x) for x in frames])
        padded = nn.utils.rnn.pad_sequence(frames, batch_first=True)  # (B, T, 40)
        targets = [items[i][1] for i in chunk]
        yield (padded.transpose(1, 2).unsqueeze(1), lengths, ember.tensor(sum(targets, [])),
               ember.tensor([len(t) for t in targets]), [items[i][2] for i in chunk])


class AcousticModel(nn.Module):
    """Shape: frames (B, 1, n_mels, T), lengths (B,) -> log-probabilities (B, ceil(T/2), tokens)
    and their lengths."""

    def __init__(self, n_mels: int = 40, hidden: int = 128, tokens: int = len(TOKENS), dropout: float = 0.15):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),            # time and bands / 2
            nn.Conv2d(32, 32, 3, stride=(2, 1), padding=1), nn.BatchNorm2d(32), nn.ReLU())    # bands / 2
        bands = (n_mels + 3) // 4
        self.rnn = nn.GRU(32 * bands, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, tokens)

    def forward(self, frames, lengths):
        x = self.conv(frames)                                   # (B, 32, bands, T')
        b, c, f, t = x.shape
        x = x.permute(0, 3, 1, 2).reshape(b, t, c * f)
        lengths = (lengths + 1) // 2                            # the stride-2 convolution's output length
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        y, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=t)
        return self.fc(self.dropout(y)).log_softmax(-1), lengths


def train_epoch(model, items, args, optimizer, scheduler, augment, generator) -> float:
    model.train()
    total, count = 0.0, 0
    for frames, lengths, targets, target_lengths, _ in batches(items, args.batch_size, True, generator):
        log_probs, out_lengths = model(augment(frames), lengths)
        loss = F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths, zero_infinity=True)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(lengths)
        count += len(lengths)
    return total / count


@ember.no_grad()
def evaluate(model, items, batch_size: int, beam=None) -> dict:
    """Mean CTC loss, WER and CER (greedy, or prefix beam search when ``beam`` is a decoder)."""
    model.eval()
    loss, word_errors, words, char_errors, chars = 0.0, 0, 0, 0, 0
    for frames, lengths, targets, target_lengths, texts in batches(items, batch_size, False):
        log_probs, out_lengths = model(frames, lengths)
        loss += F.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths,
                           zero_infinity=True).item() * len(texts)
        if beam is None:
            hypotheses = [decode(h) for h in ctc_greedy_decode(log_probs, out_lengths)]
        else:
            hypotheses = [" ".join(nbest[0].words) for nbest in beam(log_probs, out_lengths)]
        for hyp, ref in zip(hypotheses, texts):
            word_errors += edit_distance(hyp.split(), ref.split())
            words += len(ref.split())
            char_errors += edit_distance(hyp, ref)
            chars += len(ref)
    return {"loss": loss / len(items), "wer": word_errors / words, "cer": char_errors / chars}


@ember.no_grad()
def save_emissions(model, item, path: str) -> str:
    """One test utterance: its log-mel frames over the model's per-frame token probabilities."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    frames, text = item[0], item[2]
    log_probs, _ = model(frames.T[None, None], ember.tensor([len(frames)]))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=False)
    top.imshow(frames.T.numpy(), origin="lower", aspect="auto", cmap="magma")
    top.set(title=f'"{text}": log-mel spectrogram (10 ms frames)', ylabel="mel band")
    bottom.imshow(log_probs[0].exp().T.numpy(), origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
    bottom.set(title="token probabilities per 20 ms frame (row 0 is the CTC blank)", xlabel="frame", ylabel="token")
    bottom.set_yticks(range(len(TOKENS)), TOKENS, fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    """Synthesize (once) and featurize the data, train, decode the test set, save the plots."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    mel = T.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=256, hop_length=80, n_mels=40)
    train = prepare(SpokenDigits(args.data_dir, "train", size=args.train_size, sample_rate=SAMPLE_RATE,
                                 seed=args.seed), mel)
    test = prepare(SpokenDigits(args.data_dir, "test", size=args.test_size, sample_rate=SAMPLE_RATE,
                                seed=args.seed), mel)
    print(f"{len(train)} training and {len(test)} test utterances (held-out voices); "
          f"{sum(len(x) for x, _, _ in train) / 100 / 60:.1f} minutes of training speech")

    model = AcousticModel(hidden=args.hidden)
    print(model)
    steps = args.epochs * -(-len(train) // args.batch_size)
    optimizer = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    scheduler = ember.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    augment = nn.Sequential(FrequencyWarp(0.15), T.FrequencyMasking(8), T.TimeMasking(15))
    generator = ember.Generator().manual_seed(args.seed)

    curves = History()
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        loss = train_epoch(model, train, args, optimizer, scheduler, augment, generator)
        val = evaluate(model, test, 64)
        curves.append(epoch - 1, {"loss": loss, "val_loss": val["loss"], "val_wer": 100 * val["wer"],
                                  "val_cer": 100 * val["cer"]})
        print(f"epoch {epoch:3d}/{args.epochs}  train CTC {loss:.3f}  test CTC {val['loss']:.3f}  "
              f"greedy WER {100 * val['wer']:.2f}%  CER {100 * val['cer']:.2f}%  "
              f"({time.perf_counter() - start:.0f}s)", flush=True)
    elapsed = time.perf_counter() - start

    beam = ctc_decoder(lexicon=None, tokens=TOKENS, beam_size=args.beam, log_add=True, blank_token="-",
                       sil_token="|")
    greedy, searched = evaluate(model, test, 64), evaluate(model, test, 64, beam)
    print(f"test set (held-out voices): greedy WER {100 * greedy['wer']:.2f}% CER {100 * greedy['cer']:.2f}%; "
          f"beam {args.beam}: WER {100 * searched['wer']:.2f}% CER {100 * searched['cer']:.2f}%")
    result = {"history": curves, "greedy": greedy, "beam": searched, "seconds": elapsed}
    if args.fsdd:
        fsdd = prepare(FSDD(args.fsdd, split="test"), mel)
        result["fsdd"] = evaluate(model, fsdd, 64, beam)
        print(f"FSDD test split (real speech, {len(fsdd)} recordings): WER {100 * result['fsdd']['wer']:.2f}% "
              f"CER {100 * result['fsdd']['cer']:.2f}%")

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "speech_digits.ember")
    ember.save({"model": model.state_dict(), "tokens": TOKENS,
                "args": vars(args), "history": curves.state_dict()}, ckpt)
    pngs = [curves.plot(os.path.join(args.out, "speech_digits_curves.png"),
                        title="CTC speech recognition: loss, WER and CER (%; validation = held-out voices)"),
            save_emissions(model, test[0], os.path.join(args.out, "speech_digits_emissions.png"))]
    print(f"{args.epochs} epochs in {elapsed:.0f}s; checkpoint {ckpt}; plots {', '.join(pngs)}")
    return {**result, "checkpoint": ckpt, "pngs": pngs}


if __name__ == "__main__":
    main()
