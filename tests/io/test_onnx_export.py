"""ONNX export: onnxruntime reproduces ember's outputs for MLPs, CNNs and recurrent models."""
import numpy as np
import pytest

import ember
import ember.nn as nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _check(model, x, tmp_path, atol=1e-5, other_batch=None, **kwargs):
    path = tmp_path / "model.onnx"
    mode = model.training
    ember.onnx.export(model, x, path, dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kwargs)
    assert model.training == mode  # the trace runs in eval mode and restores the mode
    onnx.checker.check_model(onnx.load(str(path)))
    for inp in [x] + ([other_batch] if other_batch is not None else []):
        model.eval()
        with ember.no_grad():
            expected = model(inp)
        expected = expected[0] if isinstance(expected, tuple) else expected
        got = _run(path, {"input": inp.numpy()})[0]
        assert got.shape == tuple(expected.shape)
        np.testing.assert_allclose(got, expected.numpy(), atol=atol, rtol=1e-5)
    return path


@pytest.mark.parametrize("act", [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU("tanh"),
                                 nn.LeakyReLU(0.2)])
def test_mlp(tmp_path, act):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), act, nn.Dropout(0.5), nn.Linear(16, 4), nn.LogSoftmax(dim=1))
    model.train()
    _check(model, ember.randn(3, 5), tmp_path, other_batch=ember.randn(7, 5))


def test_mlp_without_bias_on_3d_input_and_softmax(tmp_path):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, bias=False), nn.Identity(), nn.Softmax(dim=-1))
    _check(model, ember.randn(2, 3, 4), tmp_path)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, stride=2, padding="valid", groups=2, bias=False), nn.BatchNorm2d(8, affine=False),
            nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), nn.Conv2d(8, 6, 3, padding="same"),
            nn.AdaptiveAvgPool2d((1, 1)))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 3))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def test_cnn(tmp_path):
    ember.manual_seed(0)
    model = SmallCNN()
    model.train()
    for _ in range(2):  # non-trivial running statistics
        model(ember.randn(4, 3, 16, 16) * 2 + 0.5)
    _check(model, ember.randn(2, 3, 16, 16), tmp_path, other_batch=ember.randn(5, 3, 16, 16))


def test_conv1d_and_flatten_middle_dims(tmp_path):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=2, dilation=2), nn.Tanh(), nn.Flatten(1, 2))
    _check(model, ember.randn(2, 2, 7), tmp_path)
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Flatten(2, 3))
    _check(model, ember.randn(2, 2, 3, 4), tmp_path)


class SeqModel(nn.Module):
    def __init__(self, rnn, features):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(features, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(3, 5, batch_first=True),
    lambda: nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True),
    lambda: nn.LSTM(3, 5, bias=False),
    lambda: nn.GRU(3, 5, num_layers=2, batch_first=True),
    lambda: nn.GRU(3, 5, bidirectional=True),
    lambda: nn.RNN(3, 5, nonlinearity="relu", num_layers=2, bidirectional=True, batch_first=True),
    lambda: nn.RNN(3, 5),
], ids=["lstm", "lstm-2layer-bidir", "lstm-nobias", "gru-2layer", "gru-bidir", "rnn-relu", "rnn-tanh"])
def test_recurrent(tmp_path, make):
    ember.manual_seed(0)
    rnn = make()
    features = rnn.hidden_size * (2 if rnn.bidirectional else 1)
    model = SeqModel(rnn, features)
    shape = (2, 4, 3) if rnn.batch_first else (4, 2, 3)
    _check(model, ember.randn(*shape), tmp_path, output_names=["output"])


def test_recurrent_states_are_outputs(tmp_path):
    ember.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = ember.randn(5, 2, 3)
    path = tmp_path / "lstm.onnx"
    ember.onnx.export(lstm, x, path, output_names=["y", "h", "c"])
    out, (h, c) = lstm(x)
    for got, expected in zip(_run(path, {"input": x.numpy()}), (out, h, c)):
        np.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-5)
    model = onnx.load(str(path))
    assert [o.name for o in model.graph.output] == ["y", "h", "c"]


def test_dynamic_axes_and_names(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "lin.onnx"
    ember.onnx.export(model, ember.randn(4, 3), path, input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": [0], "logits": {0: "n"}})
    graph = onnx.load(str(path)).graph
    assert graph.input[0].name == "features"
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "features_dim0"
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    assert graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3


class Functional(nn.Module):
    """Operators in a custom forward: residual add, F.relu, flatten, matmul with a parameter,
    arithmetic with numbers and a buffer, and indexing."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.proj = nn.Parameter(ember.randn(32, 5))
        self.register_buffer("offset", ember.randn(5))

    def forward(self, x):
        h = ember.nn.functional.relu(self.conv(x) + x)
        h = ember.flatten(h, 1) @ self.proj
        h = 2 * (h - 0.5) + self.offset
        return ember.relu(h.mul(h)).flatten(1)[:, 1:4] * 3.0


class LastStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def test_operators_in_custom_forward(tmp_path):
    ember.manual_seed(0)
    originals = (ember.Tensor.__add__, ember.Tensor.__getitem__, ember.relu, ember.nn.functional.relu)
    _check(Functional(), ember.randn(2, 2, 4, 4), tmp_path, other_batch=ember.randn(3, 2, 4, 4))
    _check(LastStep(), ember.randn(2, 6, 3), tmp_path, other_batch=ember.randn(4, 6, 3))
    # the operators are wrapped only while the model is traced
    assert (ember.Tensor.__add__, ember.Tensor.__getitem__, ember.relu, ember.nn.functional.relu) == originals


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x.exp())


class FancyIndex(Unsupported):
    def forward(self, x):
        return self.fc(x)[[1, 0]]


def test_unsupported_models_raise(tmp_path):
    path = tmp_path / "bad.onnx"
    with pytest.raises(RuntimeError, match=r"layer 'fc' \(Linear\) received a tensor that no supported layer computed"):
        ember.onnx.export(Unsupported(), ember.randn(2, 3), path)
    with pytest.raises(RuntimeError, match="only ints and slices"):
        ember.onnx.export(FancyIndex(), ember.randn(2, 3), path)
    with pytest.raises(RuntimeError, match=r"layer '1' \(PReLU\) does not export; supported layers: .*Conv2d"):
        ember.onnx.export(nn.Sequential(nn.Linear(3, 3), nn.PReLU()), ember.randn(2, 3), path)
    with pytest.raises(RuntimeError, match="initial states"):
        class WithState(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.GRU(3, 4)

            def forward(self, x):
                return self.rnn(x, ember.zeros(1, 2, 4))[0]
        ember.onnx.export(WithState(), ember.randn(5, 2, 3), path)
    with pytest.raises(RuntimeError, match="only \\(1, 1\\) exports"):
        ember.onnx.export(nn.AdaptiveAvgPool2d(2), ember.randn(1, 1, 4, 4), path)
    with pytest.raises(ValueError, match="2 input_names for 1 inputs"):
        ember.onnx.export(nn.ReLU(), ember.randn(2), path, input_names=["a", "b"])
    assert not path.exists()
