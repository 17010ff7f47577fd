"""Weights ember trained itself and ships (safetensors): LeNet-5 on MNIST and the small CNN on
Fashion-MNIST load offline through the same weights= API as torchvision's checkpoints and give
their stated accuracy on the test sets; a tampered copy is refused and loading runs no code."""
import os
import pickle
import shutil

import numpy as np
import pytest

import ember
from ember.vision import models, transforms
from shared_data import SHARED_DATA

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")
FASHION_DIR = os.path.join(SHARED_DATA, "fashion-mnist")
SHIPPED = [models.LeNet5_Weights.MNIST, models.SmallCNN_Weights.FASHION_MNIST]


pytestmark = pytest.mark.usefixtures("hub_cache")  # tests/conftest.py


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


def test_small_cnn_fashion_mnist_weights_by_name_enum_and_registry():
    enum = models.SmallCNN_Weights
    assert enum.DEFAULT is enum.FASHION_MNIST and models.get_model_weights("small_cnn") is enum
    assert models.get_model_weights(models.small_cnn) is enum and "small_cnn" in models.list_models()
    assert models.get_weight("SmallCNN_Weights.FASHION_MNIST") is enum.FASHION_MNIST
    from ember.vision import datasets
    assert enum.FASHION_MNIST.meta["categories"] == datasets.FashionMNIST.classes
    by_name = models.small_cnn(weights="FASHION_MNIST")
    by_enum = models.get_model("small_cnn", weights=enum.DEFAULT)
    shipped = ember.io.load_safetensors(enum.FASHION_MNIST.url.removeprefix("file://"))
    assert {v.dtype for k, v in shipped.items() if v.is_floating_point()} == {ember.float16}  # half the bytes
    loaded = by_name.state_dict()
    for k, v in shipped.items():
        assert loaded[k].dtype == (ember.float32 if v.is_floating_point() else v.dtype)
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy().astype(loaded[k].numpy().dtype))
        np.testing.assert_array_equal(by_enum.state_dict()[k].numpy(), loaded[k].numpy())
    assert sum(p.numel() for p in by_name.parameters()) == enum.FASHION_MNIST.meta["num_params"]
    with pytest.raises(ValueError, match="'num_classes' expected value 10"):
        models.small_cnn(weights="FASHION_MNIST", num_classes=5)


def test_small_cnn_matches_the_same_network_in_pytorch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    def block(cin, cout):
        return tnn.Sequential(tnn.Conv2d(cin, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU(),
                              tnn.Conv2d(cout, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU(),
                              tnn.MaxPool2d(2))

    replica = tnn.Module()
    replica.features = tnn.Sequential(block(1, 16), block(16, 32))
    replica.classifier = tnn.Sequential(tnn.Flatten(), tnn.Dropout(0.3), tnn.Linear(32 * 7 * 7, 128), tnn.ReLU(),
                                        tnn.Dropout(0.3), tnn.Linear(128, 10))
    model = models.small_cnn(weights="FASHION_MNIST").eval()
    replica.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    replica.eval()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    with ember.no_grad(), torch.no_grad():
        expected = torch.nn.Sequential(replica.features, replica.classifier)(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(model(ember.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"SmallCNN: expected 28x28 images.*\(4, 1, 32, 32\)"):
        model(ember.zeros(4, 1, 32, 32))


# Each shipped checkpoint: its builder, the data set it was measured on, and the mean and std
# its training normalised the grey values with.
MEASURED = [
    (models.LeNet5_Weights.MNIST, models.lenet5, "MNIST", MNIST_DIR, 0.1307, 0.3081),
    (models.SmallCNN_Weights.FASHION_MNIST, models.small_cnn, "FashionMNIST", FASHION_DIR, 0.2860, 0.3530),
]


@pytest.mark.parametrize("weights,builder,dataset,folder,mean,std", MEASURED, ids=lambda v: repr(v)[:30])
def test_preprocessing_is_the_training_normalisation(weights, builder, dataset, folder, mean, std):
    from PIL import Image
    image = Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))
    expected = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])(image)
    np.testing.assert_allclose(weights.transforms()(image).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("weights,builder,dataset,folder,mean,std", MEASURED, ids=lambda v: repr(v)[:30])
def test_stated_accuracy_on_the_test_set(weights, builder, dataset, folder, mean, std):
    if not os.path.exists(os.path.join(folder, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"{dataset} files not in shared/data")
    from ember.vision import datasets
    test = getattr(datasets, dataset)(folder, train=False)
    x = (test.data.float() / 255.0 - mean) / std  # the preset's ToTensor + Normalize, batched
    model = builder(weights=weights).eval()
    with ember.no_grad():
        predicted = ember.cat([model(x[i:i + 2000].unsqueeze(1)).argmax(1) for i in range(0, len(x), 2000)])
    accuracy = 100 * (predicted == test.targets).float().mean().item()
    (stated,) = weights.meta["_metrics"].values()
    assert accuracy == pytest.approx(stated["acc@1"], abs=0.01)


@pytest.mark.parametrize("weights", SHIPPED, ids=repr)
def test_shipped_file_is_named_after_its_hash_and_a_tampered_copy_is_refused(weights, tmp_path):
    source = weights.url.removeprefix("file://")
    assert source.endswith(".safetensors") and os.path.getsize(source) < 1_000_000
    assert weights.meta["_file_size"] == pytest.approx(os.path.getsize(source) / 1e6, abs=0.001)
    tampered = tmp_path / "src" / os.path.basename(source)
    tampered.parent.mkdir()
    shutil.copy(source, tampered)
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 1  # one bit of the last tensor's data
    tampered.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="invalid hash value"):
        ember.hub.load_state_dict_from_url(tampered.as_uri(), model_dir=str(tmp_path / "cache"), check_hash=True)
    assert not (tmp_path / "cache" / tampered.name).exists()


@pytest.mark.parametrize("weights", SHIPPED, ids=repr)
def test_loading_shipped_weights_never_unpickles(weights, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a shipped checkpoint went through pickle")

    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(ember.hub, "_load", refuse)
    state = weights.get_state_dict(progress=False, check_hash=True)
    assert state and all(isinstance(v, ember.Tensor) for v in state.values())


@pytest.mark.parametrize("weights", SHIPPED, ids=lambda w: repr(w))
def test_shipped_weights_are_read_in_place_and_checked_each_time(weights, tmp_path):
    """A file inside the package is read where it is (nothing copied into the hub cache), and
    its hash is checked on every read, so a damaged installation is refused."""
    state = weights.get_state_dict(check_hash=True)
    assert not os.path.exists(os.path.join(ember.hub.get_dir(), "checkpoints"))
    source = weights.url.removeprefix("file://")
    tampered = tmp_path / os.path.basename(source)
    data = bytearray(open(source, "rb").read())
    data[-1] ^= 1
    tampered.write_bytes(bytes(data))
    from ember._weights import Weights, WeightsEnum

    class Damaged(WeightsEnum):
        COPY = Weights(tampered.as_uri(), weights.transforms, weights.meta)

    with pytest.raises(RuntimeError, match="invalid hash value"):
        Damaged.COPY.get_state_dict(check_hash=True)
    assert set(Damaged.COPY.get_state_dict()) == set(state)  # unchecked reads are the caller's choice
