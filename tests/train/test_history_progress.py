"""History (values and learning-curve plot) and the progress display."""
import io
import os

import pytest

import ember
import ember.nn as nn
from ember.train import History, ProgressBar, Trainer
from trainutil import accuracy, make_data, make_model


def test_history_values_and_state():
    h = History()
    h.append(0, {"loss": 2.0, "val_loss": 3.0, "note": "text", "flag": True})
    h.append(1, {"loss": 1.0})
    assert h.epochs == [0, 1] and h["loss"] == [2.0, 1.0] and h["val_loss"] == [3.0]
    assert "note" not in h and "flag" not in h and set(h.keys()) == {"loss", "val_loss"}
    other = History()
    other.load_state_dict(h.state_dict())
    assert other.history == h.history and other.epochs == h.epochs
    assert repr(h) == "History(epochs=2, keys=['loss', 'val_loss'])"


def test_plot_writes_png(tmp_path):
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      metrics={"acc": accuracy}, progress=False)
    history = trainer.fit(make_data(16), make_data(8), epochs=3)
    path = history.plot(tmp_path / "curves.png")
    assert history.plot(tmp_path / "new" / "folder" / "curves.png")  # its folder is made
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "new"]
    with pytest.raises(ValueError, match="nothing was logged"):
        History().plot(tmp_path / "empty.png")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # readable as any file the user writes


def test_figure_labels_panels_and_shows_accuracy_in_percent():
    h = History()
    h.append(0, {"loss": 1.0, "acc": 0.5, "val_loss": 1.2, "val_acc": 0.25})
    fig = h.figure(title="lenet5 on mnist")
    loss, acc = fig.axes
    assert fig._suptitle.get_text() == "lenet5 on mnist"
    assert (loss.get_title(), loss.get_ylabel(), loss.get_xlabel()) == ("loss", "loss", "epoch")
    assert acc.get_ylabel() == "acc (%)" and list(acc.lines[0].get_ydata()) == [50.0]
    assert list(acc.lines[1].get_ydata()) == [25.0] and list(acc.lines[0].get_xdata()) == [1]
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["training", "validation"]
    assert list(loss.get_xticks()) == [1]  # whole epochs, even for one


def test_one_line_per_epoch_when_not_a_terminal(capsys):
    model = make_model()
    Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
            metrics={"acc": accuracy}).fit(make_data(16), make_data(8), epochs=2, batch_size=4)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2 loss=") and "acc=" in lines[0] and "val_loss=" in lines[0]
    assert "samples/s" in lines[1]


def test_quiet_without_progress(capsys):
    model = make_model()
    Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
            progress=False).fit(make_data(8), epochs=2)
    assert capsys.readouterr().out == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal():
    stream = Terminal()
    bar = ProgressBar(stream=stream)
    assert bar.interactive
    bar.epoch_start(0, 3, total=4)
    for _ in range(4):
        bar.batch_end(8, {"loss": 0.5})
    bar.epoch_end({"loss": 0.25, "val_loss": 0.5})
    out = stream.getvalue()
    assert "epoch 1/3" in out and "4/4" in out and "loss=0.25" in out and "val_loss=0.5" in out


def test_validation_gets_a_bar_of_its_own_on_a_terminal():
    stream = Terminal()
    bar = ProgressBar(stream=stream)
    bar.epoch_start(0, 1, total=2)
    for _ in range(2):
        bar.batch_end(8, {"loss": 0.5})
    bar.validation_start(3)
    for _ in range(3):
        bar.validation_batch()
    assert bar._val_bar.n == 3 and bar._val_bar.total == 3
    bar.validation_end()
    bar.epoch_end({"loss": 0.25})
    assert "  validation:" in stream.getvalue() and bar._val_bar is None


def test_periodic_lines_during_a_long_epoch_off_a_terminal(monkeypatch):
    """Off a terminal (logs, captured output) an epoch prints a line every `interval` seconds."""
    import ember.train.progress as progress
    clock = iter(range(0, 1000, 4))  # each reading of the clock 4 s after the last
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    stream = io.StringIO()
    bar = ProgressBar(stream=stream, interval=10.0)
    bar.epoch_start(0, 2, total=9)
    for _ in range(9):
        bar.batch_end(8, {"loss": 0.5})
    bar.epoch_end({"loss": 0.25})
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2 batch 3/9 loss=0.5 ") and lines[0].endswith("samples/s")
    assert len(lines) >= 3 and lines[-1].startswith("epoch 1/2 loss=0.25")


def test_history_shows_curves_and_a_table_in_a_notebook():
    h = History()
    h.append(0, {"loss": 1.5, "val_loss": 2.0})
    h.append(1, {"loss": 1.0, "val_loss": 1.25, "acc": 0.5})
    page = h._repr_html_()
    assert page.startswith("<img src='data:image/png;base64,")
    assert "<th>epoch</th><th>loss</th><th>val_loss</th><th>acc</th>" in page
    assert "<tr><td>1</td><td>1.5</td><td>2</td><td></td></tr>" in page
    assert History()._repr_html_() == "<p>History: nothing logged yet</p>"


def test_live_plot_redraws_after_each_epoch_in_a_notebook(monkeypatch):
    import ember.train.live_plot as live_plot
    shown = []
    monkeypatch.setattr(live_plot, "_notebook_display",
                        lambda: (lambda wait: shown.append("clear"), lambda fig: shown.append(fig)))
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      live_plot=True, progress=False)
    trainer.fit(make_data(16), make_data(8), epochs=3, batch_size=8)
    figures = shown[1::2]
    assert shown[::2] == ["clear"] * 3 and len(figures) == 3
    assert [len(ax.lines) for ax in figures[-1].axes] == [2]  # training and validation loss
    assert list(figures[-1].axes[0].lines[0].get_xdata()) == [1, 2, 3]


def test_live_plot_outside_a_notebook_says_so_once():
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1),
                      live_plot=True, progress=False)
    with pytest.warns(UserWarning, match="live_plot draws in a Jupyter notebook"):
        trainer.fit(make_data(8), epochs=2, batch_size=8)


def test_evaluate_shows_a_bar_on_a_terminal(monkeypatch):
    import ember.train.trainer as trainer_module
    stream = Terminal()
    monkeypatch.setattr(trainer_module, "ProgressBar", lambda enabled: ProgressBar(enabled, stream=stream))
    model = make_model()
    Trainer(model, nn.CrossEntropyLoss(), ember.optim.SGD(model.parameters(), lr=0.1)).evaluate(
        make_data(16), batch_size=4)
    assert "evaluate:" in stream.getvalue()
