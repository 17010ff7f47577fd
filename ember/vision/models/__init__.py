"""Classic image-classification networks (``torchvision.models``' place).

Every model takes ``num_classes``; the factories (``resnet18()``, ``vgg16_bn()``, ...) take
torchvision's ``weights`` / ``progress`` keywords, and the models shared with torchvision have
its module names and parameter shapes, so its state dicts load with ``load_state_dict``.
"""
from ._utils import *  # noqa: F401,F403
from ._weights import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .lenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .small_cnn import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
