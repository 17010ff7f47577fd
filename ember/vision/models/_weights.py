"""Pretrained weights: the ``*_Weights`` enums (address, preprocessing and facts of each
published checkpoint), the model registry (``list_models``, ``get_model``, ``get_weight``) and
how a factory turns ``weights=`` / the legacy ``pretrained=`` into a loaded state dict.

The checkpoints are torchvision's files (the models here share its module names and shapes)
and a few small ones ember trained itself and ships (safetensors); all are fetched and cached
by ``ember.hub.load_state_dict_from_url`` and checked against the hash in their file names.
``Weights`` and ``WeightsEnum`` are ``ember._weights``' (shared with ``ember.text``).
"""
from __future__ import annotations

import fnmatch
import inspect
import warnings
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable

from ..._weights import Weights, WeightsEnum, load_weights as _load_weights
from ..transforms.functional import InterpolationMode
from ._presets import ImageClassification
from ._utils import _check_weights

__all__ = ["Weights", "WeightsEnum", "get_weight", "get_model_weights", "get_model_builder", "get_model",
           "list_models", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "VGG16_Weights",
           "MobileNet_V2_Weights", "EfficientNet_B0_Weights", "AlexNet_Weights", "LeNet5_Weights", "SmallCNN_Weights"]

# The 1000 ImageNet-1k class names in class-index order, shipped as a text file (one per line).
_IMAGENET_CATEGORIES = (Path(__file__).with_name("imagenet_categories.txt")
                        .read_text(encoding="utf-8").splitlines())


def _imagenet(url: str, meta: dict[str, Any], crop_size: int = 224, **preset: Any) -> Weights:
    """An ImageNet-1k classifier checkpoint, evaluated with :class:`ImageClassification`."""
    return Weights(url, partial(ImageClassification, crop_size=crop_size, **preset),
                   {"categories": _IMAGENET_CATEGORIES, **meta})


def _metrics(acc1: float, acc5: float) -> dict[str, Any]:
    return {"_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}}


_CLASSIFICATION = "https://github.com/pytorch/vision/tree/main/references/classification"
_NEW_RECIPE = "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621"
_RESNET = {"min_size": (1, 1), "recipe": f"{_CLASSIFICATION}#resnet"}
_VGG = {"min_size": (32, 32), "recipe": f"{_CLASSIFICATION}#alexnet-and-vgg"}
_MOBILENET_V2 = {"num_params": 3504872, "min_size": (1, 1)}
_MODELS = "https://download.pytorch.org/models/"


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "resnet18-f37072fd.pth", {
        **_RESNET, "num_params": 11689512, **_metrics(69.758, 89.078), "_ops": 1.814, "_file_size": 44.661})
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "resnet34-b627a593.pth", {
        **_RESNET, "num_params": 21797672, **_metrics(73.314, 91.420), "_ops": 3.664, "_file_size": 83.275})
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "resnet50-0676ba61.pth", {
        **_RESNET, "num_params": 25557032, **_metrics(76.130, 92.862), "_ops": 4.089, "_file_size": 97.781})
    IMAGENET1K_V2 = _imagenet(_MODELS + "resnet50-11ad3fa6.pth", {
        **_RESNET, "num_params": 25557032, "recipe": _NEW_RECIPE, **_metrics(80.858, 95.434), "_ops": 4.089,
        "_file_size": 97.79}, resize_size=232)
    DEFAULT = IMAGENET1K_V2


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "vgg16-397923af.pth", {
        **_VGG, "num_params": 138357544, **_metrics(71.592, 90.382), "_ops": 15.47, "_file_size": 527.796})
    # Only ``features`` holds trained values (ported from SSD's backbone); the classifier does
    # not classify, hence no categories. Trained on 0..255 inputs, hence std 1/255.
    IMAGENET1K_FEATURES = Weights(
        _MODELS + "vgg16_features-amdegroot-88682ab5.pth",
        partial(ImageClassification, crop_size=224, mean=(0.48235, 0.45882, 0.40784),
                std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0)),
        {**_VGG, "num_params": 138357544, "categories": None,
         "recipe": "https://github.com/amdegroot/ssd.pytorch#training-ssd",
         **_metrics(float("nan"), float("nan")), "_ops": 15.47, "_file_size": 527.802})
    DEFAULT = IMAGENET1K_V1


class MobileNet_V2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "mobilenet_v2-b0353104.pth", {
        **_MOBILENET_V2, "recipe": f"{_CLASSIFICATION}#mobilenetv2", **_metrics(71.878, 90.286), "_ops": 0.301,
        "_file_size": 13.555})
    IMAGENET1K_V2 = _imagenet(_MODELS + "mobilenet_v2-7ebf99e0.pth", {
        **_MOBILENET_V2, "recipe": "https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
        **_metrics(72.154, 90.822), "_ops": 0.301, "_file_size": 13.598}, resize_size=232)
    DEFAULT = IMAGENET1K_V2


class EfficientNet_B0_Weights(WeightsEnum):
    # Ported from timm's checkpoint: evaluated with bicubic resizing.
    IMAGENET1K_V1 = _imagenet(_MODELS + "efficientnet_b0_rwightman-7f5810bc.pth", {
        "min_size": (1, 1), "recipe": f"{_CLASSIFICATION}#efficientnet-v1", "num_params": 5288548,
        **_metrics(77.692, 93.532), "_ops": 0.386, "_file_size": 20.451},
        resize_size=256, interpolation=InterpolationMode.BICUBIC)
    DEFAULT = IMAGENET1K_V1


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(_MODELS + "alexnet-owt-7be5be79.pth", {
        "num_params": 61100840, "min_size": (63, 63), "recipe": f"{_CLASSIFICATION}#alexnet-and-vgg",
        **_metrics(56.522, 79.066), "_ops": 0.714, "_file_size": 233.087})
    DEFAULT = IMAGENET1K_V1


# Weights ember trained itself, shipped inside the package (a few hundred KB each): their URL
# is the file's own, so they load offline, read in place with their hash checked.
_BUNDLED = Path(__file__).with_name("weights")


def _bundled_28x28(file: str, mean: float, std: float, meta: dict[str, Any]) -> Weights:
    """A checkpoint shipped in ``weights/`` for 28x28 grey images, normalised by ``mean``/``std``."""
    return Weights((_BUNDLED / file).as_uri(), partial(ImageClassification, crop_size=28, resize_size=28,
                                                      mean=(mean,), std=(std,)),
                   {**meta, "min_size": (28, 28)})


class LeNet5_Weights(WeightsEnum):
    MNIST = _bundled_28x28("lenet5_mnist-81affe58.safetensors", 0.1307, 0.3081, {
        "categories": [str(d) for d in range(10)], "num_params": 61706,
        "recipe": "python examples/mnist.py --data-dir DATA --epochs 3 --val-split 0 (seed 0); the state dict "
                  "written with ember.io.save_safetensors",
        "_metrics": {"MNIST": {"acc@1": 98.30}}, "_file_size": 0.248,
        "_docs": "LeNet-5 trained by ember on the 60,000 MNIST training digits; accuracy on the 10,000 test digits."})
    DEFAULT = MNIST


_FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                          "Ankle boot"]


class SmallCNN_Weights(WeightsEnum):
    # float16 in the file (half the bytes); loading casts to the model's float32.
    FASHION_MNIST = _bundled_28x28("small_cnn_fashion_mnist-46a4f6c1.safetensors", 0.2860, 0.3530, {
        "categories": _FASHION_MNIST_CLASSES, "num_params": 218586,
        "recipe": "python examples/fashion_mnist.py --data-dir DATA --epochs 3 --val-split 0 --save "
                  "small_cnn.safetensors (seed 0; 315 s on 2 CPU cores)",
        "_metrics": {"Fashion-MNIST": {"acc@1": 91.53}}, "_file_size": 0.440,
        "_docs": "The small CNN trained by ember on the 60,000 Fashion-MNIST training images; accuracy on the 10,000 "
                 "test images."})
    DEFAULT = FASHION_MNIST


# The factories that have published weights, and their enum (``get_model_weights``).
_BUILDER_WEIGHTS: dict[str, type[WeightsEnum]] = {
    "resnet18": ResNet18_Weights, "resnet34": ResNet34_Weights, "resnet50": ResNet50_Weights,
    "vgg16": VGG16_Weights, "mobilenet_v2": MobileNet_V2_Weights, "efficientnet_b0": EfficientNet_B0_Weights,
    "alexnet": AlexNet_Weights, "lenet5": LeNet5_Weights, "small_cnn": SmallCNN_Weights,
}


def _resolve_weights(arch: str, weights: Any, kwargs: dict) -> WeightsEnum | None:
    """The checkpoint a factory call asks for, with torchvision's legacy rules: ``pretrained=True``
    (or ``weights=True``) means ``IMAGENET1K_V1`` and, like ``pretrained=False``, warns. Sets
    ``num_classes`` from the checkpoint's categories (a different value raises ValueError).
    A factory without published weights refuses any (see ``_check_weights``)."""
    enum_cls = _BUILDER_WEIGHTS.get(arch)
    if enum_cls is None:
        _check_weights(arch, weights, kwargs)
        return None
    legacy = isinstance(weights, bool) or weights == "legacy"
    if "pretrained" in kwargs:
        if weights is not None and not legacy:
            raise TypeError(f"{arch}() got both weights={weights!r} and pretrained={kwargs['pretrained']!r}; "
                            f"pass weights only (pretrained is deprecated)")
        weights = kwargs.pop("pretrained")
        legacy = True
        warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, "
                      "please use 'weights' instead.")
    if legacy:
        pretrained = bool(weights) and weights != "legacy"
        weights = getattr(enum_cls, "IMAGENET1K_V1", enum_cls.DEFAULT) if pretrained else None
        message = (f"Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 and may "
                   f"be removed in the future. The current behavior is equivalent to passing `weights={weights}`.")
        if pretrained:
            message += f" You can also use `weights={enum_cls.__name__}.DEFAULT` to get the most up-to-date weights."
        warnings.warn(message)
    weights = enum_cls.verify(weights)
    if weights is not None and weights.meta["categories"] is not None:
        num_classes = len(weights.meta["categories"])
        if kwargs.setdefault("num_classes", num_classes) != num_classes:
            raise ValueError(f"The parameter 'num_classes' expected value {num_classes} but got "
                             f"{kwargs['num_classes']} instead.")
    return weights


def _namespace() -> ModuleType:
    from .. import models  # the package imports this file, so it is looked up at call time

    return models


def _builders() -> dict[str, Callable]:
    """Every model factory of ``ember.vision.models``: the public functions taking ``weights``
    whose other parameters all have defaults."""
    found = {}
    for name, fn in vars(_namespace()).items():
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        params = inspect.signature(fn).parameters
        required = [p for p in params.values() if p.default is p.empty and p.kind not in (p.VAR_KEYWORD,
                                                                                             p.VAR_POSITIONAL)]
        if "weights" in params and not required:
            found[name] = fn
    return found


def list_models(module: ModuleType | None = None, include: Iterable[str] | str | None = None,
                exclude: Iterable[str] | str | None = None) -> list[str]:
    """The sorted names of the model factories (defined in ``module`` when given), kept if they
    match one of the ``include`` shell patterns and none of the ``exclude`` ones."""
    names = {name for name, fn in _builders().items() if module is None or fn.__module__ == module.__name__
             or fn.__module__.rsplit(".", 1)[0] == module.__name__}
    if include:
        patterns = [include] if isinstance(include, str) else include
        names = {name for pattern in patterns for name in fnmatch.filter(names, pattern)}
    if exclude:
        patterns = [exclude] if isinstance(exclude, str) else exclude
        names -= {name for pattern in patterns for name in fnmatch.filter(names, pattern)}
    return sorted(names)


def get_model_builder(name: str) -> Callable:
    """The factory registered as ``name`` (case-insensitive)."""
    builders = _builders()
    try:
        return builders[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> Any:
    """Build the model ``name`` with ``config`` (``weights=``, ``num_classes=``, ...)."""
    return get_model_builder(name)(**config)


def get_model_weights(name: Callable | str) -> type[WeightsEnum]:
    """The weights enum of a factory (given as the function or its name)."""
    fn = get_model_builder(name) if isinstance(name, str) else name
    try:
        return _BUILDER_WEIGHTS[fn.__name__]
    except KeyError:
        raise ValueError(f"No pretrained weights are published for {fn.__name__}; models with weights: "
                         f"{', '.join(sorted(_BUILDER_WEIGHTS))}") from None


def get_weight(name: str) -> WeightsEnum:
    """The enum member named like ``"ResNet50_Weights.IMAGENET1K_V1"``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    weights_enum = getattr(_namespace(), enum_name, None)
    if not (isinstance(weights_enum, type) and issubclass(weights_enum, WeightsEnum)):
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
    return weights_enum[value_name]
