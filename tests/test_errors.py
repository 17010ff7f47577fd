"""The errors a user meets most: PyTorch's exception types, messages naming op and shapes."""
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from helpers import torch

CASES = [
    ("matmul", lambda m: m.ones(64, 784) @ m.ones(100, 10), RuntimeError, ["64x784", "100x10"]),
    ("linear layer", lambda m: m.nn.Linear(784, 128)(m.ones(64, 1, 28, 28)), RuntimeError, ["784"]),
    ("cat", lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), RuntimeError, ["Expected size 3 but got size 4"]),
    ("broadcast", lambda m: m.ones(2, 3) * m.ones(4), RuntimeError,
     ["The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"]),
    ("broadcast in a comparison", lambda m: m.ones(2, 3) < m.ones(2, 4), RuntimeError,
     ["The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"]),
    ("broadcast in clamp", lambda m: m.ones(3).clamp(m.zeros(4)), RuntimeError, ["(3)", "(4)"]),
    ("transpose of 0-d", lambda m: m.tensor(1.0).transpose(0, 1), IndexError, ["Dimension out of range"]),
    ("flatten of 0-d", lambda m: m.tensor(1.0).flatten(1), IndexError, ["Dimension out of range"]),
    ("stored value out of range", lambda m: m.tensor([300], dtype=m.int8), RuntimeError,
     ["value cannot be converted to type int8 without overflow"]),
    ("view", lambda m: m.ones(2, 3).view(4), RuntimeError, ["[4]", "6"]),
    ("view of transposed", lambda m: m.ones(2, 3).t().view(6), RuntimeError, ["reshape"]),
    ("cross_entropy float target", lambda m: m.nn.functional.cross_entropy(m.zeros(4, 10), m.zeros(4)),
     RuntimeError, ["Long"]),
    ("cross_entropy class out of range",
     lambda m: m.nn.functional.cross_entropy(m.zeros(4, 10), m.tensor([1, 2, 3, 10])), IndexError,
     ["Target 10 is out of bounds"]),
    ("cross_entropy batch mismatch", lambda m: m.nn.functional.cross_entropy(m.zeros(4, 10), m.tensor([1, 2, 3])),
     ValueError, ["batch_size (4)", "batch_size (3)"]),
    ("index out of range", lambda m: m.ones(3)[5], IndexError, ["5", "size 3"]),
    ("bad dim", lambda m: m.ones(2, 3).sum(2), IndexError, ["Dimension out of range"]),
]


@pytest.mark.parametrize("name,fn,exc,parts", CASES, ids=[c[0] for c in CASES])
def test_error_type_matches_torch_and_message_teaches(name, fn, exc, parts):
    with pytest.raises(exc) as ember_err:
        fn(ember)
    with pytest.raises(exc):
        fn(torch)
    for part in parts:
        assert part in str(ember_err.value), (part, str(ember_err.value))


def test_linear_error_names_layer_and_suggests_flatten():
    with pytest.raises(RuntimeError) as err:
        nn.Linear(784, 128)(ember.ones(64, 1, 28, 28))
    msg = str(err.value)
    assert "Linear(in_features=784, out_features=128" in msg and "(64, 1, 28, 28)" in msg
    assert "nn.Flatten()" in msg


def test_cross_entropy_error_states_class_count():
    with pytest.raises(IndexError, match="10 classes"):
        F.cross_entropy(ember.zeros(4, 10), ember.tensor([1, 2, 3, 10]))


def test_backward_through_freed_graph():
    for lib in (ember, torch):
        x = lib.ones(3, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
