"""The globals a user allowed in ``weights_only=True`` loads (``add_safe_globals``,
``safe_globals``), as ``torch.serialization`` keeps them, and the advice a refused global's
error gives."""
from __future__ import annotations

from typing import Any

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals"]

# Globals the user declared safe for weights_only loads (add_safe_globals): (module, name) -> object.
_safe_globals: dict[tuple[str, str], Any] = {}


def _global_key(entry) -> tuple[tuple[str, str], Any]:
    """``obj`` or ``(obj, "module.name")``, as ``add_safe_globals`` takes them."""
    if type(entry) is tuple and len(entry) == 2 and isinstance(entry[1], str):
        obj, qualname = entry
        module, _, name = qualname.rpartition(".")
        return (module, name), obj
    module, name = getattr(entry, "__module__", None), getattr(entry, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)):
        raise TypeError(f"add_safe_globals: expected classes or functions, or (object, 'module.name') pairs, "
                        f"got {entry!r:.100}")
    return (module, name), entry


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes and functions in ``weights_only=True`` loads, as
    ``torch.serialization.add_safe_globals``: only for globals you trust, since a load may
    call them and set their instances' state from the file."""
    _safe_globals.update(_global_key(g) for g in safe_globals)


def user_globals() -> dict[tuple[str, str], Any]:
    """A copy of the allowed globals by ``(module, name)``, for one load."""
    return dict(_safe_globals)


def get_safe_globals() -> list:
    """The globals :func:`add_safe_globals` allowed."""
    return list(_safe_globals.values())


def clear_safe_globals() -> None:
    """Forget every global :func:`add_safe_globals` allowed."""
    _safe_globals.clear()


class safe_globals:
    """``with safe_globals([...]):`` allows these globals in ``weights_only=True`` loads
    inside the block only."""

    def __init__(self, safe_globals: list):
        self.entries = dict(_global_key(g) for g in safe_globals)

    def __enter__(self) -> None:
        self.saved = dict(_safe_globals)
        _safe_globals.update(self.entries)

    def __exit__(self, *exc) -> None:
        _safe_globals.clear()
        _safe_globals.update(self.saved)


def weights_only_advice(qualname: str) -> str:
    return (f"If you trust the file, load it with weights_only=False (which can run code from the file), or "
            f"allow this global with ember.serialization.add_safe_globals([{qualname}]) or the "
            f"ember.serialization.safe_globals([{qualname}]) context manager.")
