"""``torch.jit``: ember runs eagerly, so scripting and tracing return what they were given.

``script``/``trace`` keep scripts that compile a model for speed or export working;
saving a compiled model has no ember form, and ``save``/``load`` say what to use instead.
"""
from __future__ import annotations

__all__ = ["export", "ignore", "is_scripting", "is_tracing", "load", "save", "script", "trace",
           "unused"]


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """Return ``obj`` (a module or function) unchanged: it runs eagerly."""
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True,
          check_inputs=None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs: bool = True):
    """Run ``func`` once on the example inputs (so a broken model fails here, as tracing
    would) and return it unchanged."""
    if example_inputs is not None or example_kwarg_inputs is not None:
        from .autograd.grad_mode import no_grad
        args = example_inputs if isinstance(example_inputs, tuple) else (
            () if example_inputs is None else (example_inputs,))
        with no_grad():
            func(*args, **(example_kwarg_inputs or {}))
    return func


def ignore(drop=False, **kwargs):
    """Decorator (with or without arguments) leaving the function as it is."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def save(m, f, _extra_files=None) -> None:
    raise RuntimeError(
        "ember.jit.save: ember has no compiled (TorchScript) model format; ember.jit.script and "
        "trace return the eager module. Save its weights with ember.save(model.state_dict(), f) "
        "and load them into the model class with model.load_state_dict(ember.load(f)).")


def load(f, map_location=None, _extra_files=None):
    raise RuntimeError(
        f"ember.jit.load({f!r}): ember cannot run TorchScript archives. Rebuild the model from its "
        "Python class and load its weights with model.load_state_dict(ember.load(path)) "
        "(ember.load also reads PyTorch state_dict checkpoints).")
