import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import ember
from ember import metrics


def _streamed(metric, preds, target, chunks=(5, 17)):
    values = []
    for p, t in zip(np.split(preds, chunks), np.split(target, chunks)):
        values.append(metric(ember.tensor(p), ember.tensor(t)).numpy())
    return metric.compute().numpy(), values


@pytest.mark.parametrize("shape", [(30,), (30, 3)])
def test_regression_metrics_match_sklearn_streamed(shape):
    rng = np.random.default_rng(len(shape))
    target = rng.standard_normal(shape).astype(np.float32)
    preds = (target + 0.5 * rng.standard_normal(shape)).astype(np.float32)
    cases = [(metrics.MeanAbsoluteError(), skm.mean_absolute_error),
             (metrics.MeanSquaredError(), skm.mean_squared_error),
             (metrics.MeanSquaredError(squared=False), lambda t, p: np.sqrt(skm.mean_squared_error(t, p))),
             (metrics.R2Score(), skm.r2_score)]
    for metric, sk in cases:
        total, batches = _streamed(metric, preds, target)
        np.testing.assert_allclose(total, sk(target, preds), rtol=1e-5)
        np.testing.assert_allclose(batches[0], sk(target[:5], preds[:5]), rtol=1e-5)


def test_r2_raw_values_and_constant_target():
    rng = np.random.default_rng(2)
    target, preds = rng.standard_normal((20, 2)), rng.standard_normal((20, 2))
    got = metrics.R2Score(multioutput="raw_values")(ember.tensor(preds), ember.tensor(target))
    np.testing.assert_allclose(got.numpy(), skm.r2_score(target, preds, multioutput="raw_values"), rtol=1e-5)
    constant = np.ones(6)
    assert metrics.R2Score()(ember.tensor(constant), ember.tensor(constant)).item() == 1.0
    assert metrics.R2Score()(ember.tensor(constant * 2), ember.tensor(constant)).item() == 0.0


@pytest.mark.parametrize("ignore_index", [None, 0])
def test_perplexity_matches_exp_cross_entropy(ignore_index):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((3, 7, 11)).astype(np.float32)
    target = rng.integers(0, 11, (3, 7))
    metric = metrics.Perplexity(ignore_index=ignore_index)
    metric.update(ember.tensor(logits[:1]), ember.tensor(target[:1]))
    metric.update(ember.tensor(logits[1:]), ember.tensor(target[1:]))
    loss = torch.nn.functional.cross_entropy(
        torch.tensor(logits).reshape(-1, 11), torch.tensor(target).reshape(-1),
        ignore_index=-100 if ignore_index is None else ignore_index)
    np.testing.assert_allclose(metric.compute().numpy(), loss.exp().item(), rtol=1e-5)


def test_regression_errors():
    with pytest.raises(ValueError, match=r"same shape"):
        metrics.MeanSquaredError()(ember.zeros(3), ember.zeros(4))
    with pytest.raises(ValueError, match="at least two samples"):
        metrics.R2Score()(ember.zeros(1), ember.zeros(1))
    with pytest.raises(ValueError, match="multioutput"):
        metrics.R2Score(multioutput="variance_weighted")
    with pytest.raises(ValueError, match=r"expected logits \(\.\.\., V\)"):
        metrics.Perplexity()(ember.zeros(2, 5), ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 5\)"):
        metrics.Perplexity()(ember.zeros(2, 5), ember.tensor([0, 7]))
