import warnings

import pytest

import ember


@pytest.fixture(autouse=True)
def _fresh_compiler():
    """Each test starts with no captured graphs and sees every compile warning."""
    ember.compiler.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        yield
    ember.compiler.reset()
