"""Converting a tensor to a Python scalar: values and exception types as in PyTorch."""
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
