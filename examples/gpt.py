"""A small GPT trained on tiny-shakespeare characters with ember (nanoGPT's shakespeare_char, CPU-sized).

    python examples/gpt.py --data-dir ../shared/data/tinyshakespeare

--data-dir is a folder holding input.txt (any text works: its characters are the vocabulary;
without the file, tiny-shakespeare is downloaded into it, checksum verified). The first 90% of
the characters train, the rest validate. The model is ember.text.GPT shaped like nanoGPT's
CPU run on this data (4 layers, 4 heads, width 128, context 64, no biases, 0.80M parameters),
trained for a shorter time: 800 iterations of 32 random windows, AdamW (betas (0.9, 0.99),
weight decay 0.1 on matrices), 50 warm-up iterations to lr 3e-3 and cosine decay to 3e-4,
gradients clipped to norm 1.0. Every --eval-interval iterations the train and validation
losses are estimated on --eval-iters random batches; at the end the checkpoint is saved and
500 characters are sampled (temperature 0.8) from a newline. The validation loss over the
whole validation split (consecutive windows of --block-size characters) is printed too, and
--save PATH writes the weights as float16 safetensors with it measured on the stored weights.

Measured on a shared 2-core CPU (OPENBLAS_NUM_THREADS=1, other jobs running), the default run
takes 194 s (243 ms per iteration):

    iter     0: train loss 4.2231, val loss 4.2195
    iter   200: train loss 2.2776, val loss 2.2944
    iter   400: train loss 1.9633, val loss 2.0543
    iter   600: train loss 1.7713, val loss 1.9097
    iter   800: train loss 1.6886, val loss 1.8349

and samples

    He poord love unto end? the sparch's and Dorther,
    For you met thee worth bear day not uncleed too,
    The prosint your the ceatily well that dame than to it!
    Hows a charrieve I druch staugh; thy hatress mun
    You rame with though 'thous the daughmer from gains;

The weights ember ships (ember.text.char_gpt(weights="TINY_SHAKESPEARE"), 0.46M parameters,
914 KB) come from

    python examples/gpt.py --data-dir DATA --n-embd 96 --iters 2000 --save char_gpt.safetensors

540 s here (270 ms per iteration); val loss 1.6685 on the random batches, 1.6763 over the
whole validation split (with the float16 weights as stored as well).
"""
from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict

import ember
from ember.text import GPT, CharCorpus, GPTConfig, TinyShakespeare
from ember.train import History


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/tinyshakespeare", help="folder holding input.txt")
    parser.add_argument("--iters", type=int, default=800, help="training iterations (optimizer steps)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--min-lr", type=float, default=3e-4, help="learning rate at the end of the cosine decay")
    parser.add_argument("--warmup-iters", type=int, default=50)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--grad-clip", type=float, default=1.0, help="clip gradients to this norm (0: off)")
    parser.add_argument("--block-size", type=int, default=64, help="context length")
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--eval-interval", type=int, default=200)
    parser.add_argument("--eval-iters", type=int, default=20, help="batches per loss estimate")
    parser.add_argument("--max-new-tokens", type=int, default=500, help="characters sampled at the end")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--out", default="runs", help="folder for the checkpoint")
    parser.add_argument("--save", default=None, metavar="PATH",
                        help="also write the weights to PATH as float16 safetensors (the format of the weights "
                             "ember ships: ember.text.char_gpt(weights=...))")
    return parser.parse_args(argv)


def load_text(data_dir: str) -> str:
    """The text of ``data_dir``/input.txt; tiny-shakespeare is downloaded there when it is missing."""
    path = os.path.join(data_dir, "input.txt")
    if not os.path.exists(path):
        return TinyShakespeare(data_dir, download=True).text
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def get_lr(it: int, args: argparse.Namespace) -> float:
    """Linear warm-up to ``args.lr``, then cosine decay to ``args.min_lr`` at the last iteration."""
    if it < args.warmup_iters:
        return args.lr * (it + 1) / (args.warmup_iters + 1)
    progress = (it - args.warmup_iters) / max(1, args.iters - args.warmup_iters)
    return args.min_lr + 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))) * (args.lr - args.min_lr)


@ember.no_grad()
def full_val_loss(model: GPT, corpus: CharCorpus, block_size: int, batch_size: int = 256) -> float:
    """The mean loss over the whole validation split cut into consecutive windows of
    ``block_size`` characters (the last partial one dropped): a deterministic figure, unlike
    :func:`estimate_loss`'s random batches."""
    model.eval()
    ids = corpus.val
    n = (len(ids) - 1) // block_size
    x = ids[:n * block_size].view(n, block_size)
    y = ids[1:n * block_size + 1].view(n, block_size)
    total = 0.0
    for i in range(0, n, batch_size):
        total += model(x[i:i + batch_size], y[i:i + batch_size])[1].item() * len(x[i:i + batch_size])
    model.train()
    return total / n


def save_weights(model: GPT, corpus: CharCorpus, path: str) -> None:
    """The weights as float16 safetensors (half the bytes; ``char_gpt`` casts them back to
    float32 when it loads them), the vocabulary and config in the file's metadata."""
    import copy
    import json

    half = copy.deepcopy(model).half()  # one cast per Parameter keeps lm_head tied to wte in the file
    ember.io.save_safetensors(half.state_dict(), path, metadata={
        "chars": "".join(corpus.tokenizer.itos), "config": json.dumps(asdict(model.config))})


@ember.no_grad()
def estimate_loss(model: GPT, corpus: CharCorpus, args: argparse.Namespace) -> dict[str, float]:
    """The mean loss over ``args.eval_iters`` random batches of each split."""
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [model(*corpus.get_batch(split, args.batch_size, args.block_size))[1].item()
                  for _ in range(args.eval_iters)]
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate, save and sample; returns the loss history and the sample."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    corpus = CharCorpus(load_text(args.data_dir))
    print(f"{corpus}; {len(corpus.train) // 1000}k training characters")

    config = GPTConfig(block_size=args.block_size, vocab_size=corpus.vocab_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout, bias=False)
    model = GPT(config)
    print(f"GPT with {model.get_num_params() / 1e6:.2f}M parameters")
    optimizer = model.configure_optimizers(args.weight_decay, args.lr, (0.9, 0.99))

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
        lr = get_lr(it, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = corpus.get_batch("train", args.batch_size, args.block_size)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.grad_clip > 0:
            ember.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
    elapsed = time.perf_counter() - start
    print(f"{args.iters} iterations in {elapsed:.0f}s ({elapsed / max(1, args.iters) * 1000:.0f} ms/iter)")

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "gpt_shakespeare_char.ember")
    ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "config": asdict(config),
                "chars": "".join(corpus.tokenizer.itos), "iter_num": args.iters,
                "val_loss": history["val_loss"][-1]}, ckpt)
    curves = History()
    for it, train_loss, val_loss in zip(history["iter"], history["train_loss"], history["val_loss"]):
        curves.append(it, {"loss": train_loss, "val_loss": val_loss})
    png = curves.plot(os.path.join(args.out, "gpt_curves.png"), title="character GPT", x="iteration")
    print(f"checkpoint {ckpt}; curves {png}")
    val_loss = full_val_loss(model, corpus, args.block_size)
    print(f"validation loss over the whole validation split: {val_loss:.4f}")
    if args.save:
        save_weights(model, corpus, args.save)
        stored = GPT(config)
        stored.load_state_dict(ember.io.load_safetensors(args.save))  # float16 values, float32 parameters
        print(f"weights {args.save}; validation loss with the stored weights: "
              f"{full_val_loss(stored, corpus, args.block_size):.4f}")

    model.eval()
    start_ids = ember.tensor([corpus.tokenizer.encode("\n")])
    sample = corpus.tokenizer.decode(
        model.generate(start_ids, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k)[0])
    print("---- sample ----" + sample)
    return {"history": history, "sample": sample, "seconds": elapsed, "val_loss": val_loss}


if __name__ == "__main__":
    main()
