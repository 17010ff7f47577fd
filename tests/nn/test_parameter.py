"""Parameter and Buffer: Tensor subclasses that modules register."""
import copy
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = pytest.importorskip("torch")


def test_parameter_is_a_leaf_tensor_sharing_storage():
    data = ember.zeros(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    data.add_(1)
    assert np.all(p.detach().numpy() == 1) and p._version == data._version == 1
    assert not nn.Parameter(ember.ones(2), requires_grad=False).requires_grad
    empty = nn.Parameter()
    assert empty.shape == (0,) and empty.dtype == ember.float32 and empty.requires_grad


def test_parameter_from_graph_tensor_is_a_new_leaf():
    x = ember.ones(2, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.requires_grad
    (p * 3).sum().backward()
    assert x.grad is None and np.all(p.grad.numpy() == 3)


def test_parameter_ops_return_plain_tensors():
    p = nn.Parameter(ember.ones(2))
    for out in (p * 2, p.detach(), p.data, p + p, p.sum()):
        assert type(out) is ember.Tensor
    assert p.to(ember.float32) is p


def test_parameter_repr_matches_torch():
    e = nn.Parameter(ember.tensor([1.0, 2.5]))
    t = torch.nn.Parameter(torch.tensor([1.0, 2.5]))
    assert repr(e) == repr(t)
    assert repr(nn.Parameter(ember.ones(2), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))


def test_parameter_integer_dtype():
    p = nn.Parameter(ember.arange(3), requires_grad=False)
    assert p.dtype == ember.int64
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ember.arange(3))
    with pytest.raises(TypeError, match="expects a Tensor"):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_and_pickle_keep_the_class():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    p.grad = ember.ones(2)
    c = copy.deepcopy(p)
    assert type(c) is nn.Parameter and c.requires_grad and c is not p
    assert np.array_equal(c.grad.numpy(), p.grad.numpy())
    c.data.add_(1)
    assert p.detach().numpy()[0] == 1.0
    u = pickle.loads(pickle.dumps(nn.Parameter(ember.tensor([3.0]), requires_grad=False)))
    assert type(u) is nn.Parameter and not u.requires_grad and u.item() == 3.0


def test_buffer():
    b = nn.Buffer(ember.ones(2), persistent=False)
    assert isinstance(b, ember.Tensor) and not b.persistent and not b.requires_grad
    assert nn.Buffer(ember.ones(2)).persistent
    m = nn.Module()
    m.b = b
    assert type(m.b) is ember.Tensor and "b" in m._non_persistent_buffers_set
    assert np.shares_memory(m.b.numpy(), b.numpy())
