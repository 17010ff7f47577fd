"""ember.tensor(data) infers PyTorch's dtype and converts each element as PyTorch does, or
raises PyTorch's exception type: nested lists mixing numbers, 0-d tensors, NumPy scalars and
arrays, ragged and invalid data."""
import numpy as np
import pytest

from outcome import assert_same_outcome

CASES = {
    "float and None": lambda m: m.tensor([1.0, None]),
    "int and str": lambda m: m.tensor([1, "a"]),
    "ragged": lambda m: m.tensor([[1, 2], [3]]),
    "list of 1-d tensors": lambda m: m.tensor([m.ones(2), m.ones(2)]),
    "1-d tensor beside a list": lambda m: m.tensor([m.ones(2, dtype=m.float64), [1, 2]]),
    "int and 0-d float64": lambda m: m.tensor([1, m.tensor(2.5, dtype=m.float64)]),
    "int and 0-d float16": lambda m: m.tensor([1, m.tensor(2.5, dtype=m.float16)]),
    "NumPy float32 then float": lambda m: m.tensor([np.float32(1.25), 1.0]),
    "float then NumPy float32": lambda m: m.tensor([1.0, np.float32(1.25)]),
    "NumPy int8 and 300": lambda m: m.tensor([np.int8(1), 300]),
    "bool and int": lambda m: m.tensor([True, 2]),
    "0-d uint8 and -1": lambda m: m.tensor([m.tensor(1, dtype=m.uint8), -1]),
    "NumPy int16 arrays": lambda m: m.tensor([np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)]),
    "floats into int32": lambda m: m.tensor([1.5, -2.7], dtype=m.int32),
    "tensor that requires grad": lambda m: m.tensor([m.ones(1, requires_grad=True)[0] * 3, 2.0]),
    "empty nested": lambda m: m.tensor([[], []]),
    "tuple": lambda m: m.tensor((1, 2.0)),
    "nan into int64": lambda m: m.tensor([float("nan"), 1], dtype=m.int64),
    "nested 0-d tensors": lambda m: m.tensor([[m.tensor(1), m.tensor(2)], [m.tensor(3), 4.5]]),
    "bool tensors and bools": lambda m: m.tensor([m.tensor(True), False]),
    "int64 tensor into float16": lambda m: m.tensor([m.tensor(70000), 1], dtype=m.float16),
    "float tensor into int64": lambda m: m.tensor([m.tensor(2.5), 1], dtype=m.int64),
    "float tensor into bool": lambda m: m.tensor([m.tensor(2.5), 0.0], dtype=m.bool),
    "int tensor into int8 overflows": lambda m: m.tensor([m.tensor(300), 1], dtype=m.int8),
    "scalar where a sequence is expected": lambda m: m.tensor([[1, 2], 3]),
    "sequence where a number is expected": lambda m: m.tensor([1.5, [2.0], 1.5]),
    "ragged NumPy rows": lambda m: m.tensor([np.array([1.0, 2.0]), [3.0]]),
    "huge int beside a tensor": lambda m: m.tensor([m.tensor(1.0), 2 ** 70]),
    "nan beside a tensor into int32": lambda m: m.tensor([float("nan"), m.tensor(1)], dtype=m.int32),
    "0-d tensor alone in a list": lambda m: m.tensor([[m.tensor(7)]]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tensor_from_nested_data_matches_torch(name):
    assert_same_outcome(CASES[name], what=name)
