"""The CLI's registry: every model takes every data set's images after ``adapt``."""
import os

import pytest
import torch

import ember
from ember.cli.zoo import DATASETS, MODELS, adapt
from ember.utils.data import TensorDataset

from helpers import assert_close


# Grey 28x28 images grow to each model's smallest side. VGG's 120M-parameter classifier is slow
# to build: its convolutional part is checked apart, below.
CASES = [(name, (1, 28, 28)) for name in MODELS if not name.startswith("vgg")]
CASES += [(name, size) for name in ("lenet5", "mlp", "resnet20") for size in [(1, 8, 8), (3, 32, 32)]]


@pytest.mark.parametrize("name, image_size", CASES)
def test_every_model_runs_on_its_accepted_size(name, image_size):
    spec = MODELS[name]
    size = spec.accepted_size(image_size)
    assert size[1] >= min(image_size[1], spec.min_side) and size[1] == size[2]
    assert size[0] == (spec.channels or image_size[0])
    model = spec.build(7, size).eval()
    with ember.no_grad():
        assert model(ember.randn(1, *size)).shape == (1, 7)


@pytest.mark.parametrize("cfg", ["A", "D"])
def test_vgg_features_take_the_min_side(cfg):
    from ember.vision.models.vgg import cfgs, make_layers
    assert MODELS["vgg11"].min_side == MODELS["vgg16"].min_side == 32
    features = make_layers(cfgs[cfg])
    with ember.no_grad():
        assert features(ember.randn(1, 3, 32, 32)).shape == (1, 512, 1, 1)


def test_accepted_size_rules():
    assert MODELS["lenet5"].accepted_size((1, 8, 8)) == (1, 28, 28)
    assert MODELS["lenet5"].accepted_size((3, 32, 32)) == (3, 32, 32)
    assert MODELS["lenet5"].accepted_size((3, 64, 64)) == (3, 32, 32)
    assert MODELS["resnet18"].accepted_size((1, 28, 28)) == (3, 32, 32)
    assert MODELS["resnet18"].accepted_size((3, 224, 224)) == (3, 224, 224)
    assert MODELS["alexnet"].accepted_size((3, 32, 32)) == (3, 63, 63)
    assert MODELS["mlp"].accepted_size((1, 8, 8)) == (1, 8, 8)
    for spec in MODELS.values():
        assert spec.accepted_size(spec.input_size) == spec.input_size


def test_adapt_repeats_grey_and_resizes_like_torch():
    images = ember.randn(4, 1, 8, 8)
    labels = ember.arange(4)
    dataset = TensorDataset(images, labels)
    assert adapt(dataset, (1, 8, 8), (1, 8, 8)) is dataset
    adapted = adapt(dataset, (1, 8, 8), (3, 28, 28))
    assert len(adapted) == 4
    image, label = adapted[2]
    expected = torch.nn.functional.interpolate(torch.tensor(images[2:3].numpy()).expand(1, 3, 8, 8),
                                               size=(28, 28), mode="bilinear", align_corners=False)[0]
    assert image.shape == (3, 28, 28) and label.item() == 2
    assert_close(image, expected)


def test_adapt_refuses_colour_to_grey():
    dataset = TensorDataset(ember.randn(2, 3, 32, 32), ember.arange(2))
    with pytest.raises(ValueError, match="cannot feed 3-channel images to a model that takes 1 channels"):
        adapt(dataset, (3, 32, 32), (1, 28, 28))


def test_datasets_declare_their_images():
    pytest.importorskip("sklearn")
    for name in ("fake", "digits"):
        spec = DATASETS[name]
        image, label = spec.load("unused", False)[0]
        assert tuple(image.shape) == spec.image_size and 0 <= int(label) < spec.num_classes
    train, test = DATASETS["digits"].load("unused", True), DATASETS["digits"].load("unused", False)
    assert len(train) + len(test) == 1797
