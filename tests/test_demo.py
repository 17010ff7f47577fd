"""The README's first command: the digits MLP demo reaches its stated accuracy."""
import pytest

pytest.importorskip("sklearn")


def test_demo_reaches_95_percent(capsys):
    from ember.demo import main
    accuracy = main([])
    out = capsys.readouterr().out
    assert accuracy >= 0.95
    assert "epoch  30/30" in out and "reloaded weights: test accuracy" in out
