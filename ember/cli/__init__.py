"""The ``ember`` command line (``ember train``, ``ember eval``, ``ember summary``, ``ember demo``)."""
from .main import main

__all__ = ["main"]
