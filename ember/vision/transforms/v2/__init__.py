"""``torchvision.transforms.v2``: transforms of whole samples, an image with its masks,
boxes and labels, moved together with one random draw (see ``_transform.Transform``)."""
from . import functional  # noqa: F401
from ..functional import InterpolationMode  # noqa: F401
from ._color import *  # noqa: F401,F403
from ._geometry import *  # noqa: F401,F403
from ._meta import *  # noqa: F401,F403
from ._transform import *  # noqa: F401,F403
from ._auto_augment import *  # noqa: F401,F403
