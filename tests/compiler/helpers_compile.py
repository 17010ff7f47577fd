"""Run a callable eagerly and compiled on the same inputs and random seeds."""
import numpy as np

import ember


def entries(compiled):
    """The cache entries of a compiled module or function."""
    c = compiled.__dict__["_compiled"] if isinstance(compiled, ember.nn.Module) \
        else compiled._ember_compiled
    return list(c.cache.values())


def replaying(compiled) -> bool:
    return any(e.graph is not None for e in entries(compiled))


def rewritten(compiled) -> bool:
    """Whether a replayed graph computes convolutions channels-last (compiler/layout.py)."""
    from ember.compiler import layout
    return any(step.fn is layout._to_channels_last for e in entries(compiled) if e.graph is not None
               for step in e.graph.steps)


def assert_same(a, b):
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, ember.Tensor):
        assert a.shape == b.shape and a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    else:
        assert a == b


def same_as_eager(compiled, eager, *inputs, seed: int = 7):
    """One call of each from the same random state gives the same result."""
    ember.manual_seed(seed)
    got = compiled(*inputs)
    ember.manual_seed(seed)
    assert_same(got, eager(*inputs))
