"""A short LeNet-5 run on real MNIST images learns: >= 93% test accuracy from 4,000 images."""
import os
import shutil

import pytest

import ember
from ember import nn
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets, models, transforms

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    if not os.path.isdir(MNIST_DIR):
        pytest.skip("shared MNIST data not present")
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in os.listdir(MNIST_DIR):
        shutil.copy(os.path.join(MNIST_DIR, name), raw / name)
    return str(root)


def test_lenet_learns_mnist_subset(mnist_root):
    ember.manual_seed(0)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = Subset(datasets.MNIST(mnist_root, train=True, transform=tf), range(4000))
    test = Subset(datasets.MNIST(mnist_root, train=False, transform=tf), range(1000))
    model = models.lenet5()
    opt = ember.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        for x, y in DataLoader(train, batch_size=64, shuffle=True):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    model.eval()
    with ember.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in DataLoader(test, batch_size=500))
    assert correct / len(test) >= 0.93
