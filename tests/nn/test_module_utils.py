"""ember.nn.modules.utils against torch.nn.modules.utils: the layers' argument parsers and
consume_prefix_in_state_dict_if_present, which loads a DDP checkpoint into the bare model."""
import numpy as np
import pytest

import ember
from ember.nn.modules import utils
from helpers import torch

TU = torch.nn.modules.utils


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, (1, 2), [4, 5, 6], 2.5, ember.Size([7, 8])])
def test_parsers_match_torch(name, value):
    ours, theirs = getattr(utils, name), getattr(TU, name)
    assert ours(value) == theirs(value)
    assert ours.__name__ == theirs.__name__


def test_reverse_repeat_and_list_with_default_match_torch():
    assert utils._reverse_repeat_tuple((1, 2, 3), 2) == TU._reverse_repeat_tuple((1, 2, 3), 2)
    assert utils._list_with_default([None, 4], [9, 8, 7]) == TU._list_with_default([None, 4], [9, 8, 7])
    assert utils._list_with_default(5, [1, 2]) == TU._list_with_default(5, [1, 2])
    with pytest.raises(ValueError):
        utils._list_with_default([1, 2], [3])


def _wrapped(lib):
    class Wrapper(lib.nn.Module):  # as DistributedDataParallel holds the model
        def __init__(self):
            super().__init__()
            self.module = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4))
    return Wrapper()


def test_a_wrapped_checkpoint_loads_into_the_bare_model_as_in_torch():
    state = {lib: _wrapped(lib).state_dict() for lib in (ember, torch)}
    for lib, TUlib in ((ember, utils), (torch, TU)):
        TUlib.consume_prefix_in_state_dict_if_present(state[lib], "module.")
    assert list(state[ember]) == list(state[torch])
    assert list(getattr(state[ember], "_metadata", {})) == list(getattr(state[torch], "_metadata", {}))
    bare = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
    bare.load_state_dict(state[ember])
    for key, value in bare.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[ember][key].numpy())
    untouched = {"a.weight": ember.ones(2)}
    utils.consume_prefix_in_state_dict_if_present(untouched, "module.")
    assert list(untouched) == ["a.weight"]
