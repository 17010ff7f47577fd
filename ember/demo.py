"""Train a multilayer perceptron on handwritten digits: ``python -m ember.demo``.

The data is scikit-learn's bundled 8x8 digits (1,797 images, no download). The
script is an ordinary PyTorch training loop with ember in PyTorch's place: split
into train/validation/test sets, normalise with training statistics, train with
mini-batches, validate each epoch, report test accuracy, save and reload weights.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import ember
from ember._optional import require
from ember import nn
from ember.utils.data import DataLoader, TensorDataset, random_split


def load_digits_dataset() -> TensorDataset:
    digits = require("sklearn.datasets", "The demo (scikit-learn's bundled digits)").load_digits()
    images = ember.tensor(digits.data, dtype=ember.float32)   # (1797, 64), pixel values 0..16
    labels = ember.tensor(digits.target, dtype=ember.int64)   # (1797,)
    return TensorDataset(images, labels)


def build_model(hidden: int = 128, dropout: float = 0.1) -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden // 2), nn.ReLU(),
        nn.Linear(hidden // 2, 10),
    )


def evaluate(model: nn.Module, loader: DataLoader, mean, std, loss_fn) -> tuple[float, float]:
    """Mean loss and accuracy over a loader, in eval mode without recording a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with ember.no_grad():
        for x, y in loader:
            logits = model((x - mean) / std)
            total_loss += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    return total_loss / count, correct / count


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(prog="ember demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ember.manual_seed(args.seed)
    dataset = load_digits_dataset()
    split = ember.Generator().manual_seed(args.seed)
    train_set, val_set, test_set = random_split(dataset, [0.7, 0.15, 0.15], generator=split)

    # Normalise with statistics of the training images only.
    train_images = ember.stack([x for x, _ in train_set])
    mean, std = train_images.mean(0), train_images.std(0) + 1.0

    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)

    model = build_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"MLP with {n_params:,} parameters; {len(train_set)} train / {len(val_set)} validation / "
          f"{len(test_set)} test images")

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        running, seen = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model((x - mean) / std), y)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(y)
            seen += len(y)
        val_loss, val_acc = evaluate(model, val_loader, mean, std, loss_fn)
        print(f"epoch {epoch:3d}/{args.epochs}  train loss {running / seen:.4f}  "
              f"val loss {val_loss:.4f}  val acc {val_acc:6.2%}  ({time.perf_counter() - start:.1f}s)")

    _, test_acc = evaluate(model, test_loader, mean, std, loss_fn)
    print(f"test accuracy {test_acc:.2%} after {args.epochs} epochs "
          f"in {time.perf_counter() - start:.1f}s")

    # Weights survive a save/load round trip into a fresh model.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_mlp.ember")
        ember.save(model.state_dict(), path)
        restored = build_model()
        restored.load_state_dict(ember.load(path))
    _, restored_acc = evaluate(restored, test_loader, mean, std, loss_fn)
    print(f"reloaded weights: test accuracy {restored_acc:.2%}")
    return test_acc


if __name__ == "__main__":
    main()
