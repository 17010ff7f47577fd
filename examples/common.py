"""What the example scripts share: argument parsing, the epoch loop, curves, checkpoints."""
from __future__ import annotations

import argparse
import os
import time

import ember
from ember._optional import require
from ember.utils.data import Subset


def parse_args(description: str, epochs: int, batch_size: int, lr: float, data_dir: str,
               save: bool = False) -> argparse.Namespace:
    """The options every image example takes; ``save``: also ``--save PATH``, for the examples
    that can write their weights as safetensors."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=data_dir,
                        help="the folder holding the data set's files, or a torchvision-style root "
                             "(DATA/MNIST/raw/...); missing files are downloaded into DATA/<Name>/raw/")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all)")
    parser.add_argument("--val-split", type=float, default=0.1,
                        help="fraction of the training images held out for validation each epoch (0: none); "
                             "the test set is evaluated once, after training")
    parser.add_argument("--out", default="runs", help="folder for the checkpoint and the curves")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--fake", action="store_true", help="random images instead of the data set")
    parser.add_argument("--compile", action="store_true",
                        help="train and evaluate the model through ember.compile (torch.compile's place)")
    parser.add_argument("--channels-last", action="store_true",
                        help="lay the model's convolution weights out channels-last (memory_format="
                             "ember.channels_last): its activations follow, and convolutions run NHWC")
    if save:
        parser.add_argument("--save", default=None, metavar="PATH",
                            help="also write the trained weights to PATH as float16 safetensors")
    args = parser.parse_args()
    # the image examples read images with Pillow and save curves with matplotlib: say so now,
    # not after the training
    require("PIL", "The image examples")
    require("matplotlib.figure", "The examples' learning curves")
    return args


def image_sets(args, dataset, shape: tuple, train_tf, test_tf) -> tuple:
    """(training set, the same images unaugmented, test set): ``dataset`` (a vision data set
    class) read from ``args.data_dir``, or with ``--fake`` random images of ``shape`` in 10
    classes, so that the pipeline runs where the data cannot be downloaded."""
    from ember.vision import datasets
    if args.fake:
        return (datasets.FakeData(2000, shape, 10, transform=train_tf),
                datasets.FakeData(2000, shape, 10, transform=test_tf),
                datasets.FakeData(500, shape, 10, transform=test_tf, random_offset=2000))
    return (dataset(args.data_dir, train=True, download=True, transform=train_tf),
            dataset(args.data_dir, train=True, transform=test_tf),
            dataset(args.data_dir, train=False, download=True, transform=test_tf))


def hold_out(train_set, fraction: float, seed: int, limit: int = 0, eval_view=None):
    """The training images split into (train, validation) subsets, at random (seeded). The
    validation part is read through ``eval_view`` (the same images with the test transform,
    without augmentation) when given. ``limit`` keeps only the first that many images."""
    n = min(limit, len(train_set)) if limit else len(train_set)
    n_val = int(round(n * fraction))
    order = ember.randperm(n, generator=ember.Generator().manual_seed(seed)).tolist()
    train = Subset(train_set, order[n_val:])
    return train, (Subset(eval_view or train_set, order[:n_val]) if n_val else None)


def run_epoch(model, loader, loss_fn, optimizer=None, scheduler=None, bar=None) -> tuple[float, float]:
    """One pass over ``loader``: trains when an optimizer is given, else evaluates.
    Returns the mean loss and the accuracy. ``bar`` (a ProgressBar) shows the batches."""
    training = optimizer is not None
    model.train(training)
    total_loss, correct, count = 0.0, 0, 0
    with ember.set_grad_enabled(training):
        for x, y in loader:
            logits = model(x)
            loss = loss_fn(logits, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
            if bar is not None:
                bar.batch_end(len(y), {"loss": total_loss / count})
    return total_loss / count, correct / count


def fit(model, train_loader, val_loader, test_loader, loss_fn, optimizer, epochs: int, out: str, name: str,
        scheduler=None, per_batch_scheduler: bool = False, compile: bool = False,
        channels_last: bool = False) -> dict:
    """Train for ``epochs``, validating after each (when ``val_loader`` is given) with one line
    per epoch and a progress bar (or a line every 10 s off a terminal) during it; then
    evaluate the test set once, and save the checkpoint and the curves. With ``compile``,
    the batches go through ``ember.compile(model)``; the checkpoint keeps the model's keys.
    With ``channels_last``, the model is laid out in that memory format first (in place: the
    optimizer keeps its parameters)."""
    if channels_last:
        model.to(memory_format=ember.channels_last)
    net = ember.compile(model) if compile else model
    from ember.train.progress import ProgressBar
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        bar = ProgressBar()
        bar.epoch_start(epoch - 1, epochs, len(train_loader))
        tr = run_epoch(net, train_loader, loss_fn, optimizer, scheduler if per_batch_scheduler else None, bar)
        bar.close()
        va = run_epoch(net, val_loader, loss_fn) if val_loader is not None else (float("nan"),) * 2
        if scheduler is not None and not per_batch_scheduler:
            scheduler.step()
        for key, value in zip(history, tr + va):
            history[key].append(value)
        shown = f"  validation loss {va[0]:.4f} acc {va[1]:6.2%}" if val_loader is not None else ""
        print(f"epoch {epoch:3d}/{epochs}  train loss {tr[0]:.4f} acc {tr[1]:6.2%}{shown}  "
              f"({time.perf_counter() - start:.0f}s)", flush=True)
    test_loss, test_acc = run_epoch(net, test_loader, loss_fn)
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, f"{name}.ember")
    ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epochs,
                "history": history, "test": {"loss": test_loss, "acc": test_acc}}, ckpt)
    png = plot_curves(history, os.path.join(out, f"{name}_curves.png"), name)
    print(f"test set (evaluated once, after training): loss {test_loss:.4f} accuracy {test_acc:.2%}; "
          f"checkpoint {ckpt}; curves {png}")
    return history


def plot_curves(history: dict, path: str, title: str) -> str:
    """Loss and accuracy per epoch, training and validation, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for split, label in (("train", "training"), ("val", "validation")):
        ax1.plot(epochs, history[f"{split}_loss"], marker="o", label=label)
        ax2.plot(epochs, [100 * a for a in history[f"{split}_acc"]], marker="o", label=label)
    ax1.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
