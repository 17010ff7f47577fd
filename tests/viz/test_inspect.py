"""ember.viz's learner plots: each returns a matplotlib Figure showing what it says."""
import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.viz import (plot_decision_boundary, show_activations, show_feature_maps, show_filters,
                       show_gradients)

pytest.importorskip("matplotlib")


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def cnn():
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))


def test_show_filters_one_image_per_kernel_in_colour_for_rgb():
    conv = nn.Conv2d(3, 10, 5)
    fig = show_filters(conv, ncols=4)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 10 and images[0].get_array().shape == (5, 5, 3)
    assert images[0].get_array().min() == 0 and images[0].get_array().max() == 1  # each scaled to its range
    assert "RGB" in fig._suptitle.get_text() and png(fig)[:4] == b"\x89PNG"
    grey = show_filters(nn.Conv2d(6, 4, 3))
    assert grey.axes[0].images[0].get_array().shape == (3, 3)
    with pytest.raises(TypeError, match="expected a 2-D convolution layer"):
        show_filters(nn.Linear(3, 4))


def test_show_feature_maps_one_row_per_convolution():
    model = cnn()
    image = ember.randn(3, 8, 8)
    fig = show_feature_maps(model, image, max_maps=5)
    rows = [ax for ax in fig.axes if ax.get_ylabel()]
    assert [ax.get_ylabel() for ax in rows] == ["0\n(Conv2d)", "3\n(Conv2d)"]
    expected = model[0](image.unsqueeze(0)).detach().numpy()[0, 0]
    np.testing.assert_allclose(rows[0].images[0].get_array(), expected, rtol=1e-5, atol=1e-6)
    assert len([ax for ax in fig.axes if ax.images]) == 5 + 4 and model.training
    with pytest.raises(ValueError, match="no layer named \\['9'\\]"):
        show_feature_maps(model, image, layers="9")


def test_show_activations_and_gradients_one_histogram_per_layer():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = ember.randn(64, 4)
    fig = show_activations(model, x)
    titles = [ax.get_title() for ax in fig.axes if ax.patches]
    assert [t.split("\n")[0] for t in titles] == ["0 (Linear)", "1 (ReLU)", "2 (Linear)"]
    with pytest.raises(RuntimeError, match="call loss.backward\\(\\) first"):
        show_gradients(model)
    model(x).sum().backward()
    fig = show_gradients(model)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes if ax.patches] == [
        "0.weight (Linear)", "0.bias (Linear)", "2.weight (Linear)", "2.bias (Linear)"]
    assert png(fig)[:4] == b"\x89PNG"


def test_decision_boundary_colours_the_plane_by_the_models_prediction():
    model = nn.Linear(2, 2)
    with ember.no_grad():  # class 1 exactly where x1 > 0
        model.weight.copy_(ember.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        model.bias.zero_()
    X = ember.tensor([[-1.0, 0.5], [1.0, -0.5], [2.0, 1.0]])
    fig = plot_decision_boundary(model, X, ember.tensor([0, 1, 1]), resolution=50)
    ax = fig.axes[0]
    assert "100% in their region" in ax.get_title()
    flipped = plot_decision_boundary(model, X, ember.tensor([1, 0, 0]), resolution=50)
    assert "0% in their region" in flipped.axes[0].get_title()  # the labels disagree with the regions
    single = nn.Linear(2, 1)  # one logit: class 1 where it is positive
    fig = plot_decision_boundary(single, X, ember.tensor([0, 1, 1]))
    assert png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="X must have shape \\(N, 2\\)"):
        plot_decision_boundary(model, ember.randn(3, 3), ember.tensor([0, 1, 1]))
