"""Named tuples of ops that return values and indices (``ember.return_types.max``, ...),
like ``torch.return_types``: unpack them, index them, or read ``.values`` / ``.indices``."""
from __future__ import annotations

from collections import namedtuple


def _named(name: str, fields: tuple):
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{body})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})


max = _named("max", ("values", "indices"))
min = _named("min", ("values", "indices"))
median = _named("median", ("values", "indices"))
nanmedian = _named("nanmedian", ("values", "indices"))
sort = _named("sort", ("values", "indices"))
topk = _named("topk", ("values", "indices"))
kthvalue = _named("kthvalue", ("values", "indices"))
