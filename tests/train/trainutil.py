"""Small data and models shared by the ember.train tests."""
import ember
import ember.nn as nn
from ember.utils.data import TensorDataset


def accuracy(outputs, targets) -> float:
    """Fraction of rows whose arg-max is the target."""
    return (outputs.argmax(1) == targets).float().mean().item()


def make_data(n: int = 48) -> TensorDataset:
    g = ember.Generator().manual_seed(0)
    x = ember.randn(n, 4, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def make_model(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 2))
