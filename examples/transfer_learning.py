"""Transfer learning: LeNet-5 trained on MNIST digits, fine-tuned on Fashion-MNIST clothes.

    python examples/transfer_learning.py --data-dir ../shared/data/fashion-mnist

With few labelled images of a new task, features learned on a related one help. This
script trains two LeNet-5s on the same --train-images Fashion-MNIST images for the same
number of epochs: one from scratch, one starting from the weights ember ships for MNIST
(``lenet5(weights="MNIST")``): first with its convolution layers frozen (only the
fully-connected layers learn), then --unfreeze-epochs with every layer learning at a lower
rate. It prints the test accuracy of both, and saves their validation curves and the
fine-tuned model. --smoke runs a few seconds on random images.
"""
from __future__ import annotations

import argparse
import os
import time

import ember
from ember import nn
from ember._optional import require
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets, models, transforms


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", default="data/fashion-mnist",
                        help="the Fashion-MNIST files (a flat folder or DATA/FashionMNIST/raw/)")
    parser.add_argument("--train-images", type=int, default=1000, help="labelled training images used")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of each run in all")
    parser.add_argument("--unfreeze-epochs", type=int, default=2,
                        help="of those, the last ones in which the pretrained convolutions learn too")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs", help="folder for the curves and the fine-tuned model")
    parser.add_argument("--smoke", action="store_true", help="a few seconds on random images")
    return parser.parse_args(argv)


def load_data(args):
    """(train subset, validation subset, test set) of Fashion-MNIST, normalised as MNIST was."""
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    if args.smoke:
        train = datasets.FakeData(80, (1, 28, 28), 10, transform=tf)
        test = datasets.FakeData(40, (1, 28, 28), 10, transform=tf, random_offset=80)
    else:
        train = datasets.FashionMNIST(args.data_dir, train=True, transform=tf)
        test = datasets.FashionMNIST(args.data_dir, train=False, transform=tf)
    order = ember.randperm(len(train), generator=ember.Generator().manual_seed(args.seed)).tolist()
    n_val = max(1, args.train_images // 5)
    return (Subset(train, order[:args.train_images]),
            Subset(train, order[args.train_images:args.train_images + n_val]), test)


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with ember.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return correct / total


def train(model, loader, val_loader, epochs, unfreeze_epochs, lr, curve: list, name: str):
    """Train for ``epochs``: with ``unfreeze_epochs``, the convolutions stay frozen until the
    last that many epochs, which then train every layer at a tenth of the rate (a new Adam
    for each phase, over the parameters that learn in it)."""
    convs = [p for n, p in model.named_parameters() if n.startswith("conv")]
    phases = [(epochs - unfreeze_epochs, True, lr), (unfreeze_epochs, False, lr / 10)] if unfreeze_epochs \
        else [(epochs, False, lr)]
    for count, frozen, rate in phases:
        for p in convs:
            p.requires_grad_(not frozen)
        optimizer = ember.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=rate)
        for _ in range(count):
            model.train()
            for x, y in loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                optimizer.step()
            curve.append(accuracy(model, val_loader))
            print(f"{name:11s} epoch {len(curve)}/{epochs} ({'convolutions frozen' if frozen else 'all layers'}"
                  f"{'' if rate == lr else ', rate / 10'}): validation accuracy {curve[-1]:.2%}", flush=True)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.smoke:
        args.train_images, args.epochs, args.unfreeze_epochs = 60, 2, 1
    train_set, val_set, test_set = load_data(args)
    loaders = [DataLoader(s, batch_size=args.batch_size, shuffle=(s is train_set),
                          generator=ember.Generator().manual_seed(args.seed)) for s in (train_set, val_set, test_set)]
    print(f"{len(train_set)} training / {len(val_set)} validation / {len(test_set)} test images")
    start = time.perf_counter()
    curves, results = {}, {}
    for name, weights, unfreeze in (("scratch", None, 0), ("pretrained", "MNIST", args.unfreeze_epochs)):
        ember.manual_seed(args.seed)
        model = models.lenet5(weights=weights)
        train(model, loaders[0], loaders[1], args.epochs, unfreeze, args.lr, curves.setdefault(name, []), name)
        results[name] = accuracy(model, loaders[2])
        print(f"{name}: test accuracy {results[name]:.2%}", flush=True)
    print(f"with {len(train_set)} labelled images and {args.epochs} epochs: from scratch {results['scratch']:.2%}, "
          f"from the MNIST weights {results['pretrained']:.2%} "
          f"({100 * (results['pretrained'] - results['scratch']):+.1f} points; {time.perf_counter() - start:.0f}s)")
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "transfer_learning.ember")
    ember.save(model.state_dict(), ckpt)
    png = _curves(curves, os.path.join(args.out, "transfer_learning_curves.png"))
    print(f"checkpoint {ckpt}; curves {png}")
    return {**results, "png": png}


def _curves(curves: dict, path: str) -> str:
    """Both runs' validation accuracy per epoch, as a PNG."""
    Figure = require("matplotlib.figure", "The transfer-learning example's curves").Figure
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for name, label in (("scratch", "from scratch"), ("pretrained", "from the MNIST weights")):
        epochs = range(1, len(curves[name]) + 1)
        ax.plot(epochs, [100 * a for a in curves[name]], marker="o", label=label)
    ax.set(title="Fashion-MNIST, few labelled images", xlabel="epoch", ylabel="validation accuracy (%)",
           xticks=list(range(1, len(curves["scratch"]) + 1)))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


if __name__ == "__main__":
    main()
