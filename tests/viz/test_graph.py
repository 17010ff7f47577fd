import shutil
import xml.etree.ElementTree as ET

import pytest

import ember
from ember import nn
from ember.viz import draw_graph, draw_model

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")


def _svg_text(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag.endswith("svg")
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def _graph():
    x = ember.randn(2, 3, requires_grad=True)
    w = ember.randn(3, requires_grad=True)
    y = (x * w).exp().sum()
    return x, w, y


def test_dot_source_has_ops_leaves_and_shapes():
    x, w, y = _graph()
    source = draw_graph(y, params={"x": x, "w": w}).source
    for op in ("SumBackward0", "ExpBackward0", "MulBackward0"):
        assert source.count(f"label={op}") == 1
    assert 'label="x\n(2, 3)"' in source and 'label="w\n(3,)"' in source
    assert source.count("->") == 5  # x, w -> mul -> exp -> sum -> output


def test_values_and_grads_in_leaf_labels():
    x, w, y = _graph()
    y.backward()
    source = draw_graph(y, params={"w": w}, show_values=True, show_grads=True).source
    assert "value:" in source and "grad:" in source
    assert f"{w.grad[0].item():.3f}" in source


def test_shared_subgraph_drawn_once_and_several_roots():
    a = ember.randn(4, requires_grad=True)
    b = a.sin()
    source = draw_graph([b * 2, b + 1]).source
    assert source.count("label=SinBackward0") == 1
    assert "output 0" in source and "output 1" in source


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_file(tmp_path, fmt):
    x, w, y = _graph()
    path = tmp_path / f"graph.{fmt}"
    draw_graph(y, params={"x": x}, format=fmt, path=str(path))
    if fmt == "svg":
        text = _svg_text(path)
        for op in ("SumBackward0", "ExpBackward0", "MulBackward0", "x"):
            assert op in text
    else:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_gives_clear_error(tmp_path, monkeypatch):
    _, _, y = _graph()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    dot = draw_graph(y)
    assert "SumBackward0" in dot.source
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        draw_graph(y, path=str(tmp_path / "g.svg"))
    assert not list(tmp_path.iterdir())


def test_draw_graph_errors():
    with pytest.raises(ValueError, match="does not require grad"):
        draw_graph(ember.randn(2) * 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph([1, 2])
    with pytest.raises(ValueError, match="format must be one of"):
        draw_graph(_graph()[2], format="pdf")


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.block = nn.Sequential(nn.Linear(8, 8), nn.ReLU(inplace=True))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = self.inp(x)
        return self.head(self.block(h) + h)


def _edges(dot):
    """Edges of a draw_model graph as (source label, target label) pairs."""
    ids = {}
    for line in dot.body:
        line = line.strip()
        if "[label=" in line and "->" not in line:
            node, label = line.split(" [label=", 1)
            ids[node] = label.strip('"').split("\n")[0]
    pairs = set()
    for line in dot.body:
        if "->" in line:
            a, b = line.strip().split(" -> ")
            pairs.add((ids[a], ids[b.split(" ")[0]]))
    return pairs


def test_draw_model_wires_layers_with_skip_connections():
    dot = draw_model(_Residual(), (3, 4))
    assert _edges(dot) == {("input 0", "inp"), ("inp", "block.0"), ("block.0", "block.1"),
                                 ("block.1", "head"), ("inp", "head"), ("head", "output")}
    assert "out: [3, 8]" in dot.source and "40 params" in dot.source
    folded = draw_model(_Residual(), (3, 4), depth=1)
    assert _edges(folded) == {("input 0", "inp"), ("inp", "block"), ("block", "head"),
                                    ("inp", "head"), ("head", "output")}


def test_draw_model_token_inputs_and_recurrent_outputs():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm, self.fc = nn.Embedding(10, 4), nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 3)

        def forward(self, tokens):
            return self.fc(self.lstm(self.emb(tokens))[0])

    model = Tagger()
    model.train()
    dot = draw_model(model, (2, 6), dtypes=[ember.long])
    assert _edges(dot) == {("input 0", "emb"), ("emb", "lstm"), ("lstm", "fc"), ("fc", "output")}
    assert "out: [2, 6, 5], [1, 2, 5], [1, 2, 5]" in dot.source
    assert model.training and ember.is_grad_enabled()


@needs_dot
def test_draw_model_renders_svg(tmp_path):
    path = tmp_path / "model.svg"
    draw_model(_Residual(), input_data=ember.randn(3, 4), path=str(path))
    text = _svg_text(path)
    assert "block.0" in text and "Linear" in text


def test_draw_model_needs_an_input():
    with pytest.raises(ValueError, match="give input_size or input_data"):
        draw_model(_Residual())
