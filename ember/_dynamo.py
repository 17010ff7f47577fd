"""torch._dynamo's names that scripts touch: ``reset()``, ``explain(fn)(*args)`` (what
ember.compile makes of a call: its graph, its fused runs, or its graph break) and
``config.cache_size_limit`` (also ``recompile_limit``), the number of input signatures a
compiled callable keeps graphs for. ``config.suppress_errors`` is accepted: ember's compile
never raises on a graph break unless asked with ``fullgraph=True``; it runs that call
eagerly."""
from __future__ import annotations

from .compiler import compiled as _compiled
from .compiler import reset
from .compiler.explain import ExplainOutput, explain

__all__ = ["reset", "config", "explain", "ExplainOutput"]


class _Config:
    suppress_errors = False

    @property
    def cache_size_limit(self) -> int:
        return _compiled.CACHE_SIZE_LIMIT

    @cache_size_limit.setter
    def cache_size_limit(self, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"cache_size_limit must be a positive int, got {value!r}")
        _compiled.CACHE_SIZE_LIMIT = value

    recompile_limit = cache_size_limit

    def __setattr__(self, name: str, value) -> None:
        if not hasattr(type(self), name):
            raise AttributeError(f"ember._dynamo.config has no setting {name!r}; it has "
                                 "cache_size_limit, recompile_limit and suppress_errors")
        super().__setattr__(name, value)


config = _Config()
