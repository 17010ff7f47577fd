"""``ember.backends``: switches and queries of the libraries under ember, as ``torch.backends``."""
from . import cpu, cuda, cudnn, mps  # noqa: F401
