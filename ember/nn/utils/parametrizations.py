"""Parametrizations built on ``parametrize``: ``weight_norm``, ``spectral_norm``, ``orthogonal``."""
from __future__ import annotations

from ..._tensor import Tensor
from ... import linalg
from ...autograd.grad_mode import no_grad
from ...ops.creation import eye, zeros_like
from ...ops.join import cat
from ...ops.linalg import dot, matmul, mv
from ..functional import normalize
from ..modules.module import Module
from . import parametrize
from .spectral_norm import default_dim, reshape_weight_to_matrix
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Parametrize ``module.<name>`` as a magnitude (``parametrizations.<name>.original0``) times
    a direction (``original1``): ``weight = g * v / ||v||``, the norm taken over every dimension
    but ``dim`` (``None``: over the whole tensor)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but "
                             f"got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = reshape_weight_to_matrix(weight, self.dim)
            h, w = weight_mat.shape
            with no_grad():
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            # Start from a good estimate of the singular vectors, as PyTorch does.
            self._power_method(weight_mat, 15)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        with no_grad():
            for _ in range(n_power_iterations):
                normalize(mv(weight_mat, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(mv(weight_mat.t(), self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = reshape_weight_to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Copies, so that the next in-place update does not touch tensors saved for backward.
        sigma = dot(self._u.clone(), mv(weight_mat, self._v.clone()))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Parametrize ``module.<name>`` as itself divided by its largest singular value, estimated
    by power iteration on the buffers ``parametrizations.<name>.0._u`` / ``_v`` (updated at
    every access in training mode).

    Args:
        dim: the output dimension (default 0, 1 for transposed convolutions).
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    dim = default_dim(module) if dim is None else dim
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first ``k`` columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th column of
    ``a`` below the diagonal with a 1 on it (LAPACK's orgqr), from differentiable ops."""
    n, k = a.size(-2), a.size(-1)
    q = eye(n, dtype=a.dtype, device=a.device).expand(*a.shape[:-2], n, n)
    unit = eye(n, k, dtype=a.dtype, device=a.device)
    vs = a.tril(-1) + unit
    for i in range(k):
        v = vs[..., :, i:i + 1]                                   # (..., n, 1)
        q = q - tau[..., i, None, None] * matmul(matmul(q, v), v.transpose(-2, -1))
    return q[..., :, :k]


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of a QR decomposition of ``a`` with R's diagonal made positive (unique for full
    rank matrices, so the same as PyTorch's)."""
    q, r = linalg.qr(a)
    signs = r.diagonal(dim1=-2, dim2=-1).sign()
    return q * (signs + (signs == 0).to(signs.dtype)).unsqueeze(-2)


class _Orthogonal(Module):
    _MAPS = ("matrix_exp", "cayley", "householder")

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.size(-2), x.size(-1)
        transposed = n < k
        if transposed:
            x = x.transpose(-2, -1)
            n, k = k, n
        if self.orthogonal_map == "householder":
            a = x.tril(-1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            q = _householder_product(a, tau)
            # The diagonal of x holds +-1 signs; they are not trained (hence the cast).
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        else:
            # A tall n x k matrix needs only its lower triangle, embedded in an n x n skew matrix.
            x = x.tril()
            if n != k:
                x = cat([x, x.new_zeros(*x.shape[:-2], n, n - k)], dim=-1)
            a = x - x.transpose(-2, -1)
            if self.orthogonal_map == "cayley":
                # The Cayley retraction (I + A/2)(I - A/2)^{-1}, as a solve
                identity = eye(n, dtype=a.dtype, device=a.device)
                q = linalg.solve(identity - 0.5 * a, identity + 0.5 * a)
            else:
                q = linalg.matrix_exp(a)
            if n != k:
                q = q[..., :k]
        if getattr(self, "base", None) is not None:
            q = matmul(self.base, q)
        if transposed:
            q = q.transpose(-2, -1)
        return q

    def right_inverse(self, q: Tensor) -> Tensor:
        with no_grad():
            if q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {tuple(self.shape)}. "
                                 f"Got a tensor of shape {tuple(q.shape)}.")
            q_init = q
            n, k = q.size(-2), q.size(-1)
            if n < k:
                q = q.transpose(-2, -1)
                n, k = k, n
            if "base" not in self._buffers:
                raise NotImplementedError("It is not possible to assign to the orthogonal parametrization "
                                          "when use_trivialization=False.")
            if n != k:
                # Complete q to a square orthogonal matrix.
                q = cat([q, q.new_empty(*q.shape[:-2], n, n - k).normal_()], dim=-1)
            self.base = _make_orthogonal(q)
            # -Id: with it every map gives the identity, so the weight starts at ``base``.
            neg_id = zeros_like(q_init)
            neg_id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_id


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Parametrize the matrix (or batch of matrices) ``module.<name>`` to stay orthogonal.

    The initial value is the Q factor of the current weight. ``orthogonal_map`` is
    ``"matrix_exp"`` (default for square matrices), ``"cayley"`` or ``"householder"`` (default
    otherwise). ``use_trivialization=False`` is not supported.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.size(-2) == weight.size(-1) else "householder"
    if orthogonal_map not in _Orthogonal._MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    if not use_trivialization:
        raise NotImplementedError("orthogonal(use_trivialization=False) needs a QR factorisation "
                                  "(geqrf) with Householder reflectors, which ember does not have yet.")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
