"""Pretrained-weight enums, their preprocessing presets, the model registry, and factories that
load a checkpoint through ``ember.hub.load_state_dict_from_url`` (replaced here by a stub that
returns the state dict of a freshly built model, so nothing is downloaded)."""
import copy
import importlib
import math
import pickle
import sys
import types

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import models
from ember.vision.transforms import InterpolationMode

# (factory, enum, members other than DEFAULT, the member DEFAULT is, published file per member)
ENUMS = [
    ("resnet18", models.ResNet18_Weights, {"IMAGENET1K_V1": "resnet18-f37072fd.pth"}, "IMAGENET1K_V1"),
    ("resnet34", models.ResNet34_Weights, {"IMAGENET1K_V1": "resnet34-b627a593.pth"}, "IMAGENET1K_V1"),
    ("resnet50", models.ResNet50_Weights, {"IMAGENET1K_V1": "resnet50-0676ba61.pth",
                                           "IMAGENET1K_V2": "resnet50-11ad3fa6.pth"}, "IMAGENET1K_V2"),
    ("vgg16", models.VGG16_Weights, {"IMAGENET1K_V1": "vgg16-397923af.pth",
                                     "IMAGENET1K_FEATURES": "vgg16_features-amdegroot-88682ab5.pth"},
     "IMAGENET1K_V1"),
    ("mobilenet_v2", models.MobileNet_V2_Weights, {"IMAGENET1K_V1": "mobilenet_v2-b0353104.pth",
                                                   "IMAGENET1K_V2": "mobilenet_v2-7ebf99e0.pth"}, "IMAGENET1K_V2"),
    ("efficientnet_b0", models.EfficientNet_B0_Weights,
     {"IMAGENET1K_V1": "efficientnet_b0_rwightman-7f5810bc.pth"}, "IMAGENET1K_V1"),
    ("alexnet", models.AlexNet_Weights, {"IMAGENET1K_V1": "alexnet-owt-7be5be79.pth"}, "IMAGENET1K_V1"),
]


@pytest.mark.parametrize("factory, enum_cls, files, default", ENUMS, ids=[e[0] for e in ENUMS])
def test_enum_members(factory, enum_cls, files, default):
    assert [m.name for m in enum_cls] == list(files)  # DEFAULT is an alias, not a member of its own
    assert enum_cls.DEFAULT is enum_cls[default]
    for name, filename in files.items():
        member = enum_cls[name]
        assert member.url == "https://download.pytorch.org/models/" + filename
        assert repr(member) == f"{enum_cls.__name__}.{name}"
        assert enum_cls.verify(name) is member and enum_cls.verify(f"{enum_cls.__name__}.{name}") is member
        assert models.get_weight(f"{enum_cls.__name__}.{name}") is member
        # deep copies and pickles come back as the same member (the presets are partials)
        assert copy.deepcopy(member) is member and pickle.loads(pickle.dumps(member)) is member
    assert models.get_weight(f"{enum_cls.__name__}.DEFAULT") is enum_cls.DEFAULT
    assert models.get_model_weights(factory) is enum_cls
    assert models.get_model_weights(getattr(models, factory)) is enum_cls


@pytest.mark.parametrize("factory, enum_cls", [(e[0], e[1]) for e in ENUMS], ids=[e[0] for e in ENUMS])
def test_meta_matches_the_model(factory, enum_cls):
    kwargs = {"init_weights": False} if factory == "vgg16" else {}
    model = getattr(models, factory)(**kwargs)
    count = sum(p.numel() for p in model.parameters())
    for member in enum_cls:
        assert member.meta["num_params"] == count
        categories = member.meta["categories"]
        assert categories is None or len(categories) == 1000
        assert set(member.meta["_metrics"]["ImageNet-1K"]) == {"acc@1", "acc@5"}


def test_categories_are_imagenet_class_names_in_index_order():
    categories = models.ResNet18_Weights.DEFAULT.meta["categories"]
    assert len(categories) == 1000 == len(set(categories))
    assert categories[:3] == ["tench", "goldfish", "great white shark"]
    assert categories[207] == "golden retriever" and categories[-1] == "toilet tissue"
    assert all(c == c.strip() and c for c in categories)
    assert models.VGG16_Weights.IMAGENET1K_FEATURES.meta["categories"] is None


def reference_preset(image, resize, crop, mean, std, resample):
    """Shorter edge to ``resize`` (the longer scaled and truncated), centre crop (offsets rounded
    half to even), scaled to [0, 1] and normalised, with PIL and NumPy only."""
    w, h = image.size
    size = (resize, int(resize * w / h)) if h <= w else (int(resize * h / w), resize)
    resized = image.resize((size[1], size[0]), resample)
    top, left = int(round((size[0] - crop) / 2.0)), int(round((size[1] - crop) / 2.0))
    array = np.asarray(resized.crop((left, top, left + crop, top + crop)), dtype=np.float32) / 255.0
    return (array.transpose(2, 0, 1) - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.mark.parametrize("weights, resize, mean, std, resample", [
    (models.ResNet18_Weights.DEFAULT, 256, IMAGENET_MEAN, IMAGENET_STD, Image.BILINEAR),
    (models.ResNet50_Weights.IMAGENET1K_V2, 232, IMAGENET_MEAN, IMAGENET_STD, Image.BILINEAR),
    (models.EfficientNet_B0_Weights.DEFAULT, 256, IMAGENET_MEAN, IMAGENET_STD, Image.BICUBIC),
    (models.VGG16_Weights.IMAGENET1K_FEATURES, 256, (0.48235, 0.45882, 0.40784), (1 / 255,) * 3, Image.BILINEAR),
])
def test_transforms_preset(weights, resize, mean, std, resample):
    rng = np.random.default_rng(0)
    for h, w in ((300, 451), (400, 260)):
        image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        out = weights.transforms()(image)
        assert isinstance(out, ember.Tensor) and out.dtype == ember.float32 and tuple(out.shape) == (3, 224, 224)
        expected = reference_preset(image, resize, 224, mean, std, resample)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4 if std[0] < 0.01 else 1e-5)
    preset = weights.transforms()
    assert preset.crop_size == [224] and preset.resize_size == [resize] and preset.mean == list(mean)
    expected_mode = InterpolationMode.BICUBIC if resample == Image.BICUBIC else InterpolationMode.BILINEAR
    assert preset.interpolation == expected_mode and preset.antialias is True
    assert repr(preset).startswith("ImageClassification(\n    crop_size=[224]\n    resize_size=")


def test_transforms_preset_on_a_uint8_tensor_batch():
    batch = ember.from_numpy(np.full((2, 3, 240, 320), 128, dtype=np.uint8))
    out = models.ResNet18_Weights.DEFAULT.transforms()(batch)
    assert tuple(out.shape) == (2, 3, 224, 224) and out.dtype == ember.float32
    expected = (128 / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out.numpy()[:, :, 5, 7], np.broadcast_to(expected, (2, 3)), rtol=1e-5)


@pytest.fixture
def hub(monkeypatch):
    """Replace ``ember.hub.load_state_dict_from_url`` with a stub returning the state dict of a
    model built with a fixed seed; ``calls`` records each call's arguments."""
    try:
        module = importlib.import_module("ember.hub")
    except ImportError:  # ember.hub not there yet: the factories only need the one function
        module = types.ModuleType("ember.hub")
        monkeypatch.setitem(sys.modules, "ember.hub", module)
    calls, built = [], {}

    def load_state_dict_from_url(url, *args, **kwargs):
        calls.append((url, args, kwargs))
        factory = next(e[0] for e in ENUMS if any(url.endswith(f) for f in e[2].values()))
        ember.manual_seed(1234)
        source = getattr(models, factory)()
        built[url] = source
        return source.state_dict()

    monkeypatch.setattr(module, "load_state_dict_from_url", load_state_dict_from_url, raising=False)
    return types.SimpleNamespace(calls=calls, built=built)


def assert_same_state(model, source):
    got, want = model.state_dict(), source.state_dict()
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)


@pytest.mark.parametrize("factory, weights", [
    ("resnet18", models.ResNet18_Weights.DEFAULT), ("resnet18", "IMAGENET1K_V1"),
    ("mobilenet_v2", "MobileNet_V2_Weights.IMAGENET1K_V1"), ("mobilenet_v2", models.MobileNet_V2_Weights.DEFAULT),
    ("efficientnet_b0", models.EfficientNet_B0_Weights.IMAGENET1K_V1),
])
@pytest.mark.parametrize("progress", [True, False])
def test_factory_loads_the_checkpoint(hub, factory, weights, progress):
    ember.manual_seed(0)  # a different seed from the stub's: loading must overwrite every value
    model = getattr(models, factory)(weights=weights, progress=progress)
    member = models.get_model_weights(factory).verify(weights)
    assert hub.calls == [(member.url, (), {"progress": progress, "check_hash": True})]
    assert_same_state(model, hub.built[member.url])


def test_get_model_loads_weights(hub):
    model = models.get_model("ResNet18", weights="DEFAULT")
    assert hub.calls[0][0] == models.ResNet18_Weights.IMAGENET1K_V1.url
    assert_same_state(model, hub.built[hub.calls[0][0]])
    assert isinstance(models.get_model("mobilenet_v2", num_classes=7).classifier[1], ember.nn.Linear)
    assert len(hub.calls) == 1
    with pytest.raises(ValueError, match="Unknown model resnet1000"):
        models.get_model("resnet1000")


def test_legacy_pretrained_keyword(hub):
    with pytest.warns(UserWarning) as record:
        model = models.resnet18(pretrained=True)
    messages = [str(w.message) for w in record]
    assert messages == [
        "The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, please use "
        "'weights' instead.",
        "Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 and may be removed "
        "in the future. The current behavior is equivalent to passing `weights=ResNet18_Weights.IMAGENET1K_V1`. "
        "You can also use `weights=ResNet18_Weights.DEFAULT` to get the most up-to-date weights."]
    assert [c[0] for c in hub.calls] == [models.ResNet18_Weights.IMAGENET1K_V1.url]
    assert_same_state(model, hub.built[hub.calls[0][0]])
    # pretrained=True means V1 even where DEFAULT is V2, as before the enums existed
    with pytest.warns(UserWarning) as record:
        models.mobilenet_v2(pretrained=True)
    assert "equivalent to passing `weights=MobileNet_V2_Weights.IMAGENET1K_V1`" in str(record[-1].message)
    assert hub.calls[-1][0] == models.MobileNet_V2_Weights.IMAGENET1K_V1.url
    with pytest.warns(UserWarning) as record:
        models.alexnet(pretrained=False, num_classes=5)
    assert str(record[-1].message).endswith("equivalent to passing `weights=None`.")
    with pytest.warns(UserWarning, match="equivalent to passing `weights=ResNet18_Weights.IMAGENET1K_V1`"):
        models.resnet18(weights=True)
    assert len(hub.calls) == 3


def test_weights_errors(hub):
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 1000 but got 10 instead."):
        models.resnet18(weights="DEFAULT", num_classes=10)
    with pytest.raises(TypeError, match="expected ResNet18_Weights but received ResNet34_Weights"):
        models.resnet18(weights=models.ResNet34_Weights.DEFAULT)
    with pytest.raises(KeyError, match="IMAGENET1K_V9"):
        models.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(TypeError, match="resnet18.*both weights=.*and pretrained=True"):
        models.resnet18(weights="DEFAULT", pretrained=True)
    with pytest.raises(ValueError, match="Invalid weight name provided: 'ResNet18_Weights'"):
        models.get_weight("ResNet18_Weights")
    with pytest.raises(ValueError, match="The weight enum 'ResNet1000_Weights'"):
        models.get_weight("ResNet1000_Weights.DEFAULT")
    with pytest.raises(ValueError, match="No pretrained weights are published for resnet101"):
        models.get_model_weights("resnet101")
    # factories without published weights still refuse any
    with pytest.raises(ValueError, match=r"resnet101\(weights='DEFAULT'\): pretrained weights are not bundled"):
        models.resnet101(weights="DEFAULT")
    assert hub.calls == []


def test_vgg16_with_weights_skips_initialisation(hub, monkeypatch):
    seen = []
    original = models.VGG.__init__

    def spy(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        seen.append(init_weights)
        original(self, features, num_classes, init_weights, dropout)

    monkeypatch.setattr(models.VGG, "__init__", spy)
    model = models.vgg16(weights=models.VGG16_Weights.DEFAULT)
    assert seen == [False, True]  # the model asked for, then the stub's freshly initialised source
    assert_same_state(model, hub.built[models.VGG16_Weights.DEFAULT.url])


def test_list_models():
    names = models.list_models()
    assert names == sorted(names)
    assert {"resnet18", "resnet50", "vgg16", "alexnet", "mobilenet_v2", "efficientnet_b0", "lenet5"} <= set(names)
    assert "cifar_resnet" not in names and "stochastic_depth" not in names  # a helper, and one needing depth
    assert models.list_models(include="resnet*", exclude=["resnet1*", "resnext*"]) == \
        sorted(n for n in names if n.startswith("resnet") and not n.startswith("resnet1"))
    assert models.list_models(include=["vgg16", "alexnet"]) == ["alexnet", "vgg16"]
    assert models.list_models(module=models) == names
    assert models.list_models(module=math) == []
