import os
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.viz import TrainingDiagnostics


def _mlp(dead: bool):
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    if dead:
        with ember.no_grad():
            model[2].bias.fill_(-100.0)  # every unit of the second ReLU is off for every input
    return model


def _step(model, diag, optimizer, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    entry = diag.record()
    optimizer.zero_grad()
    return entry


def test_dead_layer_reported_and_vanishing_warning():
    model = _mlp(dead=True)
    diag = TrainingDiagnostics(model, every_n_batches=1).attach()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(16, 6), ember.randint(0, 3, (16,))
    with pytest.warns(RuntimeWarning, match=r"vanishing gradients at step 0: .*0\.weight"):
        entry = _step(model, diag, optimizer, x, y)
    acts = entry["activations"]
    assert acts["3"]["dead_fraction"] == 1.0
    assert acts["3"]["mean"] == 0.0 and acts["3"]["std"] == 0.0
    assert acts["1"]["dead_fraction"] < 0.5
    assert "dead_fraction" not in acts["0"]
    assert entry["grad_norms"]["0.weight"] == 0.0 and entry["grad_norms"]["2.weight"] == 0.0
    assert entry["grad_norms"]["4.bias"] > 0
    assert entry["update_ratios"]["0.weight"] == 0.0 and entry["update_ratios"]["4.weight"] == 0.0
    assert entry["update_ratios"]["4.bias"] > 0  # the head sees only zeros: just its bias learns


def test_statistics_match_direct_computation():
    model = _mlp(dead=False)
    diag = TrainingDiagnostics(model, every_n_batches=1).attach()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    x, y = ember.randn(10, 6), ember.randint(0, 3, (10,))
    before = model[4].weight.detach().clone()
    hidden = model[1](model[0](x)).detach().numpy()
    model(x)  # two forwards in one step: the first one is measured (same batch here)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grad = model[4].weight.grad.numpy().copy()
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # healthy network: no warning
        entry = diag.record()
    np.testing.assert_allclose(entry["activations"]["1"]["mean"], hidden.mean(), rtol=1e-5)
    np.testing.assert_allclose(entry["activations"]["1"]["std"], hidden.std(), rtol=1e-5)
    np.testing.assert_allclose(entry["activations"]["1"]["dead_fraction"], (hidden == 0).all(0).mean())
    np.testing.assert_allclose(entry["grad_norms"]["4.weight"], np.linalg.norm(grad), rtol=1e-5)
    change = (model[4].weight - before).detach().numpy()
    np.testing.assert_allclose(entry["update_ratios"]["4.weight"],
                               np.linalg.norm(change) / np.linalg.norm(before.numpy()), rtol=1e-4)


def test_every_n_batches_validation_and_exploding_warning():
    model = _mlp(dead=False)
    diag = TrainingDiagnostics(model, every_n_batches=3, exploding=1e-3).attach()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.01)
    x, y = ember.randn(8, 6), ember.randint(0, 3, (8,))
    recorded = []
    with pytest.warns(RuntimeWarning, match="exploding gradients at step [036]:"):
        for _ in range(7):
            model.eval()
            with ember.no_grad():
                model(x + 100)  # validation passes are never measured
            model.train()
            recorded.append(_step(model, diag, optimizer, x, y) is not None)
    assert recorded == [True, False, False, True, False, False, True]
    assert [e["step"] for e in diag.history] == [0, 3, 6]
    assert abs(diag.history[0]["activations"]["0"]["mean"]) < 10
    diag.detach()
    _step(model, diag, optimizer, x, y)
    assert len(diag.history) == 3


def test_plot_writes_pngs(tmp_path):
    model = _mlp(dead=True)
    diag = TrainingDiagnostics(model, every_n_batches=1).attach()
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        diag.plot(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(3):
            _step(model, diag, optimizer, ember.randn(4, 6), ember.randint(0, 3, (4,)))
    paths = diag.plot(str(tmp_path / "diag"))
    assert sorted(p.split("/")[-1] for p in paths) == ["activations.png", "dead_relu.png",
                                                       "grad_norms.png", "update_ratios.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_as_trainer_callback(tmp_path):
    from ember.train import Trainer

    model = _mlp(dead=True)
    diag = TrainingDiagnostics(every_n_batches=2, plot_dir=str(tmp_path))
    x, y = ember.randn(32, 6), ember.randint(0, 3, (32,))
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[diag], progress=False)
    with pytest.warns(RuntimeWarning, match="vanishing gradients"):
        trainer.fit((x, y), val_data=(x, y), epochs=2, batch_size=8)
    assert [e["step"] for e in diag.history] == [0, 2, 4, 6]
    assert all(e["activations"]["3"]["dead_fraction"] == 1.0 for e in diag.history)
    assert all(e["update_ratios"]["4.bias"] > 0 for e in diag.history)
    assert (tmp_path / "grad_norms.png").exists()
    assert not diag._handles  # detached at the end of the fit


def test_callback_draws_at_the_end_or_every_n_epochs(tmp_path, monkeypatch):
    """Drawing costs far more than measuring: plots are written when the fit ends, and each
    plot_every_n_epochs epochs only when asked."""
    from ember.train import Trainer

    drawn = []
    monkeypatch.setattr(TrainingDiagnostics, "plot", lambda self, d: drawn.append(d) or [])
    x, y = ember.randn(16, 6), ember.randint(0, 3, (16,))
    for every, expected in ((None, 1), (2, 3)):
        drawn.clear()
        model = _mlp(dead=False)
        diag = TrainingDiagnostics(every_n_batches=1, plot_dir=str(tmp_path), plot_every_n_epochs=every)
        Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                callbacks=[diag], progress=False).fit((x, y), epochs=4, batch_size=8)
        assert len(drawn) == expected


def test_plots_name_layers_and_shade_healthy_ranges(tmp_path, monkeypatch):
    import ember.metrics.plot as plot_module

    figures = {}
    monkeypatch.setattr(plot_module, "save_figure", lambda fig, path: figures.setdefault(os.path.basename(path), fig) and path)
    model = _mlp(dead=True)
    diag = TrainingDiagnostics(model, every_n_batches=1).attach()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        nn.functional.cross_entropy(model(ember.randn(8, 6)), ember.randint(0, 3, (8,))).backward()
        opt.step()
        with pytest.warns(RuntimeWarning):
            diag.record()
        opt.zero_grad()
    diag.plot(str(tmp_path))
    grads = figures["grad_norms.png"].axes[0]
    labels = [t.get_text() for t in grads.get_legend().get_texts()]
    assert labels[0].startswith("healthy: between") and "0.weight (Linear)" in labels
    assert grads.get_ylabel() == "L2 norm of the gradient" and grads.get_xlabel() == "training step"
    acts = [t.get_text() for t in figures["activations.png"].axes[0].get_legend().get_texts()]
    assert "3 (ReLU)" in acts


def test_errors():
    with pytest.raises(ValueError, match="every_n_batches must be a positive integer"):
        TrainingDiagnostics(_mlp(False), every_n_batches=0)
    with pytest.raises(ValueError, match="no model"):
        TrainingDiagnostics().attach()


def test_notebook_table_of_the_last_step_flags_unhealthy_values():
    model = _mlp(dead=True)
    diag = TrainingDiagnostics(model, every_n_batches=1).attach()
    assert diag._repr_html_() == "<p>TrainingDiagnostics: nothing recorded yet</p>"
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    nn.functional.cross_entropy(model(ember.randn(8, 6)), ember.randint(0, 3, (8,))).backward()
    opt.step()
    with pytest.warns(RuntimeWarning):
        diag.record()
    page = diag._repr_html_()
    assert page.startswith("<p>TrainingDiagnostics at step 0")
    assert "<td>3 (ReLU)</td><td>output</td>" in page
    assert "<td style='color:#c00'>100%</td>" in page  # the dead ReLU layer, in red
    assert "<td>0.weight (Linear)</td><td>parameter</td>" in page
