"""A missing optional dependency is one message naming the feature and the extra to install,
raised before any work is done."""
import sys

import pytest

import ember
from ember._optional import require
from ember.cli import main
from ember.train import History


@pytest.fixture
def without(monkeypatch):
    """Make importing a module fail as if it were not installed."""
    def hide(*names):
        for name in names:
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                monkeypatch.delitem(sys.modules, loaded)
            monkeypatch.setitem(sys.modules, name, None)
    return hide


def test_require_names_the_feature_and_the_extra(without):
    without("matplotlib")
    with pytest.raises(ModuleNotFoundError) as info:
        require("matplotlib.figure", "History.plot")
    assert str(info.value) == ("History.plot needs matplotlib, which is not installed: pip install "
                               "'ember[plot]' (or 'ember[all]', everything a course uses)")
    assert info.value.name == "matplotlib"


@pytest.mark.parametrize("module,package,extra", [
    ("PIL", "pillow", "vision"), ("sklearn.datasets", "scikit-learn", "demo"),
    ("safetensors.numpy", "safetensors", "io"), ("graphviz", "graphviz", "viz")])
def test_each_optional_module_has_its_extra(without, module, package, extra):
    without(module.split(".")[0])
    with pytest.raises(ModuleNotFoundError, match=f"needs {package}, .* pip install 'ember\\[{extra}\\]'"):
        require(module, "feature")


def test_history_plot_without_matplotlib(without, tmp_path):
    h = History()
    h.append(0, {"loss": 1.0})
    without("matplotlib")
    with pytest.raises(ModuleNotFoundError, match=r"History.plot needs matplotlib.*ember\[plot\]"):
        h.plot(tmp_path / "curves.png")


def test_ember_train_without_matplotlib_stops_before_training(without, capsys):
    without("matplotlib")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--dataset", "digits", "--epochs", "1"])
    out = capsys.readouterr()
    assert exit_.value.code == 2 and "epoch" not in out.out
    assert out.err == ("ember train: error: ember train (it saves learning curves) needs matplotlib, which is "
                       "not installed: pip install 'ember[plot]' (or 'ember[all]', everything a course uses)\n")


def test_all_extra_covers_every_optional_module():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from ember._optional import _SOURCES
    with open(__file__.rsplit("/tests/", 1)[0] + "/pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    everything = " ".join(extras["all"])
    for package, extra in _SOURCES.values():
        assert any(package in req for req in extras[extra]), (package, extra)
        if extra not in ("distributed",):
            assert package in everything, package
