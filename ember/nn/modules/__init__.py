"""Every layer class, re-exported as ``ember.nn.<Name>``."""
from . import activation, container, dropout, flatten, linear, loss, module
from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403

__all__ = [name for topic in (module, container, linear, flatten, activation, dropout, loss) for name in topic.__all__]
