"""tools/api_coverage.py: the counts it reports are consistent with PyTorch and ember."""
import importlib.util
import os
import types

import torch

import ember

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "api_coverage.py")
_spec = importlib.util.spec_from_file_location("api_coverage", _PATH)
api_coverage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_coverage)


def _check_partition(result, torch_ns, ember_ns):
    names, have, missing = result["names"], result["have"], result["missing"]
    assert names == sorted(set(names)) and names
    assert sorted(have + missing) == names and not set(have) & set(missing)
    for name in have:
        assert hasattr(torch_ns, name) or name in getattr(torch_ns, "__all__", ())
        assert hasattr(ember_ns, name), name
    for name in missing:
        assert not hasattr(ember_ns, name), name


def test_namespace_with_all():
    result = api_coverage.coverage("torch.nn.init")
    assert result["names"] == sorted(n for n in torch.nn.init.__all__ if not n.startswith("_"))
    _check_partition(result, torch.nn.init, ember.nn.init)


def test_namespace_without_all_keeps_only_pytorch_definitions():
    assert not hasattr(torch.linalg, "__all__")
    result = api_coverage.coverage("torch.linalg")
    _check_partition(result, torch.linalg, ember.linalg)
    for name in result["names"]:
        obj = getattr(torch.linalg, name)
        assert not isinstance(obj, types.ModuleType) or obj.__name__.startswith("torch.linalg.")
        assert getattr(obj, "__module__", "torch").startswith("torch"), name


def test_tensor_methods_and_report_rows():
    result = api_coverage.coverage("torch.Tensor")
    _check_partition(result, torch.Tensor, ember.Tensor)
    assert "backward" in result["have"]
    report = api_coverage.render([result])
    n, h = len(result["names"]), len(result["have"])
    assert f"| `torch.Tensor` | {n} | {h} | {100.0 * h / n:.1f} |" in report
    assert f"## `torch.Tensor`: {n - h} missing" in report
