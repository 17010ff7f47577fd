"""Tutorial-style scripts run unchanged on ember and on PyTorch: same weights and data in,
same per-step losses out (where nothing is sampled), and every script learns."""
import numpy as np
import pytest
import torch

import ember
import script_basics
import script_generative
import script_rl_func_amp
import script_sequence
import script_techniques
from compat_harness import assert_decreases, assert_same_losses

# (script, steps, rtol against PyTorch): float16 autocast rounds per op, hence its looser rtol.
DETERMINISTIC = [
    (script_basics.tensors_autograd, 6, 1e-4),
    (script_basics.mlp_dataloader, 4, 1e-4),
    (script_basics.cnn, 5, 1e-4),
    (script_basics.lbfgs_regression, 4, 1e-3),
    (script_generative.dcgan, 5, 1e-4),
    (script_generative.vae, 5, 1e-4),
    (script_sequence.word_lstm_lm, 3, 1e-4),
    (script_sequence.rnn_names, 6, 1e-4),
    (script_sequence.seq2seq_attention, 5, 1e-4),
    (script_techniques.transfer_learning, 5, 1e-4),
    (script_techniques.fgsm, 5, 1e-4),
    (script_techniques.distillation, 5, 1e-4),
    (script_techniques.compiled_cnn, 6, 1e-4),
    (script_rl_func_amp.per_sample_grads, 5, 1e-4),
    (script_rl_func_amp.autocast_grad_scaler, 6, 2e-3),
]


@pytest.fixture(autouse=True)
def _keep_torch_validation():
    """PyTorch's torch.compile turns its distributions' argument validation off for the
    whole process; later tests compare error checks with it, so put it back."""
    before = torch.distributions.Distribution._validate_args
    yield
    torch.distributions.Distribution.set_default_validate_args(before)


@pytest.mark.parametrize("script,steps,rtol", DETERMINISTIC, ids=lambda v: getattr(v, "__name__", None))
def test_script_matches_pytorch(script, steps, rtol):
    ours = script(ember, steps)
    theirs = script(torch, steps)
    assert len(ours["losses"]) == len(theirs["losses"])
    assert_decreases(ours["losses"])
    assert_same_losses(ours["losses"], theirs["losses"], rtol=rtol)
    # Every other result (shapes, flags, small arrays) agrees too.
    for key in ours.keys() - {"losses"}:
        a, b = ours[key], theirs[key]
        if isinstance(a, float) or isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5, err_msg=key)
        elif isinstance(a, list) and a and isinstance(a[0], float):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5, err_msg=key)
        elif key != "frozen_grads":
            assert a == b, key


def test_tensors_autograd_values():
    out = script_basics.tensors_autograd(ember, 60)
    np.testing.assert_allclose(out["a_grad"], [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(out["w"].ravel(), [2.0, -3.0, 0.5], atol=0.05)


def test_mlp_and_cnn_shapes():
    mlp = script_basics.mlp_dataloader(ember, 6)
    assert mlp["shapes"] == {(16, 3)}
    assert mlp["accuracy"] > 0.8
    cnn = script_basics.cnn(ember, 1)
    assert cnn["logits_shape"] == (32, 2) and cnn["feature_shape"] == (2, 8, 2, 2)


def test_sequence_shapes():
    lm = script_sequence.word_lstm_lm(ember, 1)
    assert lm["output_shape"][1:] == (4, 11) and lm["hidden_shape"] == (2, 4, 24)
    names = script_sequence.rnn_names(ember, 1)
    assert names["output_shape"] == (30, 3) and names["padded_shape"] == (6, 30, 15)
    s2s = script_sequence.seq2seq_attention(ember, 1)
    assert s2s["output_shape"] == (16, 5, 7) and s2s["attention_shape"] == (16, 5, 5)
    np.testing.assert_allclose(s2s["attention_sums"], 1.0, rtol=1e-5)


def test_transfer_learning_trains_only_the_head():
    out = script_techniques.transfer_learning(ember, 3)
    assert out["frozen_unchanged"]
    assert out["frozen_grads"] == [None] * 4
    assert out["trainable"] == 32 * 2 + 2


def test_fgsm_raises_the_loss():
    out = script_techniques.fgsm(ember, 5)
    assert out["adv_loss"] > out["clean_loss"]
    assert out["max_perturbation"] == pytest.approx(0.1, rel=1e-5)


def test_per_sample_grads_equal_a_loop_of_backwards():
    out = script_rl_func_amp.per_sample_grads(ember, 1)
    assert out["loop_error"] < 1e-6
    assert out["grad_shapes"] == {"0.weight": (16, 8, 5), "0.bias": (16, 8),
                                  "2.weight": (16, 2, 8), "2.bias": (16, 2)}


def test_autocast_runs_in_float16_with_float32_weights():
    out = script_rl_func_amp.autocast_grad_scaler(ember, 2)
    assert out["autocast_dtypes"] == {"float16"} and out["param_dtype"] == "float32"
    assert out["scale"] == 1024.0


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_reinforce_learns(lib):
    # Actions are sampled with each library's own generator: compare trends, not values.
    out = script_rl_func_amp.reinforce(lib, 12)
    rewards = out["rewards"]
    assert out["action_shape"] == (64,)
    assert np.mean(rewards[-3:]) > np.mean(rewards[:3]) + 0.2, rewards
