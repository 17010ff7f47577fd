"""GradScaler: loss scaling for float16 training, PyTorch's algorithm step for step.

The loss is multiplied by a scale so small float16 gradients do not flush to zero; before
the optimizer steps, gradients are divided by it again. A step whose gradients hold an inf
or a nan is skipped and the scale shrinks (``backoff_factor``); after ``growth_interval``
clean steps in a row it grows (``growth_factor``). The scale is a float32 0-d tensor and
every update is float32 arithmetic, so the trajectory equals PyTorch's bit for bit.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from enum import Enum

from .._tensor import Tensor
from ..autograd.capture import replayable
from ..autograd.grad_mode import no_grad
from ..backend import dtypes

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_optimizer_state() -> dict:
    return {"stage": OptState.READY, "found_inf": None}


class GradScaler:
    """Scale losses and unscale gradients so float16 training neither underflows nor
    steps on overflowed gradients.

    Args:
        device: "cuda" (disabled, with PyTorch's warning, when CUDA is unavailable) or "cpu".
        init_scale: the first scale.
        growth_factor / backoff_factor: the scale's multipliers after ``growth_interval``
            clean steps / after a step with infs or nans.
        enabled: False makes every method a pass-through (``step`` just steps).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if enabled and device == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("ember.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                              "Disabling.")
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError(f"GradScaler: the growth factor must be > 1.0, got {growth_factor}")
            if backoff_factor >= 1.0:
                raise AssertionError(f"GradScaler: the backoff factor must be < 1.0, got {backoff_factor}")
        self._init_scale = init_scale
        self._scale: Tensor | None = None
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer_states = defaultdict(_refresh_optimizer_state)

    # ---- scaling ------------------------------------------------------------------------
    def _lazy_init_scale(self, like: Tensor) -> None:
        from ..ops.creation import full
        self._scale = full((), self._init_scale, dtype=dtypes.float32, device=like.device)

    @replayable
    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale(outputs)
            return outputs * self._scale.to(outputs.device)
        if isinstance(outputs, (list, tuple)):
            scaled = [self.scale(o) for o in outputs]
            return type(outputs)(scaled) if isinstance(outputs, tuple) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _check_scale(self, funcname: str) -> Tensor:
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your "
                                 f"script did not use scaler.scale(loss or outputs) earlier in the iteration.")
        return self._scale

    @replayable
    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale (in place) and record whether any is
        inf or nan. Called by ``step`` unless called first (to clip the true gradients)."""
        if not self._enabled:
            return
        scale = self._check_scale("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # PyTorch's: the reciprocal in float64, rounded once to float32
        inv_scale = scale.double().reciprocal().float()
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype is dtypes.float16:
                        raise ValueError("Attempting to unscale FP16 gradients: GradScaler needs the "
                                         "parameters (and so their gradients) in float32; keep the model "
                                         "in float32 and let autocast run ops in float16.")
                    if not bool(grad.isfinite().all()):
                        found_inf = True
                    grad.mul_(inv_scale.to(grad.device))
        state["found_inf"] = found_inf
        state["stage"] = OptState.UNSCALED

    @replayable
    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and run ``optimizer.step`` unless a gradient was inf or
        nan. Returns what ``optimizer.step`` returned, or None for a skipped step."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        retval = None
        if not state["found_inf"]:
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    @replayable
    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Shrink or grow the scale from this iteration's inf checks (or set ``new_scale``)."""
        if not self._enabled:
            return
        scale = self._check_scale("update")
        with no_grad():
            if new_scale is not None:
                if isinstance(new_scale, Tensor):
                    if new_scale.numel() != 1 or new_scale.requires_grad:
                        raise AssertionError("new_scale should be a float or a 1-element tensor with "
                                         "requires_grad=False.")
                    scale.copy_(new_scale.reshape(()))
                else:
                    scale.fill_(new_scale)
            else:
                found = [s["found_inf"] for s in self._per_optimizer_states.values()
                         if s["found_inf"] is not None]
                if not found:
                    raise AssertionError("No inf checks were recorded prior to update.")
                if any(found):
                    scale.mul_(self._backoff_factor)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker += 1
                    if self._growth_tracker == self._growth_interval:
                        grown = scale * self._growth_factor
                        if bool(grown.isfinite()):
                            scale.copy_(grown)
                        self._growth_tracker = 0
        self._per_optimizer_states = defaultdict(_refresh_optimizer_state)

    # ---- queries and state ----------------------------------------------------------------
    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker
        (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            with no_grad():
                self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]
