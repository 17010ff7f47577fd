"""A character-level LSTM language model on tiny-shakespeare with ember, and text sampled from it.

    python examples/char_rnn.py --data-dir ../shared/data/tinyshakespeare

--data-dir is a folder holding input.txt (any text works; without the file, tiny-shakespeare is
downloaded into it, checksum verified). Each iteration trains on --batch-size random windows of
--seq-len characters (predict every next character), with Adam, cosine learning-rate decay and
gradients clipped to norm --grad-clip. Sampling feeds one character at a time, carrying the
LSTM state, and draws from softmax(logits / temperature), optionally among the top-k characters.

The default run (an LSTM of 256 units over 64-wide character embeddings, 0.35M parameters;
600 iterations of 32 windows of 64 characters, Adam at lr 3e-3 decayed to 3e-4) takes 183 s
on a shared 2-core CPU (OPENBLAS_NUM_THREADS=1, other jobs running):

    iter     0: train loss 4.1952, val loss 4.1944
    iter   200: train loss 1.8375, val loss 1.9582
    iter   400: train loss 1.7131, val loss 1.8273
    iter   600: train loss 1.6664, val loss 1.7683

and samples (temperature 0.8)

    ABFay, I have is we fling to the king,
    And mur were to the reast to that immonter.

    QUEEN:
    Flow I deach and they myself me is may the caint.
    My lord, I pauster our deeph the sisce them not, I word
"""
from __future__ import annotations

import argparse
import math
import os
import time

import ember
from ember import nn
from ember.text import CharCorpus, CharTokenizer, TinyShakespeare
from ember.train import History


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/tinyshakespeare", help="folder holding input.txt")
    parser.add_argument("--iters", type=int, default=600, help="training iterations")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64, help="characters per training window")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--embed-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout between LSTM layers")
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--eval-interval", type=int, default=100)
    parser.add_argument("--eval-iters", type=int, default=10, help="batches per loss estimate")
    parser.add_argument("--sample-len", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs", help="folder for the checkpoint")
    return parser.parse_args(argv)


class CharRNN(nn.Module):
    """Embedding -> LSTM -> Linear: next-character logits for every position.

    Shape: x (B, T) int64 -> logits (B, T, vocab_size), and the LSTM state (h, c), each
    (num_layers, B, hidden_size).
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)  # (B, T, H)
        return self.head(out), state  # (B, T, vocab_size)


def load_text(data_dir: str) -> str:
    """The text of ``data_dir``/input.txt; tiny-shakespeare is downloaded there when it is missing."""
    path = os.path.join(data_dir, "input.txt")
    if not os.path.exists(path):
        return TinyShakespeare(data_dir, download=True).text
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def next_char_loss(model: CharRNN, x, y):
    logits, _ = model(x)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


@ember.no_grad()
def estimate_loss(model: CharRNN, corpus: CharCorpus, args: argparse.Namespace) -> dict[str, float]:
    """The mean loss over ``args.eval_iters`` random batches of each split."""
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [next_char_loss(model, *corpus.get_batch(split, args.batch_size, args.seq_len)).item()
                  for _ in range(args.eval_iters)]
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


@ember.no_grad()
def sample(model: CharRNN, tokenizer: CharTokenizer, length: int, prime: str = "\n",
           temperature: float = 1.0, top_k: int | None = None) -> str:
    """``prime`` followed by ``length`` characters drawn one at a time from the model."""
    model.eval()
    logits, state = model(ember.tensor([tokenizer.encode(prime)]))  # the prime sets the state
    out = []
    for _ in range(length):
        logits = logits[0, -1] / temperature  # (vocab_size,)
        if top_k is not None:
            kth = logits.topk(min(top_k, logits.numel())).values[-1]
            logits = logits.masked_fill(logits < kth, -math.inf)
        nxt = ember.multinomial(logits.softmax(-1), 1)  # (1,)
        out.append(nxt.item())
        logits, state = model(nxt.view(1, 1), state)
    return prime + tokenizer.decode(out)


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate, save and sample; returns the loss history and the sample."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    corpus = CharCorpus(load_text(args.data_dir))
    print(corpus)
    model = CharRNN(corpus.vocab_size, args.embed_size, args.hidden_size, args.num_layers, args.dropout)
    print(model)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, args.iters),
                                                           eta_min=args.lr / 10)

    history: dict[str, list] = {"iter": [], "train_loss": [], "val_loss": []}
    start = time.perf_counter()
    for it in range(args.iters + 1):
        if it % args.eval_interval == 0 or it == args.iters:
            losses = estimate_loss(model, corpus, args)
            for key, value in (("iter", it), ("train_loss", losses["train"]), ("val_loss", losses["val"])):
                history[key].append(value)
            print(f"iter {it:5d}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f} "
                  f"({time.perf_counter() - start:.0f}s)", flush=True)
        if it == args.iters:
            break
        loss = next_char_loss(model, *corpus.get_batch("train", args.batch_size, args.seq_len))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        scheduler.step()
    elapsed = time.perf_counter() - start
    print(f"{args.iters} iterations in {elapsed:.0f}s ({elapsed / max(1, args.iters) * 1000:.0f} ms/iter)")

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "char_rnn.ember")
    ember.save({"model": model.state_dict(), "chars": "".join(corpus.tokenizer.itos), "args": vars(args)}, ckpt)
    curves = History()
    for it, train_loss, val_loss in zip(history["iter"], history["train_loss"], history["val_loss"]):
        curves.append(it, {"loss": train_loss, "val_loss": val_loss})
    png = curves.plot(os.path.join(args.out, "char_rnn_curves.png"), title="character LSTM", x="iteration")
    print(f"checkpoint {ckpt}; curves {png}")
    text = sample(model, corpus.tokenizer, args.sample_len, temperature=args.temperature, top_k=args.top_k)
    print("---- sample ----" + text)
    return {"history": history, "sample": text, "seconds": elapsed}


if __name__ == "__main__":
    main()
