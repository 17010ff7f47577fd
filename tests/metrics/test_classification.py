import numpy as np
import pytest
from sklearn import metrics as skm

import ember
from ember import metrics


def _data(seed, n=40, c=5):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)).astype(np.float32)
    target = rng.integers(0, c, n)
    return logits, target


def _streamed(metric, logits, target, chunks=(7, 20, 33)):
    for part_logits, part_target in zip(np.split(logits, chunks), np.split(target, chunks)):
        metric.update(ember.tensor(part_logits), ember.tensor(part_target))
    return metric.compute().numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_matches_sklearn_streamed_and_one_shot(seed):
    logits, target = _data(seed)
    expected = skm.accuracy_score(target, logits.argmax(1))
    np.testing.assert_allclose(_streamed(metrics.Accuracy(), logits, target), expected, rtol=1e-6)
    one_shot = metrics.Accuracy()
    one_shot.update(ember.tensor(logits), ember.tensor(target))
    np.testing.assert_allclose(one_shot.compute().numpy(), expected, rtol=1e-6)
    labels = metrics.Accuracy()(ember.tensor(logits.argmax(1)), ember.tensor(target))
    np.testing.assert_allclose(labels.numpy(), expected, rtol=1e-6)


def test_accuracy_binary_probabilities_and_ignore_index():
    rng = np.random.default_rng(3)
    probs, target = rng.random(30).astype(np.float32), rng.integers(0, 2, 30)
    expected = skm.accuracy_score(target, probs >= 0.5)
    np.testing.assert_allclose(metrics.Accuracy()(ember.tensor(probs), ember.tensor(target)).numpy(),
                               expected, rtol=1e-6)
    logits, target = _data(4)
    target[:10] = -100
    keep = target != -100
    expected = skm.accuracy_score(target[keep], logits.argmax(1)[keep])
    got = metrics.Accuracy(ignore_index=-100)(ember.tensor(logits), ember.tensor(target))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_sklearn(k):
    logits, target = _data(k, n=50, c=6)
    expected = skm.top_k_accuracy_score(target, logits, k=k, labels=np.arange(6))
    np.testing.assert_allclose(_streamed(metrics.TopKAccuracy(k), logits, target), expected, rtol=1e-6)
    np.testing.assert_allclose(_streamed(metrics.Accuracy(top_k=k), logits, target), expected, rtol=1e-6)


def test_accuracy_over_extra_dims_and_call_returns_batch_value():
    rng = np.random.default_rng(5)
    logits, target = rng.standard_normal((4, 3, 6)).astype(np.float32), rng.integers(0, 3, (4, 6))
    metric = metrics.Accuracy()
    first = metric(ember.tensor(logits[:2]), ember.tensor(target[:2]))
    second = metric(ember.tensor(logits[2:]), ember.tensor(target[2:]))
    pred = logits.argmax(1)
    np.testing.assert_allclose(first.numpy(), (pred[:2] == target[:2]).mean(), rtol=1e-6)
    np.testing.assert_allclose(second.numpy(), (pred[2:] == target[2:]).mean(), rtol=1e-6)
    np.testing.assert_allclose(metric.compute().numpy(), (pred == target).mean(), rtol=1e-6)
    metric.reset()
    assert metric.compute().item() == 0.0


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
@pytest.mark.parametrize("cls,sk", [(metrics.Precision, skm.precision_score),
                                    (metrics.Recall, skm.recall_score),
                                    (metrics.F1Score, skm.f1_score)])
def test_precision_recall_f1_match_sklearn(cls, sk, average):
    logits, target = _data(7, n=60, c=4)
    logits[:, 3] -= 10  # class 3 is never predicted: exercises the zero-division rule
    expected = sk(target, logits.argmax(1), labels=np.arange(4), average=average, zero_division=0)
    got = _streamed(cls(num_classes=4, average=average), logits, target)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_matches_sklearn(normalize):
    logits, target = _data(8, n=45, c=4)
    logits[:, 2] -= 10
    expected = skm.confusion_matrix(target, logits.argmax(1), labels=np.arange(4), normalize=normalize)
    got = _streamed(metrics.ConfusionMatrix(4, normalize=normalize), logits, target)
    np.testing.assert_allclose(got, np.nan_to_num(expected), rtol=1e-6, atol=1e-7)
    if normalize is None:
        assert got.dtype == np.int64


def test_confusion_matrix_plot_writes_png(tmp_path):
    logits, target = _data(9)
    metric = metrics.ConfusionMatrix(5)
    metric.update(ember.tensor(logits), ember.tensor(target))
    path = metric.plot(str(tmp_path / "sub" / "cm.png"), class_names=list("abcde"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["cm.png"]  # no temp file left


def test_metrics_accept_arrays_lists_and_tensors_with_grad():
    logits = ember.randn(8, 3, requires_grad=True)
    target = ember.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    expected = (logits.detach().numpy().argmax(1) == target.numpy()).mean()
    np.testing.assert_allclose(metrics.Accuracy()(logits, target).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(metrics.Accuracy()(np.eye(3)[[0, 1, 1]], [0, 1, 2]).numpy(), 2 / 3, rtol=1e-6)


def test_classification_errors():
    with pytest.raises(ValueError, match="top_k"):
        metrics.Accuracy(top_k=0)
    with pytest.raises(ValueError, match="top_k=2 needs scores"):
        metrics.Accuracy(top_k=2)(ember.tensor([0, 1]), ember.tensor([0, 1]))
    with pytest.raises(ValueError, match="exceeds the 3 classes"):
        metrics.Accuracy(top_k=4)(ember.randn(2, 3), ember.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"do not match target of shape \(3,\)"):
        metrics.Accuracy()(ember.randn(2, 4), ember.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class labels"):
        metrics.Accuracy()(ember.randn(2, 4), ember.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 3\)"):
        metrics.ConfusionMatrix(3)(ember.tensor([0, 1]), ember.tensor([0, 5]))
    with pytest.raises(ValueError, match="normalize must be one of"):
        metrics.ConfusionMatrix(3, normalize="rows")
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.F1Score(3, average="samples")
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        metrics.Precision(0)
