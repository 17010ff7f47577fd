"""``torchvision.transforms.v2.functional``: the v2 kernels, dispatching on the input's
kind (PIL image, tensor, Image, Mask, BoundingBoxes) to v1's kernels."""
from ..._functional_tensor import convert_image_dtype  # noqa: F401
from ...functional import InterpolationMode  # noqa: F401
from ._color import *  # noqa: F401,F403
from ._geometry import *  # noqa: F401,F403
from ._meta import *  # noqa: F401,F403
