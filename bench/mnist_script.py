"""The PyTorch-style MNIST script, one whole epoch with its data loading, ember vs PyTorch eager.

    python bench/mnist_script.py --data-dir ../shared/data/mnist [--limit 6400] [--repeats 2]

The model and loop are pytorch/examples' mnist/main.py: two 3x3 convolutions (32 and 64
channels), max-pool, dropout 0.25, a 9216-128 layer, dropout 0.5, log-softmax and NLL;
Adadelta (lr 1.0) with StepLR; batch 64, shuffled; every image read, converted to a tensor
and normalised per item by the DataLoader (a PIL image, then ToTensor and Normalize, as
torchvision does). ember runs the script with ember.vision; PyTorch, which has no
torchvision beside it here, reads the same decoded digits through a Dataset that makes the
same PIL image and applies the same conversion. Each framework runs in its own process and
they alternate; the figure is the median of the paired ratios (PyTorch's time / ember's).
Where JAX is installed, jax_models.mnist_epoch is a third side: the same epoch as one jitted
step per batch, its batches made by a plain loop through the same per-image conversion.
"""
from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

from common import Side, jax_installed  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def _torch_dataset(torch, images: np.ndarray, labels: np.ndarray):
    from PIL import Image

    class MNISTItems(torch.utils.data.Dataset):
        """torchvision's MNIST items: a PIL image through ToTensor and Normalize."""

        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            pixels = np.asarray(Image.fromarray(images[i], mode="L"), dtype=np.float32) / 255
            return (torch.from_numpy(pixels).unsqueeze(0) - MEAN) / STD, int(labels[i])
    return MNISTItems()


def _net(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = self.dropout1(F.max_pool2d(x, 2))
            x = self.dropout2(F.relu(self.fc1(lib.flatten(x, 1))))
            return F.log_softmax(self.fc2(x), dim=1)
    return Net()


def epoch(lib_name: str, data_dir: str, limit: int):
    """A callable that trains one epoch (``limit`` images, 0: all) of the script."""
    lib = importlib.import_module(lib_name)
    lib.manual_seed(1)
    if lib_name == "ember":
        from ember.vision import datasets, transforms
        train = datasets.MNIST(data_dir, train=True, transform=transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))]))
    else:
        from ember.vision import datasets  # only to decode the idx files into arrays
        raw = datasets.MNIST(data_dir, train=True)
        train = _torch_dataset(lib, raw.data.numpy(), raw.targets.numpy())
    if limit:
        train = lib.utils.data.Subset(train, range(limit))
    loader = lib.utils.data.DataLoader(train, batch_size=64, shuffle=True)
    model = _net(lib)
    optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)

    def run():
        model.train()
        for data, target in loader:
            optimizer.zero_grad()
            loss = lib.nn.functional.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/mnist", help="folder holding the MNIST files")
    parser.add_argument("--limit", type=int, default=0, help="train on this many images (0: the whole epoch)")
    parser.add_argument("--repeats", type=int, default=2, help="epochs timed on each side")
    args = parser.parse_args()
    sides = {lib: Side("mnist_script", "epoch", lib, args.data_dir, args.limit) for lib in ("ember", "torch")}
    if jax_installed():
        sides["jax"] = Side("jax_models", "mnist_epoch", "jax", args.data_dir, args.limit)
    try:
        times = {lib: [] for lib in sides}
        for _ in range(args.repeats):
            for lib, side in sides.items():
                times[lib].append(side.ask("time", 1))
    finally:
        for side in sides.values():
            side.close()
    ratio = statistics.median(t / e for e, t in zip(times["ember"], times["torch"]))
    images = args.limit or 60000
    print(f"MNIST script, one epoch of {images} images: ember {statistics.median(times['ember']):.1f} s, "
          f"torch {statistics.median(times['torch']):.1f} s, ember/torch {ratio:.2f}x "
          f"(median of {args.repeats} paired epochs)", flush=True)
    if "jax" in times:
        jax_ratio = statistics.median(t / j for j, t in zip(times["jax"], times["torch"]))
        print(f"  JAX jit, the same epoch: {statistics.median(times['jax']):.1f} s, jax/torch {jax_ratio:.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
