"""Converting tensors to Python scalars and writing Python scalars into tensors: values and
exception types as in PyTorch."""
import pytest

import ember
from helpers import torch

CONVERSIONS = {"float": float, "int": int, "complex": complex, "bool": bool,
               "item": lambda t: t.item(), "index": lambda t: [0, 1, 2][t]}


@pytest.mark.parametrize("name", list(CONVERSIONS))
@pytest.mark.parametrize("values", [[2], [[1]], [1, 2], []])
def test_scalar_conversion_matches_torch(name, values):
    outcomes = []
    for lib in (ember, torch):
        try:
            outcomes.append(CONVERSIONS[name](lib.tensor(values)))
        except Exception as e:  # noqa: BLE001 (the exception's type is what is compared)
            outcomes.append(type(e))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "float16", "bool"])
@pytest.mark.parametrize("value", [200, -1, 2.7, 1e6, float("nan"), True, "tensor 200"])
def test_fill_converts_values_as_torch(dtype, value):
    outcomes = []
    for lib in (ember, torch):
        try:
            v = lib.tensor(200) if value == "tensor 200" else value
            outcomes.append(str(lib.zeros(3, dtype=getattr(lib, dtype)).fill_(v).tolist()))  # nan == nan
        except Exception as e:  # noqa: BLE001 (the exception's type is what is compared)
            outcomes.append(type(e))
    assert outcomes[0] == outcomes[1]


def test_numeric_constants_are_torchs():
    assert (ember.pi, ember.e, ember.inf) == (torch.pi, torch.e, torch.inf)
    assert ember.nan != ember.nan and torch.nan != torch.nan
