"""The playground's session without a browser: data sets, model building, training, grids."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.playground import datasets
from ember.playground.session import Config, Session, build_model


@pytest.mark.parametrize("name", ["circles", "xor", "spirals", "gaussians"])
def test_classification_sets_shapes_labels_and_seeds(name):
    points, labels = datasets.generate(name, 101, 0.2, seed=3)
    assert points.shape == (101, 2) and labels.shape == (101,)
    assert points.dtype == np.float32 and labels.dtype == np.float32
    assert set(np.unique(labels)) == {-1.0, 1.0}
    again, _ = datasets.generate(name, 101, 0.2, seed=3)
    other, _ = datasets.generate(name, 101, 0.2, seed=4)
    np.testing.assert_array_equal(points, again)
    assert not np.array_equal(points, other)


def test_data_sets_have_their_shapes():
    points, labels = datasets.generate("xor", 400, 0.0, seed=0)
    np.testing.assert_array_equal(labels, np.where(points[:, 0] * points[:, 1] >= 0, 1, -1))
    assert np.abs(points).min() >= 0.3  # the margin from the axes
    points, labels = datasets.generate("circles", 400, 0.0, seed=0)
    radius = np.linalg.norm(points, axis=1)
    assert radius[labels == 1].max() <= 2.5 < 3.5 <= radius[labels == -1].min()
    points, labels = datasets.generate("gaussians", 400, 0.0, seed=0)
    np.testing.assert_allclose(points[labels == 1].mean(0), [2, 2], atol=0.3)
    np.testing.assert_allclose(points[labels == -1].mean(0), [-2, -2], atol=0.3)
    points, target = datasets.generate("plane", 50, 0.0, seed=0)
    np.testing.assert_allclose(target, points.sum(1) / 12, atol=1e-6)


def test_csv_parsing():
    points, labels = datasets.parse_csv("x1,x2,label\n1,2,0\n-1,0.5,1\n3,3,1\n0,0,0\n", regression=False)
    np.testing.assert_array_equal(points, [[1, 2], [-1, 0.5], [3, 3], [0, 0]])
    np.testing.assert_array_equal(labels, [-1, 1, 1, -1])
    _, targets = datasets.parse_csv("1,2,0.25\n-1,0.5,3\n3,3,1\n0,0,0\n", regression=True)
    np.testing.assert_array_equal(targets, [0.25, 3, 1, 0])
    with pytest.raises(ValueError, match="line 2 has 2 fields"):
        datasets.parse_csv("1,2,0\n1,2\n", regression=False)
    with pytest.raises(ValueError, match="line 3 is not three numbers"):
        datasets.parse_csv("1,2,0\n1,2,1\na,b,c\n", regression=False)
    with pytest.raises(ValueError, match="0/1 or -1/1"):
        datasets.parse_csv("1,2,0\n1,2,2\n3,3,1\n0,0,0\n", regression=False)
    with pytest.raises(ValueError, match="at least 4"):
        datasets.parse_csv("1,2,0\n", regression=False)


def test_model_from_config():
    model = build_model(Config(hidden=[3, 5], activation="relu"))
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)] == [(2, 3), (3, 5), (5, 1)]
    assert [type(m) for m in build_model(Config(hidden=[], activation="linear"))] == [nn.Linear]
    assert type(list(build_model(Config(hidden=[2], activation="linear")))[1]) is nn.Identity


def test_regularization_adds_the_weight_penalty():
    session = Session(Config(dataset="xor", hidden=[3], regularization="l2", reg_rate=0.1))
    weights = [m.weight for m in session.model if isinstance(m, nn.Linear)]
    expected = 0.1 * sum(float((w * w).sum()) for w in weights) / 2
    assert float(session.penalty()) == pytest.approx(expected, rel=1e-5)
    batch = np.arange(10)
    with ember.no_grad():
        data = float(session.data_loss(session.model(session.train_x[ember.from_numpy(batch)]), session.train_y[batch]))
        assert float(session.batch_loss(batch)) == pytest.approx(data + expected, rel=1e-5)
    l1 = Session(Config(dataset="xor", hidden=[3], regularization="l1", reg_rate=0.01))
    l1_weights = [m.weight for m in l1.model if isinstance(m, nn.Linear)]
    assert float(l1.penalty()) == pytest.approx(0.01 * sum(float(w.abs().sum()) for w in l1_weights), rel=1e-5)
    assert Session(Config(dataset="xor", regularization="l2", reg_rate=0)).penalty() is None


def test_training_learns_xor():
    session = Session(Config(dataset="xor", hidden=[4, 4], activation="tanh", optimizer="adam", lr=0.03, seed=0))
    start = session.history[-1]["train"]
    for _ in range(60):  # epochs
        session.step(session.steps_per_epoch())
        if session.history[-1]["train"] < 0.1:
            break
    assert session.history[-1]["train"] < 0.1 < start
    assert session.epoch == len(session.history) - 1 and session.steps == session.epoch * session.steps_per_epoch()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_every_optimizer_and_loss_lowers_the_loss(optimizer, loss):
    session = Session(Config(dataset="gaussians", hidden=[3], optimizer=optimizer, loss=loss, lr=0.01))
    before = session.history[-1]["train"]
    session.step(3 * session.steps_per_epoch())
    assert session.history[-1]["train"] < before


def test_split_and_epochs():
    session = Session(Config(points=100, val_fraction=0.3, batch_size=7))
    assert len(session.train_y) == 70 and len(session.val_y) == 30
    assert session.steps_per_epoch() == 10
    session.step(9)
    assert session.epoch == 0
    session.step(1)
    assert session.epoch == 1 and session.steps == 10
    assert Session(Config(val_fraction=0)).losses()[1] is None


def test_grid_outputs():
    session = Session(Config(hidden=[3, 5], activation="tanh"), grid=12)
    maps = session.neuron_outputs()
    assert [m.shape for m in maps] == [(2, 12, 12), (3, 12, 12), (5, 12, 12), (1, 12, 12)]
    # The first map is x1 (rising left to right), the second x2 (rising bottom to top).
    assert np.all(np.diff(maps[0][0], axis=1) > 0) and np.all(np.diff(maps[0][1], axis=0) < 0)
    assert np.abs(maps[1]).max() <= 1  # after tanh
    # The output map is the prediction: 2 * sigmoid(logit) - 1 at every grid point.
    with ember.no_grad():
        logits = session.model(ember.from_numpy(session.grid_points(12))).numpy().reshape(12, 12)
    np.testing.assert_allclose(maps[-1][0], 2 / (1 + np.exp(-logits)) - 1, atol=1e-6)
    state = session.state(neuron_grid=6)
    assert np.shape(state["boundary"]) == (12, 12)
    assert [np.shape(layer) for layer in state["neurons"]] == [(2, 6, 6), (3, 6, 6), (5, 6, 6), (1, 6, 6)]
    assert [np.shape(w["weight"]) for w in state["weights"]] == [(3, 2), (5, 3), (1, 5)]


@pytest.mark.parametrize("values, message", [
    ({"hidden": [4] * 7}, "0 to 6 layer sizes"),
    ({"hidden": [9]}, "1 to 8 neurons"),
    ({"hidden": [0]}, "1 to 8 neurons"),
    ({"activation": "gelu"}, "activation must be one of"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"lr": -1}, r"lr must be a number in"),
    ({"batch_size": 0}, "batch_size must be a number in"),
    ({"batch_size": 2.5}, "batch_size must be a number in"),
    ({"val_fraction": 0.95}, "val_fraction must be a number"),
    ({"dataset": "moons"}, "dataset must be one of"),
    ({"dataset": "plane"}, "choose loss 'mse'"),
    ({"dataset": "csv"}, "needs the file's text"),
    ({"layers": 3}, r"unknown setting\(s\) \['layers'\]"),
])
def test_bad_configs_are_refused_with_the_setting_named(values, message):
    with pytest.raises(ValueError, match=message):
        Config.from_dict(values)


def test_hidden_maps_are_the_layers_outputs():
    session = Session(Config(hidden=[3, 2], activation="sigmoid"), grid=8)
    first, second, _ = [m for m in session.model if isinstance(m, nn.Linear)]
    x = session.grid_points(8).astype(np.float64)
    h1 = 1 / (1 + np.exp(-(x @ first.weight.detach().numpy().T + first.bias.detach().numpy())))
    h2 = 1 / (1 + np.exp(-(h1 @ second.weight.detach().numpy().T + second.bias.detach().numpy())))
    maps = session.neuron_outputs()
    np.testing.assert_allclose(maps[1], h1.T.reshape(3, 8, 8), atol=1e-6)
    np.testing.assert_allclose(maps[2], h2.T.reshape(2, 8, 8), atol=1e-6)


def test_seed_fixes_the_weights_and_leaves_the_global_rng_alone():
    ember.manual_seed(123)
    expected = ember.rand(3)
    ember.manual_seed(123)
    a = Session(Config(seed=5))
    after = ember.rand(3)
    b = Session(Config(seed=5))
    c = Session(Config(seed=6))
    assert ember.equal(after, expected)
    first = [list(m.parameters())[0] for m in (a.model[0], b.model[0], c.model[0])]
    assert ember.equal(first[0], first[1]) and not ember.equal(first[0], first[2])


def test_history_is_thinned_keeping_its_ends():
    session = Session(Config(points=20, batch_size=20, val_fraction=0))
    for _ in range(1203):
        session.step(1)
    steps = [point["step"] for point in session.history]
    assert len(steps) <= 500 and steps[0] == 0 and steps[-1] == 1203 and steps == sorted(steps)
