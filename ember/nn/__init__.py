"""``torch.nn``: modules, parameters, initialisation and the functional interface."""
from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
from . import parallel  # noqa: F401
from .parallel import DataParallel  # noqa: F401
from .modules.sync_batchnorm import SyncBatchNorm  # noqa: F401
