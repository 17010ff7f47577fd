"""ember._dynamo.explain: what ember.compile makes of one call (torch._dynamo.explain's API)."""
import warnings

import pytest

import ember
import ember._dynamo as dynamo
from ember.backend import kernels


def test_a_call_without_breaks_is_one_graph_with_its_steps():
    model = ember.nn.Sequential(ember.nn.Linear(8, 64), ember.nn.ReLU())
    fn = lambda x: (model(x) * 2.0 + 1.0).sum()  # noqa: E731
    out = dynamo.explain(fn)(ember.randn(32, 8))
    assert (out.graph_count, out.graph_break_count, out.break_reasons) == (1, 0, [])
    (ops,) = out.ops_per_graph
    assert out.op_count == len(ops) and ops[-1].startswith("Tensor.sum")
    if kernels.cpu() is not None:  # ReLU, * 2 and + 1 are one compiled loop
        assert out.fused_runs == ["ember.compile>fused(Relu, Mul, Add)"]
    text = str(out)
    assert "Graph Count: 1" in text and "Graph Break Count: 0" in text and "Ops per Graph:" in text


def test_a_graph_break_is_named_with_its_line():
    def fn(x):
        if x.sum().item() > 0:  # a value read into Python
            return x * 2
        return x
    out = dynamo.explain(fn)(ember.ones(3))
    assert (out.graph_count, out.graph_break_count, out.op_count) == (0, 1, 0)
    assert "item" in out.break_reasons[0] and "test_compile_explain.py" in out.break_reasons[0]
    assert "Break Reason 1:" in str(out)


def test_a_module_and_the_older_call_form():
    model = ember.nn.Linear(4, 2)
    with pytest.warns(FutureWarning, match="deprecated"):
        out = dynamo.explain(model, ember.randn(3, 4))
    assert out.graph_count == 1 and out.ops_per_graph[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dynamo.explain(model)(ember.randn(3, 4)).graph_count == 1
