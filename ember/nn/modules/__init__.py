"""Every layer class, re-exported as ``ember.nn.<Name>``."""
from . import activation, container, dropout, flatten, linear, loss, module
from . import conv
from . import normalization, padding, pixelshuffle, upsampling
from . import rnn, sparse
from . import pooling
from . import attention, transformer
from . import distance, lazy_conv, lazy_norm, utils
from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .lazy_conv import *  # noqa: F401,F403
from .lazy_norm import *  # noqa: F401,F403

__all__ = [name for topic in (module, container, linear, flatten, activation, dropout, loss, conv, rnn, sparse, normalization, padding, pixelshuffle, upsampling, pooling, attention, transformer, distance, lazy_conv, lazy_norm) for name in topic.__all__]
