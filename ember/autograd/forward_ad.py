"""Forward-mode AD (``torch.autograd.forward_ad``): dual tensors and their tangents.

ember's graph is reverse-mode only, so a tangent is computed when it is asked for, by
the double-vjp trick: for an output ``y`` and a dummy ``u`` shaped like it,
``g = d<y, u>/d(duals)`` is ``J^T u`` (recorded, linear in ``u``); then
``d<g, t>/du = J t``, the Jacobian-vector product. ``make_dual`` only records the tangent
and returns a tensor that ``y`` can be differentiated against; ``unpack_dual`` runs the two
backward passes. Every op's gradient is itself differentiable, so this works for all ops;
the price is two backward passes per ``unpack_dual`` instead of one forward pass.
"""
from __future__ import annotations

from collections import namedtuple

from .grad_mode import is_grad_enabled

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

# The one active level (PyTorch supports no nesting): None, or the duals made in it as
# (dual tensor, tangent, whether ember made the dual a leaf of its own).
_level: int | None = None
_duals: list = []


def enter_dual_level() -> int:
    """Start a forward-AD level and return its number (0: levels do not nest)."""
    global _level
    if _level is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _level = 0
    return _level


def exit_dual_level(*, level: int | None = None) -> None:
    """End the level: its dual tensors become plain tensors again (no tangents)."""
    global _level
    if level is None:
        level = _level
    if level is None or level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if level != _level:
        raise RuntimeError(f"Trying to exit dual level {level} but the current level is {_level}; "
                           "exit the levels in the order they were entered.")
    for dual, _, own_leaf in _duals:
        if own_leaf:  # made requiring grad only to carry the tangent
            dual.requires_grad_(False)
    _duals.clear()
    _level = None


def _check_level(level: int | None, op: str) -> int:
    if _level is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if level is not None and level != _level:
        raise RuntimeError(f"Invalid level given to {op}")
    return _level


def _find(tensor):
    for entry in _duals:
        if entry[0] is tensor:
            return entry
    return None


def make_dual(tensor, tangent, *, level: int | None = None):
    """A tensor equal to ``tensor`` whose forward gradient is ``tangent``."""
    _check_level(level, "_make_dual")
    if not (tensor.dtype.is_floating_point or tensor.dtype.is_complex):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.dtype.is_floating_point or tangent.dtype.is_complex):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original "
            f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
            f"forward gradient is of size {list(tangent.shape)}.")
    if _find(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {_level} is not supported.")
    own_leaf = not tensor.requires_grad
    # A tensor that takes part in the user's backward stays connected to it (a view, as in
    # PyTorch); otherwise a fresh leaf is the point the tangent is differentiated from.
    dual = tensor.detach().requires_grad_(True) if own_leaf else tensor.view_as(tensor)
    _duals.append((dual, tangent, own_leaf))
    return dual


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``; tangent None when it depends on no dual tensor."""
    from . import grad
    from ..ops.creation import zeros_like

    if _level is None or (level is not None and level != _level) or not tensor.requires_grad:
        return UnpackedDualTensor(tensor, None) if _level is None else \
            UnpackedDualTensor(_primal(tensor), None)
    entry = _find(tensor)
    if entry is not None:
        return UnpackedDualTensor(_primal(tensor), entry[1])
    duals = [d for d, _, _ in _duals]
    # Keep the tangent differentiable only where the user's own graph flows through it.
    keep = is_grad_enabled() and any(not own or t.requires_grad for _, t, own in _duals)
    u = zeros_like(tensor).requires_grad_(True)
    vjps = grad((tensor * u).sum(), duals, create_graph=True, allow_unused=True)
    pairs = [(g, t) for g, (_, t, _) in zip(vjps, _duals) if g is not None]
    if not pairs:
        return UnpackedDualTensor(_primal(tensor), None)
    inner = sum((g * t).sum() for g, t in pairs)
    (jvp,) = grad(inner, u, create_graph=keep, allow_unused=True)
    tangent = zeros_like(tensor) if jvp is None else jvp  # J^T u constant in u: J is zero
    return UnpackedDualTensor(_primal(tensor), tangent if keep else tangent.detach())


def _primal(tensor):
    """The primal value: detached unless the user's own graph (not only a dual made a leaf
    by ember) leads to it."""
    if all(own for _, _, own in _duals):
        return tensor.detach()
    return tensor


class dual_level:
    """``with dual_level():`` enters a forward-AD level and exits it on leaving."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()
