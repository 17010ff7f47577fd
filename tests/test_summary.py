import pytest
import torch

import ember
from ember import nn


def _torch_count(model):
    return sum(p.numel() for p in model.parameters())


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(10, 32), lib.nn.ReLU(), lib.nn.Dropout(0.1),
                             lib.nn.Linear(32, 16), lib.nn.BatchNorm1d(16), lib.nn.Linear(16, 3))


def _cnn(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(3, 8, 3, padding=1), lib.nn.BatchNorm2d(8), lib.nn.ReLU(),
                             lib.nn.MaxPool2d(2), lib.nn.Conv2d(8, 4, 3), lib.nn.Flatten(),
                             lib.nn.Linear(4 * 2 * 2, 5))


class _Recurrent:
    """A language model twin: embedding, 2-layer bidirectional LSTM, GRU, linear head."""

    @staticmethod
    def build(lib):
        class Model(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.nn.Embedding(20, 6)
                self.lstm = lib.nn.LSTM(6, 5, num_layers=2, batch_first=True, bidirectional=True)
                self.gru = lib.nn.GRU(10, 4, batch_first=True)
                self.head = lib.nn.Linear(4, 20)

            def forward(self, tokens):
                out, _ = self.lstm(self.emb(tokens))
                out, _ = self.gru(out)
                return self.head(out)
        return Model()


@pytest.mark.parametrize("build,size,out", [(_mlp, (4, 10), [4, 3]), (_cnn, (2, 3, 8, 8), [2, 5])])
def test_totals_equal_pytorch_and_output_shapes(build, size, out):
    model, twin = build(ember), build(torch)
    model[0].weight.requires_grad_(False)  # a frozen layer: non-trainable parameters
    result = ember.summary(model, size, verbose=0)
    assert result.total_params == _torch_count(twin)
    assert result.non_trainable_params == twin[0].weight.numel()
    assert result.trainable_params == _torch_count(twin) - twin[0].weight.numel()
    assert result.layers[0].output_shapes == [out]
    with torch.no_grad():
        twin.eval()
        x, shapes = torch.zeros(size), []
        for layer in twin:
            x = layer(x)
            shapes.append([list(x.shape)])
    assert [row.output_shapes for row in result.layers[1:]] == shapes
    table = str(result)
    assert f"Total params: {_torch_count(twin):,}" in table
    assert "Output Shape" in table and "Param #" in table


def test_recurrent_model_shows_every_output_tensor():
    model, twin = _Recurrent.build(ember), _Recurrent.build(torch)
    result = ember.summary(model, (3, 7), dtypes=[ember.long], verbose=0)
    assert result.total_params == _torch_count(twin)
    rows = {row.name: row for row in result.layers}
    assert rows["lstm"].output_shapes == [[3, 7, 10], [4, 3, 5], [4, 3, 5]]
    assert rows["gru"].output_shapes == [[3, 7, 4], [1, 3, 4]]
    assert rows[""].output_shapes == [[3, 7, 20]]
    assert "[3, 7, 10], [4, 3, 5], [4, 3, 5]" in str(result)


def test_several_inputs_by_size_and_by_data():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 6), nn.Linear(3, 6)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    model = TwoInputs()
    by_size = ember.summary(model, [(2, 4), (2, 3)], col_names=("input_size", "output_size"), verbose=0)
    by_data = ember.summary(model, input_data=(ember.randn(2, 4), ember.randn(2, 3)), verbose=0)
    assert by_size.layers[0].input_shapes == [[2, 4], [2, 3]]
    assert by_size.layers[0].output_shapes == by_data.layers[0].output_shapes == [[2, 6]]
    assert by_size.total_params == 4 * 6 + 6 + 3 * 6 + 6
    assert "Input Shape" in str(by_size) and "Param #" not in str(by_size)


def test_resnet18_total_matches_torchvision():
    from ember.vision.models import resnet18
    result = ember.summary(resnet18(), (1, 3, 32, 32), depth=1, verbose=0)
    assert result.total_params == 11_689_512  # torchvision.models.resnet18's documented parameter count
    assert [row.name for row in result.layers if row.depth == 1][:2] == ["conv1", "bn1"]
    assert all(row.depth <= 1 for row in result.layers)
    assert result.layers[0].output_shapes == [[1, 1000]]


def test_depth_folds_parameters_into_ancestors_and_state_is_restored(capsys):
    model = ember.nn.Sequential(ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4)),
                                ember.nn.Dropout())
    model.train()
    stats = model[0][1].running_mean.clone()
    folded = ember.summary(model, (5, 3), depth=1)
    assert "Total params: 24" in capsys.readouterr().out
    assert [(row.name, row.num_params) for row in folded.layers] == [("", 0), ("0", 24), ("1", 0)]
    deep = ember.summary(model, (5, 3), depth=2, verbose=0)
    assert [row.num_params for row in deep.layers] == [0, 0, 16, 8, 0]
    assert all(m.training for m in model.modules())
    assert ember.equal(model[0][1].running_mean, stats)
    assert ember.is_grad_enabled()


def test_summary_without_input_lists_parameters():
    result = ember.summary(_mlp(ember), verbose=0)
    assert result.total_params == _torch_count(_mlp(torch))
    assert all(row.output_shapes == [] for row in result.layers)


def test_summary_errors():
    model = _mlp(ember)
    with pytest.raises(TypeError, match="expected an nn.Module"):
        ember.summary(lambda x: x, (1, 2))
    with pytest.raises(ValueError, match="unknown column"):
        ember.summary(model, (2, 10), col_names=("kernel",))
    with pytest.raises(RuntimeError, match=r"forward pass of Sequential failed on inputs of shapes \[2, 7\]"):
        ember.summary(model, (2, 7), verbose=0)
    with pytest.raises(ValueError, match="2 dtypes for 1 inputs"):
        ember.summary(model, (2, 10), dtypes=[ember.float32, ember.long])
    with pytest.raises(TypeError, match="input_size must be a shape"):
        ember.summary(model, (2, "a"))


def test_printed_summary_is_not_shown_twice_by_a_repl(capsys):
    """summary() prints the table; a REPL or notebook then echoes the returned value, whose
    repr is one line once printed (and an HTML table in a notebook when not printed)."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    shown = ember.summary(model, input_size=(1, 4))
    printed = capsys.readouterr().out
    assert "Total params: 58" in printed and printed.count("Total params") == 1
    assert repr(shown) == ("<ModelSummary of Sequential: 58 parameters; the table is printed above "
                           "(print() shows it again)>")
    assert str(shown) + "\n" == printed and shown._repr_html_() is None
    quiet = ember.summary(model, input_size=(1, 4), verbose=0)
    assert capsys.readouterr().out == "" and repr(quiet) == str(quiet)
    page = quiet._repr_html_()
    assert page.startswith("<table>") and "0 (Linear)" in page and "Total params: 58" in page
