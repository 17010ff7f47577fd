import pytest

from ember.backend import kernels


@pytest.fixture
def calls(monkeypatch):
    """Counts each compiled kernel's calls: kernel name -> number of calls (through the module
    attribute that the ops look up, so a call that took another path is not counted)."""
    counts = {}
    for module in (kernels.cpu().pool, kernels.cpu().norm):
        for name in dir(module):
            fn = getattr(module, name)
            if not hasattr(fn, "py_func") or name.startswith("_"):  # Numba's compiled functions
                continue

            def counted(*args, _fn=fn, _name=name):
                counts[_name] = counts.get(_name, 0) + 1
                return _fn(*args)
            monkeypatch.setattr(module, name, counted)
    return counts
