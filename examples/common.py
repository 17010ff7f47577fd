"""What the example scripts share: argument parsing, the epoch loop, curves, checkpoints."""
from __future__ import annotations

import argparse
import os
import time

import ember


def parse_args(description: str, epochs: int, batch_size: int, lr: float, data_dir: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=data_dir,
                        help="the folder holding the data set's files, or a torchvision-style root "
                             "(DATA/MNIST/raw/...); missing files are downloaded into DATA/<Name>/raw/")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all)")
    parser.add_argument("--out", default="runs", help="folder for the checkpoint and the curves")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--fake", action="store_true", help="random images instead of the data set")
    return parser.parse_args()


def run_epoch(model, loader, loss_fn, optimizer=None, scheduler=None) -> tuple[float, float]:
    """One pass over ``loader``: trains when an optimizer is given, else evaluates.
    Returns the mean loss and the accuracy."""
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
    return total_loss / count, correct / count


def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs: int, out: str, name: str,
        scheduler=None, per_batch_scheduler: bool = False) -> dict:
    """Train for ``epochs``, print one line per epoch, save the checkpoint and the curves."""
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        tr = run_epoch(model, train_loader, loss_fn, optimizer, scheduler if per_batch_scheduler else None)
        te = run_epoch(model, test_loader, loss_fn)
        if scheduler is not None and not per_batch_scheduler:
            scheduler.step()
        for key, value in zip(history, tr + te):
            history[key].append(value)
        print(f"epoch {epoch:3d}/{epochs}  train loss {tr[0]:.4f} acc {tr[1]:6.2%}  "
              f"test loss {te[0]:.4f} acc {te[1]:6.2%}  ({time.perf_counter() - start:.0f}s)", flush=True)
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, f"{name}.ember")
    ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epochs,
                "history": history}, ckpt)
    png = plot_curves(history, os.path.join(out, f"{name}_curves.png"), name)
    print(f"test accuracy {history['test_acc'][-1]:.2%}; checkpoint {ckpt}; curves {png}")
    return history


def plot_curves(history: dict, path: str, title: str) -> str:
    """Loss and accuracy per epoch, train and test, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        ax1.plot(epochs, history[f"{split}_loss"], marker="o", label=split)
        ax2.plot(epochs, [100 * a for a in history[f"{split}_acc"]], marker="o", label=split)
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
