"""Word-level language model (RNN, LSTM, GRU or Transformer) as pytorch/examples' word_language_model.

    python examples/word_language_model.py --data ../shared/data/ptb --epochs 1
    python examples/word_language_model.py --data ../shared/data/ptb --epochs 1 --framework torch

The same code runs on ember and on PyTorch: ``--framework`` picks the library the script
imports as ``lib``; everything else is one code path. ``--data`` is a folder holding
train.txt/valid.txt/test.txt or Penn Treebank's ptb.{train,valid,test}.txt, read by
``ember.text.Corpus`` for both frameworks. The initial weights are drawn from NumPy's
RandomState(seed), so both frameworks start from the same model (their dropout masks differ).

One epoch of the default model (2-layer LSTM, emsize 200, nhid 200, dropout 0.2, batch 20,
bptt 35, lr 20, clip 0.25, seed 1111) on Penn Treebank, each framework run alone after the
other on a 2-core CPU shared with other jobs (load 3 to 6, so times are rough):

    OMP_NUM_THREADS=1 python examples/word_language_model.py --data ../shared/data/ptb --epochs 1 --framework ember
    OMP_NUM_THREADS=1 python examples/word_language_model.py --data ../shared/data/ptb --epochs 1 --framework torch

    framework   valid ppl   test ppl   time per epoch (training and validation)
    ember       215.68      212.04     326 s
    torch       219.96      217.58     231 s

ember's validation perplexity is 1.9% below PyTorch's: the runs differ only by their dropout
masks and rounding.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import math
import os
import time

import numpy as np

import ember
from ember.text import Corpus, batchify, get_batch

MODELS = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU", "Transformer")
EVAL_BATCH_SIZE = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="RNN/LSTM/GRU/Transformer word-level language model")
    parser.add_argument("--data", "--data-dir", dest="data", default="./data/ptb",
                        help="folder with train.txt/valid.txt/test.txt or ptb.{train,valid,test}.txt")
    parser.add_argument("--model", default="LSTM", choices=MODELS, help="network type")
    parser.add_argument("--emsize", type=int, default=200, help="size of word embeddings")
    parser.add_argument("--nhid", type=int, default=200, help="hidden units per layer")
    parser.add_argument("--nlayers", type=int, default=2, help="number of layers")
    parser.add_argument("--lr", type=float, default=20, help="initial learning rate")
    parser.add_argument("--clip", type=float, default=0.25, help="gradient clipping (total norm)")
    parser.add_argument("--epochs", type=int, default=40, help="upper epoch limit")
    parser.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=20, metavar="N",
                        help="batch size")
    parser.add_argument("--bptt", type=int, default=35, help="sequence length")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout applied to layers (0: none)")
    parser.add_argument("--tied", action="store_true", help="tie the word embedding and softmax weights")
    parser.add_argument("--seed", type=int, default=1111, help="random seed")
    parser.add_argument("--log-interval", type=int, default=200, metavar="N", help="report interval")
    parser.add_argument("--save", default=None,
                        help="where to save the best model (runs/word_language_model/model_<framework>.pt); "
                             "its learning curves go beside it")
    parser.add_argument("--nhead", type=int, default=2, help="heads in the Transformer's attention")
    parser.add_argument("--framework", default="ember", choices=("ember", "torch"), help="library to run on")
    parser.add_argument("--max-batches", type=int, default=0, metavar="N",
                        help="stop each training epoch after N batches (0: the whole epoch)")
    args = parser.parse_args(argv)
    if args.save is None:
        args.save = os.path.join("runs", "word_language_model", f"model_{args.framework}.pt")
    return args


@functools.cache
def model_classes(lib) -> tuple[type, type]:
    """``(RNNModel, TransformerModel)`` built on ``lib`` (the ember or torch module)."""
    nn, F = lib.nn, lib.nn.functional

    def fill(param, values: np.ndarray) -> None:
        with lib.no_grad():
            param.copy_(lib.from_numpy(values.astype(np.float32)))

    def uniform(rng: np.random.RandomState, param, bound: float) -> None:
        fill(param, rng.uniform(-bound, bound, tuple(param.shape)))

    class RNNModel(nn.Module):
        """Embedding -> dropout -> recurrent layers -> dropout -> linear decoder -> log-probabilities."""

        def __init__(self, rnn_type: str, ntoken: int, ninp: int, nhid: int, nlayers: int,
                     dropout: float = 0.5, tie_weights: bool = False):
            super().__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ("LSTM", "GRU"):
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}.get(rnn_type)
                if nonlinearity is None:
                    raise ValueError(f"An invalid option for `--model` was supplied ({rnn_type!r}); "
                                     f"options are {MODELS}")
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            # Tying the embedding and the decoder ("Using the Output Embedding to Improve Language
            # Models", Press & Wolf 2016) needs one matrix shape for both.
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight
            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self, rng: np.random.RandomState) -> None:
            """Embedding and decoder ~ U(-0.1, 0.1), decoder bias 0, recurrent weights and biases
            ~ U(-1/sqrt(nhid), 1/sqrt(nhid)) (the recurrent layers' own default), drawn from ``rng``."""
            uniform(rng, self.encoder.weight, 0.1)
            fill(self.decoder.bias, np.zeros(tuple(self.decoder.bias.shape)))
            uniform(rng, self.decoder.weight, 0.1)
            for param in self.rnn.parameters():
                uniform(rng, param, 1.0 / math.sqrt(self.nhid))

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))            # (T, B, ninp)
            output, hidden = self.rnn(emb, hidden)          # (T, B, nhid)
            output = self.drop(output)
            decoded = self.decoder(output).view(-1, self.ntoken)  # (T * B, ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz: int):
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))
            return weight.new_zeros(self.nlayers, bsz, self.nhid)

    class PositionalEncoding(nn.Module):
        """Adds sinusoidal position encodings ("Attention Is All You Need"), then dropout: at
        position pos, feature 2k gets sin(pos / 10000^(2k / d_model)) and feature 2k + 1 its cos."""

        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = lib.zeros(max_len, d_model)
            position = lib.arange(0, max_len, dtype=lib.float).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = lib.sin(position * div_term)
            pe[:, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))  # (max_len, 1, d_model)

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])  # (T, B, d_model)

    class TransformerModel(nn.Module):
        """Embedding -> positional encoding -> causal nn.TransformerEncoder -> linear decoder."""

        def __init__(self, ntoken: int, ninp: int, nhead: int, nhid: int, nlayers: int, dropout: float = 0.5):
            super().__init__()
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            encoder_layer = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout)
            # The nested-tensor fast path needs batch_first inputs; this model's are (T, B, E).
            self.transformer_encoder = nn.TransformerEncoder(encoder_layer, nlayers,
                                                             enable_nested_tensor=False)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)

        def init_weights(self, rng: np.random.RandomState) -> None:
            """Embedding and decoder as RNNModel's; in the encoder layers, matrices Xavier-uniform
            (as nn.Transformer initialises them) and biases 0; drawn from ``rng``."""
            uniform(rng, self.encoder.weight, 0.1)
            fill(self.decoder.bias, np.zeros(tuple(self.decoder.bias.shape)))
            uniform(rng, self.decoder.weight, 0.1)
            for name, param in self.transformer_encoder.named_parameters():
                if param.dim() > 1:
                    fan_out, fan_in = param.shape
                    uniform(rng, param, math.sqrt(6.0 / (fan_in + fan_out)))
                elif name.endswith("bias"):
                    fill(param, np.zeros(tuple(param.shape)))

        def forward(self, src, has_mask: bool = True):
            if has_mask:
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(src.device)
            else:
                self.src_mask = None
            src = self.pos_encoder(self.encoder(src) * math.sqrt(self.ninp))  # (T, B, ninp)
            output = self.decoder(self.transformer_encoder(src, self.src_mask))  # (T, B, ntoken)
            return F.log_softmax(output, dim=-1)

    return RNNModel, TransformerModel


def build_model(lib, args: argparse.Namespace, ntokens: int):
    """The model ``args`` asks for, on ``lib``, with initial weights from RandomState(args.seed)."""
    RNNModel, TransformerModel = model_classes(lib)
    if args.model == "Transformer":
        model = TransformerModel(ntokens, args.emsize, args.nhead, args.nhid, args.nlayers, args.dropout)
    else:
        model = RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout, args.tied)
    model.init_weights(np.random.RandomState(args.seed))
    return model


def perplexity(loss: float) -> float:
    """exp(loss), inf where it overflows (a diverging run, e.g. RNN_RELU at a high learning rate)."""
    return math.inf if loss > 700 else math.exp(loss)


def repackage_hidden(h):
    """Detach hidden states from their history, so back-propagation stops at the window's start."""
    if isinstance(h, tuple):
        return tuple(repackage_hidden(v) for v in h)
    return h.detach()


def main(argv: list[str] | None = None) -> dict:
    """Train, keep the best model by validation loss, test it. Returns per epoch the learning
    rate, the mean training loss, the validation loss and the time, and the test loss."""
    args = parse_args(argv)
    lib = importlib.import_module(args.framework)
    nn = lib.nn
    lib.manual_seed(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)

    corpus = Corpus(args.data)
    # ember.text cuts the token streams into columns and windows; torch gets each window's ids.
    to_lib = (lambda t: t) if lib is ember else (lambda t: lib.tensor(t.numpy()))
    train_data = batchify(corpus.train, args.batch_size)
    val_data = batchify(corpus.valid, EVAL_BATCH_SIZE)
    test_data = batchify(corpus.test, EVAL_BATCH_SIZE)
    ntokens = len(corpus.dictionary)
    model = build_model(lib, args, ntokens)
    criterion = nn.NLLLoss()
    is_transformer = args.model == "Transformer"
    print(f"{args.framework}: {corpus}")

    def evaluate(data_source) -> float:
        model.eval()
        total_loss = 0.0
        if not is_transformer:
            hidden = model.init_hidden(EVAL_BATCH_SIZE)
        with lib.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = map(to_lib, get_batch(data_source, i, args.bptt))
                if is_transformer:
                    output = model(data).view(-1, ntokens)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train(epoch: int, lr: float) -> float:
        model.train()
        total_loss, epoch_loss, batches = 0.0, 0.0, 0
        start_time = time.time()
        if not is_transformer:
            hidden = model.init_hidden(args.batch_size)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
            data, targets = map(to_lib, get_batch(train_data, i, args.bptt))
            model.zero_grad()
            if is_transformer:
                output = model(data).view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            # Clipping the total gradient norm keeps the exploding-gradient steps of RNNs in check.
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)

            step_loss = loss.item()
            total_loss += step_loss
            epoch_loss += step_loss
            batches += 1
            if batch % args.log_interval == 0 and batch > 0:
                cur_loss = total_loss / args.log_interval
                elapsed = time.time() - start_time
                print(f"| epoch {epoch:3d} | {batch:5d}/{len(train_data) // args.bptt:5d} batches | "
                      f"lr {lr:02.2f} | ms/batch {elapsed * 1000 / args.log_interval:5.2f} | "
                      f"loss {cur_loss:5.2f} | ppl {perplexity(cur_loss):8.2f}", flush=True)
                total_loss = 0.0
                start_time = time.time()
            if batches == args.max_batches:
                break
        return epoch_loss / batches

    lr = args.lr
    best_val_loss = None
    history = {"lr": [], "train_loss": [], "val_loss": [], "epoch_time": []}
    try:
        for epoch in range(1, args.epochs + 1):
            epoch_start_time = time.time()
            history["lr"].append(lr)
            history["train_loss"].append(train(epoch, lr))
            val_loss = evaluate(val_data)
            history["val_loss"].append(val_loss)
            history["epoch_time"].append(time.time() - epoch_start_time)
            print("-" * 89)
            print(f"| end of epoch {epoch:3d} | time: {history['epoch_time'][-1]:5.2f}s | "
                  f"valid loss {val_loss:5.2f} | valid ppl {perplexity(val_loss):8.2f}")
            print("-" * 89, flush=True)
            if best_val_loss is None or val_loss < best_val_loss:
                lib.save(model.state_dict(), args.save)
                best_val_loss = val_loss
            else:
                # Anneal the learning rate when the validation loss stops improving.
                lr /= 4.0
    except KeyboardInterrupt:
        print("-" * 89)
        print("Exiting from training early")

    model.load_state_dict(lib.load(args.save))
    test_loss = evaluate(test_data)
    history["test_loss"] = test_loss
    print("=" * 89)
    print(f"| End of training | test loss {test_loss:5.2f} | test ppl {perplexity(test_loss):8.2f}")
    print("=" * 89, flush=True)
    curves = save_curves(history, os.path.splitext(args.save)[0] + "_curves.png", f"{args.model} language model")
    print(f"checkpoint {args.save}; curves {curves}")
    return history


def save_curves(history: dict, path: str, title: str) -> str:
    """Training and validation loss per epoch as a PNG (ember's History draws it)."""
    from ember.train import History

    curves = History()
    for epoch, (train_loss, val_loss) in enumerate(zip(history["train_loss"], history["val_loss"])):
        curves.append(epoch, {"loss": train_loss, "val_loss": val_loss})
    return curves.plot(path, title=title)


if __name__ == "__main__":
    main()
