"""Random matrices with the structure each linalg op needs, identical for ember and PyTorch
(passed to the parity helpers as ``values``)."""
import numpy as np


def general(*shape, seed=0):
    """Square (or not) matrices; square ones get a diagonal shift so they are far from singular,
    while their determinants still take both signs."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, shape)
    if shape[-1] == shape[-2]:
        sign = rng.choice([-1.0, 1.0], shape[:-2] + (1, shape[-1]))
        a = a + 2.5 * np.eye(shape[-1]) * sign
    return a


def spd(*shape, seed=0):
    """Symmetric positive-definite matrices."""
    a = np.random.default_rng(seed).uniform(-1, 1, shape)
    return a @ a.swapaxes(-1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric(*shape, seed=0):
    """Symmetric matrices (distinct eigenvalues with probability 1)."""
    a = np.random.default_rng(seed).uniform(-1, 1, shape)
    return a + a.swapaxes(-1, -2)


def full_rank(*shape, seed=0):
    """Matrices of full rank with well-separated singular values (diag 1..k between random
    orthogonal factors)."""
    rng = np.random.default_rng(seed)
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, m)))
    v, _ = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))
    s = np.zeros(shape[:-2] + (m, n))
    idx = np.arange(k)
    s[..., idx, idx] = 1.0 + np.arange(k)[::-1] * 0.75
    return u @ s @ v.swapaxes(-1, -2)
