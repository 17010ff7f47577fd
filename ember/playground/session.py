"""One playground session: the configuration, the data, an ember network, its optimizer,
training one batch at a time, and everything the page draws (losses, weights, and every
neuron's output over a grid of the plane)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

import ember
from ember import nn
from ember.nn import functional as F

from . import datasets

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
LOSSES = ("cross_entropy", "mse")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS, MAX_NEURONS = 6, 8
HISTORY = 500  # loss points kept; older ones are thinned out so the curve spans the whole run


@dataclass
class Config:
    """Everything the learner chooses on the page. ``csv`` holds uploaded text when
    ``dataset == "csv"``."""
    dataset: str = "circles"
    noise: float = 0.0
    points: int = 200
    seed: int = 0
    csv: str = ""
    hidden: list = field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    val_fraction: float = 0.5

    @classmethod
    def from_dict(cls, values: dict, base: "Config | None" = None) -> "Config":
        """``base`` (or the defaults) with ``values`` applied, checked."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"playground config: unknown setting(s) {unknown}; expected some of {sorted(known)}")
        config = dataclasses.replace(base or cls(), **values)
        config.check()
        return config

    def check(self) -> None:
        """Raise ValueError naming the first setting out of range and what it accepts."""
        def choice(name, options):
            if getattr(self, name) not in options:
                raise ValueError(f"playground config: {name} must be one of {list(options)}, got {getattr(self, name)!r}")

        def number(name, low, high, kind=(int, float)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
                raise ValueError(f"playground config: {name} must be a number in [{low}, {high}], got {value!r}")

        choice("dataset", [*datasets.GENERATORS, "csv"])
        choice("activation", ACTIVATIONS)
        choice("loss", LOSSES)
        choice("optimizer", OPTIMIZERS)
        choice("regularization", REGULARIZATIONS)
        number("noise", 0, 0.5)
        number("points", 10, 2000, int)
        number("seed", 0, 2**32 - 1, int)
        number("lr", 1e-6, 10)
        number("batch_size", 1, 2000, int)
        number("reg_rate", 0, 10)
        number("val_fraction", 0, 0.9)
        if not isinstance(self.hidden, list) or len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"playground config: hidden must be a list of 0 to {MAX_LAYERS} layer sizes, "
                             f"got {self.hidden!r}")
        for size in self.hidden:
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_NEURONS:
                raise ValueError(f"playground config: each hidden layer has 1 to {MAX_NEURONS} neurons, "
                                 f"got {self.hidden!r}")
        if self.dataset in datasets.REGRESSION_SETS and self.loss != "mse":
            raise ValueError(f"playground config: {self.dataset} is a regression data set (real-valued targets); "
                             f"choose loss 'mse'")
        if self.dataset == "csv" and not self.csv.strip():
            raise ValueError("playground config: dataset 'csv' needs the file's text in csv (x1,x2,label rows)")


def build_model(config: Config) -> nn.Sequential:
    """2 inputs, the hidden layers each followed by the activation, and 1 output (a logit
    for cross-entropy, the prediction itself for MSE)."""
    layers, width = [], 2
    for size in config.hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[config.activation]()]
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def build_optimizer(config: Config, params) -> ember.optim.Optimizer:
    if config.optimizer == "sgd":
        return ember.optim.SGD(params, lr=config.lr)
    if config.optimizer == "momentum":
        return ember.optim.SGD(params, lr=config.lr, momentum=0.9)
    if config.optimizer == "adam":
        return ember.optim.Adam(params, lr=config.lr)
    return ember.optim.RMSprop(params, lr=config.lr)


class Session:
    """A network training on a 2-D data set, one batch per ``step``."""

    def __init__(self, config: Config | None = None, grid: int = 40):
        self.config = config or Config()
        self.config.check()
        self.grid = grid
        regression = self.config.loss == "mse"
        if self.config.dataset == "csv":
            points, labels = datasets.parse_csv(self.config.csv, regression)
        else:
            points, labels = datasets.generate(self.config.dataset, self.config.points, self.config.noise,
                                               self.config.seed)
        # The validation points are the last ones (every generator shuffles or draws at random).
        n_val = int(round(len(labels) * self.config.val_fraction))
        if len(labels) - n_val < 1:
            raise ValueError(f"playground config: val_fraction {self.config.val_fraction} leaves no training points "
                             f"out of {len(labels)}")
        self.extent = float(max(datasets.EXTENT, np.abs(points).max() * 1.05))
        self.train_x, self.train_y = ember.from_numpy(points[:len(labels) - n_val]), labels[:len(labels) - n_val]
        self.val_x, self.val_y = ember.from_numpy(points[len(labels) - n_val:]), labels[len(labels) - n_val:]
        with ember.random.fork_rng():  # the seed fixes these weights without touching the caller's RNG
            ember.manual_seed(self.config.seed)
            self.model = build_model(self.config)
        self.optimizer = build_optimizer(self.config, self.model.parameters())
        self._rng = np.random.default_rng(self.config.seed)
        self._order = np.zeros(0, dtype=np.int64)
        self.steps = self.epoch = 0
        self.history: list[dict] = []
        self._record()

    # -- training ---------------------------------------------------------------------------

    def data_loss(self, outputs: ember.Tensor, labels: np.ndarray) -> ember.Tensor:
        """Cross-entropy of the +1 class's logit (labels -1/+1 become 0/1), or squared error."""
        target = ember.from_numpy(labels.reshape(-1, 1))
        if self.config.loss == "mse":
            return F.mse_loss(outputs, target)
        return F.binary_cross_entropy_with_logits(outputs, (target + 1) / 2)

    def penalty(self) -> ember.Tensor | None:
        """The L1 or L2 term on the weights (not the biases), or None."""
        if self.config.regularization == "none" or self.config.reg_rate == 0:
            return None
        weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        if self.config.regularization == "l1":
            total = sum(w.abs().sum() for w in weights)
        else:
            total = sum((w * w).sum() for w in weights) / 2
        return self.config.reg_rate * total

    def batch_loss(self, batch: np.ndarray) -> ember.Tensor:
        """The training loss (data loss plus regularization) of the training points at the
        indices ``batch``, with its graph."""
        loss = self.data_loss(self.model(self.train_x[ember.from_numpy(batch)]), self.train_y[batch])
        penalty = self.penalty()
        return loss if penalty is None else loss + penalty

    def first_batch_loss(self) -> ember.Tensor:
        """The loss of the first batch of training points: the graph shown on the page (the
        shuffled order training follows is left alone)."""
        return self.batch_loss(np.arange(min(self.config.batch_size, len(self.train_y))))

    def step(self, n: int = 1) -> None:
        """Train on ``n`` batches, then record the training and validation losses. The epoch
        counter advances each time the shuffled training set runs out."""
        for _ in range(n):
            if len(self._order) == 0:
                self._order = self._rng.permutation(len(self.train_y))
            batch, self._order = self._order[:self.config.batch_size], self._order[self.config.batch_size:]
            if len(self._order) == 0:
                self.epoch += 1
            self.optimizer.zero_grad()
            self.batch_loss(batch).backward()
            self.optimizer.step()
            self.steps += 1
        self._record()

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_y) / self.config.batch_size)

    def losses(self) -> tuple[float, float | None]:
        """The data loss (without regularization) on the training and validation points."""
        with ember.no_grad():
            train = float(self.data_loss(self.model(self.train_x), self.train_y))
            val = float(self.data_loss(self.model(self.val_x), self.val_y)) if len(self.val_y) else None
        return train, val

    def _record(self) -> None:
        train, val = self.losses()
        self.history.append({"step": self.steps, "epoch": self.epoch, "train": train, "val": val})
        if len(self.history) > HISTORY:
            self.history = self.history[::2] if len(self.history) % 2 else self.history[:-1:2] + self.history[-1:]

    # -- what the page draws ------------------------------------------------------------------

    def grid_points(self, size: int) -> np.ndarray:
        """The centres of a size x size grid over the plane, row by row from the top (x2 high)."""
        ticks = (np.arange(size) + 0.5) / size * 2 * self.extent - self.extent
        x1, x2 = np.meshgrid(ticks, ticks[::-1])
        return np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)

    def neuron_outputs(self, size: int | None = None) -> list[np.ndarray]:
        """Per layer (inputs, each hidden layer after its activation, the output), an array of
        shape (neurons, size, size): each neuron's value at every grid point. The output is
        shown as the prediction in [-1, 1]: 2p - 1 for cross-entropy, the value itself for MSE."""
        size = size or self.grid
        x = ember.from_numpy(self.grid_points(size))
        maps = [x.numpy()]
        with ember.no_grad():
            modules = list(self.model)
            for i, module in enumerate(modules):
                x = module(x)
                if isinstance(module, nn.Linear) and i + 1 < len(modules):
                    continue  # a hidden layer's value is taken after its activation
                maps.append(x.numpy())
        out = maps[-1]
        maps[-1] = np.tanh(out / 2) if self.config.loss == "cross_entropy" else out  # 2 * sigmoid(z) - 1
        return [m.T.reshape(-1, size, size) for m in maps]

    def weights(self) -> list[dict]:
        """Each Linear layer's weight (out, in) and bias as nested lists."""
        return [{"weight": m.weight.detach().numpy().tolist(), "bias": m.bias.detach().numpy().tolist()}
                for m in self.model if isinstance(m, nn.Linear)]

    def state(self, neuron_grid: int = 20) -> dict:
        """Everything the page shows, as JSON-ready Python values."""
        layers = self.neuron_outputs(neuron_grid)
        train, val = self.history[-1]["train"], self.history[-1]["val"]
        return {
            "config": {k: v for k, v in dataclasses.asdict(self.config).items() if k != "csv"},
            "extent": self.extent,
            "steps": self.steps, "epoch": self.epoch, "steps_per_epoch": self.steps_per_epoch(),
            "train_loss": train, "val_loss": val,
            "history": self.history,
            "train_points": _points(self.train_x, self.train_y),
            "val_points": _points(self.val_x, self.val_y),
            "boundary": _rounded(self.neuron_outputs(self.grid)[-1][0]),
            "neurons": [_rounded(layer) for layer in layers],
            "weights": self.weights(),
        }


def _points(x: ember.Tensor, y: np.ndarray) -> list:
    return np.round(np.concatenate([x.numpy(), y[:, None]], axis=1), 3).tolist()


def _rounded(array: np.ndarray) -> list:
    # Three decimals are more than a colour map shows, and keep the JSON small.
    return np.round(array.astype(np.float64), 3).tolist()
