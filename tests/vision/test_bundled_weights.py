"""Weights ember trained itself and ships: LeNet-5 on MNIST loads offline through the same
weights= API as torchvision's checkpoints and gives its stated accuracy on the test set."""
import os

import numpy as np
import pytest

import ember
from ember.vision import models, transforms
from shared_data import SHARED_DATA

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")


@pytest.fixture(autouse=True)
def hub_cache(tmp_path):
    previous = ember.hub.get_dir()
    ember.hub.set_dir(tmp_path / "hub")
    yield
    ember.hub.set_dir(previous)


def test_lenet5_mnist_weights_load_offline_by_name_enum_and_registry():
    enum = models.LeNet5_Weights
    assert enum.DEFAULT is enum.MNIST and models.get_model_weights("lenet5") is enum
    assert enum.MNIST.meta["categories"] == [str(d) for d in range(10)] and enum.MNIST.meta["num_params"] == 61706
    by_name = models.lenet5(weights="MNIST")
    by_enum = models.get_model("lenet5", weights=enum.DEFAULT)
    shipped = ember.io.load_safetensors(enum.MNIST.url.removeprefix("file://"))
    for k, v in shipped.items():
        np.testing.assert_array_equal(by_name.state_dict()[k].numpy(), v.numpy())
        np.testing.assert_array_equal(by_enum.state_dict()[k].numpy(), v.numpy())
    assert sum(p.numel() for p in by_name.parameters()) == enum.MNIST.meta["num_params"]
    with pytest.raises(ValueError, match="'num_classes' expected value 10"):
        models.lenet5(weights="MNIST", num_classes=5)


def test_preprocessing_is_mnists_normalisation():
    from PIL import Image
    image = Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))
    expected = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])(image)
    np.testing.assert_allclose(models.LeNet5_Weights.MNIST.transforms()(image).numpy(), expected.numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not os.path.exists(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")),
                    reason="MNIST files not in shared/data")
def test_stated_accuracy_on_the_mnist_test_set():
    from ember.vision import datasets
    weights = models.LeNet5_Weights.MNIST
    test = datasets.MNIST(MNIST_DIR, train=False)
    x = (test.data.float() / 255.0 - 0.1307) / 0.3081  # the preset's ToTensor + Normalize, batched
    model = models.lenet5(weights=weights).eval()
    with ember.no_grad():
        accuracy = 100 * (model(x.unsqueeze(1)).argmax(1) == test.targets).float().mean().item()
    assert accuracy == pytest.approx(weights.meta["_metrics"]["MNIST"]["acc@1"], abs=0.01)
