"""Named tuples of ops that return several tensors (``ember.return_types.max``, ``linalg_svd``, ...),
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
slogdet = _named("slogdet", ("sign", "logabsdet"))
linalg_slogdet = _named("linalg_slogdet", ("sign", "logabsdet"))
qr = _named("qr", ("Q", "R"))
linalg_qr = _named("linalg_qr", ("Q", "R"))
svd = _named("svd", ("U", "S", "V"))
linalg_svd = _named("linalg_svd", ("U", "S", "Vh"))
linalg_eigh = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_lstsq = _named("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_inv_ex = _named("linalg_inv_ex", ("inverse", "info"))
linalg_solve_ex = _named("linalg_solve_ex", ("result", "info"))
linalg_cholesky_ex = _named("linalg_cholesky_ex", ("L", "info"))
