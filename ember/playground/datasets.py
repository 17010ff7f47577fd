"""The playground's 2-D data sets: points in the square [-6, 6]^2 with labels -1 or +1
(TensorFlow Playground's convention, so a squared loss on a tanh output also works), or a
real-valued target for the regression set ``plane``.

Every generator takes the number of points, the noise level in [0, 0.5] and a NumPy
``Generator``, and returns ``(points, labels)``: float32 arrays of shapes (N, 2) and (N,).
"""
from __future__ import annotations

import csv
import io
from typing import Callable

import numpy as np

EXTENT = 6.0  # the plane shown is [-EXTENT, EXTENT]^2


def circles(n: int, noise: float, rng: np.random.Generator):
    """A disc of +1 points inside a ring of -1 points."""
    radius = 5.0
    inner = n // 2
    r = np.concatenate([rng.uniform(0, 0.5 * radius, inner), rng.uniform(0.7 * radius, radius, n - inner)])
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    points += rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.where(np.arange(n) < inner, 1.0, -1.0)
    return _shuffled(points, labels, rng)


def xor(n: int, noise: float, rng: np.random.Generator):
    """Four quadrants: +1 where x1 and x2 have the same sign. Points keep a small margin
    from the axes, so the noise-free set is separable."""
    margin = 0.3
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, margin, -margin)
    labels = np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0)  # before the noise moves them
    points += rng.uniform(-5, 5, (n, 2)) * noise
    return points, labels


def spirals(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved spirals, one per label."""
    half = n // 2
    parts = []
    for count, phase, label in ((half, 0.0, 1.0), (n - half, np.pi, -1.0)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + phase
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (count, 2)) * noise * 5
        parts.append((xy, np.full(count, label)))
    points = np.concatenate([p for p, _ in parts])
    labels = np.concatenate([lab for _, lab in parts])
    return _shuffled(points, labels, rng)


def gaussians(n: int, noise: float, rng: np.random.Generator):
    """Two Gaussian blobs, at (2, 2) for +1 and (-2, -2) for -1; noise widens them."""
    std = np.sqrt(0.5 + 3.5 * noise / 0.5)  # variance 0.5 (no noise) to 4 (the most)
    half = n // 2
    centres = np.where((np.arange(n) < half)[:, None], 2.0, -2.0)
    points = centres + rng.normal(0, std, (n, 2))
    labels = np.where(np.arange(n) < half, 1.0, -1.0)
    return _shuffled(points, labels, rng)


def plane(n: int, noise: float, rng: np.random.Generator):
    """Regression: the target rises linearly from -1 to +1 along x1 + x2."""
    points = rng.uniform(-EXTENT, EXTENT, (n, 2))
    target = (points[:, 0] + points[:, 1]) / (2 * EXTENT)
    return points, target + rng.uniform(-1, 1, n) * noise


def _shuffled(points: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(labels))
    return points[order], labels[order]


GENERATORS: dict[str, Callable] = {"circles": circles, "xor": xor, "spirals": spirals,
                                   "gaussians": gaussians, "plane": plane}
REGRESSION_SETS = {"plane"}


def generate(name: str, n: int, noise: float, seed: int):
    """``n`` points of the data set ``name``, the same for the same seed."""
    if name not in GENERATORS:
        raise ValueError(f"playground data set: unknown name {name!r}; expected one of {sorted(GENERATORS)} or 'csv'")
    points, labels = GENERATORS[name](n, noise, np.random.default_rng(seed))
    return points.astype(np.float32), labels.astype(np.float32)


def parse_csv(text: str, regression: bool):
    """Points from CSV text with rows ``x1,x2,label`` (a header row is skipped).

    For classification the labels must be two classes, written 0/1 or -1/1 (0 becomes -1);
    for regression any number is a target.
    """
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise ValueError(f"playground CSV: line {number} has {len(row)} fields; expected 3 (x1,x2,label)")
        try:
            rows.append([float(cell) for cell in row])
        except ValueError:
            if rows or number > 1:
                raise ValueError(f"playground CSV: line {number} is not three numbers: {','.join(row)!r}") from None
    if len(rows) < 4:
        raise ValueError(f"playground CSV: {len(rows)} data rows; at least 4 are needed (x1,x2,label per line)")
    data = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(data).all():
        raise ValueError("playground CSV: the values must be finite numbers (no nan or inf)")
    points, labels = data[:, :2], data[:, 2]
    if not regression:
        classes = set(np.unique(labels).tolist())
        if not classes <= {0.0, 1.0} and not classes <= {-1.0, 1.0}:
            raise ValueError(f"playground CSV: classification labels must be 0/1 or -1/1, got values "
                             f"{sorted(classes)[:6]}; choose the MSE (regression) loss for real-valued targets")
        labels = np.where(labels > 0, 1.0, -1.0)
    return points.astype(np.float32), labels.astype(np.float32)
