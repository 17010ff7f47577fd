"""The reinforcement-learning examples (examples/dqn.py, reinforce.py, actor_critic.py): each
--smoke run trains end to end and saves its reward curve; the pieces they are built of (replay
buffer, epsilon schedule, returns, advantages, policy-gradient loss) match hand computations."""
import math
import os
import sys

import numpy as np
import pytest

import ember
from example_modules import EXAMPLES, assert_png, load_example

pytest.importorskip("gymnasium")


def assert_sane_returns(result):
    returns = result["returns"]
    assert len(returns) == result["episodes"] > 0
    assert all(math.isfinite(r) and 1 <= r <= 500 for r in returns), returns  # CartPole: +1 a step, at most 500
    assert not result["solved"] and math.isfinite(result["best_average"])


def test_dqn_smoke_fills_its_buffer_and_learns_from_it(tmp_path):
    result = load_example("dqn").main(["--smoke", "--out", str(tmp_path)])
    # every step is stored; a gradient step each step from --learning-starts (200) to the last (600)
    assert result["steps"] == 600 and result["buffer_size"] == 600
    assert result["gradient_steps"] == 401 == len(result["losses"])
    assert all(math.isfinite(x) and x >= 0 for x in result["losses"])
    assert sum(result["returns"]) <= 600  # episodes that ended, within the steps taken
    assert_sane_returns(result)
    assert_png(result["png"])
    assert os.path.basename(result["png"]) == "dqn_returns.png"


def test_reinforce_smoke(tmp_path):
    result = load_example("reinforce").main(["--smoke", "--out", str(tmp_path), "--seed", "1"])
    assert result["updates"] == result["episodes"] // 2 and result["steps"] >= 1500
    assert result["steps"] == sum(result["returns"])  # whole episodes, +1 a step
    assert_sane_returns(result)
    assert_png(tmp_path / "reinforce_returns.png")


def test_actor_critic_smoke(tmp_path):
    result = load_example("actor_critic").main(["--smoke", "--out", str(tmp_path), "--num-envs", "4",
                                                "--n-steps", "8"])
    assert result["steps"] == 2016 and result["updates"] == 2016 // 32  # 63 rollouts of 8 steps of 4 copies
    assert sum(result["returns"]) <= result["steps"]
    assert_sane_returns(result)
    assert_png(tmp_path / "actor_critic_returns.png")


def test_replay_buffer_samples_what_was_pushed_and_overwrites_the_oldest():
    dqn = load_example("dqn")
    buffer = dqn.ReplayBuffer(capacity=5, obs_dim=2)
    for i in range(7):  # transitions 0 and 1 are overwritten by 5 and 6
        buffer.push(np.array([i, -i], np.float32), i % 2, float(i), np.array([i + 1, -i], np.float32), i == 6)
    assert len(buffer) == 5
    batch = buffer.sample(200, np.random.default_rng(0))
    obs, actions, rewards = batch["obs"].numpy(), batch["actions"].numpy(), batch["rewards"].numpy()
    assert set(rewards.tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    i = rewards.astype(int)  # each row is one transition, its fields from the same push
    np.testing.assert_array_equal(obs, np.stack([i, -i], 1))
    np.testing.assert_array_equal(batch["next_obs"].numpy(), np.stack([i + 1, -i], 1))
    np.testing.assert_array_equal(actions, i % 2)
    np.testing.assert_array_equal(batch["terminated"].numpy(), (i == 6).astype(np.float32))
    assert batch["actions"].dtype == ember.int64 and batch["obs"].dtype == ember.float32


def test_epsilon_schedule_endpoints():
    eps = load_example("dqn").epsilon_at
    assert eps(0, 1.0, 0.05, 1000) == 1.0
    assert eps(500, 1.0, 0.05, 1000) == pytest.approx(0.525)
    assert eps(1000, 1.0, 0.05, 1000) == pytest.approx(0.05) == eps(10_000, 1.0, 0.05, 1000)


def test_target_update_hard_and_polyak():
    dqn = load_example("dqn")
    q, target = dqn.QNetwork(3, 2, 4), dqn.QNetwork(3, 2, 4)
    before = [p.detach().clone() for p in target.parameters()]
    dqn.update_target(target, q, 0.25)
    for t, b, p in zip(target.parameters(), before, q.parameters()):
        np.testing.assert_allclose(t.detach().numpy(), 0.75 * b.numpy() + 0.25 * p.detach().numpy(), rtol=1e-6)
    dqn.update_target(target, q, 1.0)
    for t, p in zip(target.parameters(), q.parameters()):
        np.testing.assert_array_equal(t.detach().numpy(), p.detach().numpy())


def test_td_loss_bootstraps_except_after_a_terminal_state():
    dqn = load_example("dqn")
    q = dqn.QNetwork(2, 2, 8)
    batch = {"obs": ember.tensor([[0.1, 0.2], [0.3, -0.4]]), "actions": ember.tensor([1, 0]),
             "rewards": ember.tensor([1.0, 1.0]), "next_obs": ember.tensor([[0.5, 0.5], [-1.0, 0.0]]),
             "terminated": ember.tensor([0.0, 1.0])}
    with ember.no_grad():
        q_sa = q(batch["obs"]).numpy()[[0, 1], [1, 0]]
        target = np.array([1.0 + 0.9 * q(batch["next_obs"]).numpy()[0].max(), 1.0])
    diff = np.abs(q_sa - target)
    huber = np.where(diff < 1, 0.5 * diff ** 2, diff - 0.5).mean()
    assert dqn.td_loss(q, q, batch, 0.9).item() == pytest.approx(huber, rel=1e-5)
    # double DQN: the target network values the action the Q-network picks (here not its own max)
    target_net = dqn.QNetwork(2, 2, 8)
    with ember.no_grad():
        choice = int(q(batch["next_obs"]).numpy()[0].argmax())
        target_net.net[-1].bias[1 - choice] += 10.0  # the target network's own max is the other action
        target_q = target_net(batch["next_obs"]).numpy()[0]
    assert target_q.argmax() != choice
    diff = np.abs(q_sa - np.array([1.0 + 0.9 * target_q[choice], 1.0]))
    huber = np.where(diff < 1, 0.5 * diff ** 2, diff - 0.5).mean()
    assert dqn.td_loss(q, target_net, batch, 0.9, double=True).item() == pytest.approx(huber, rel=1e-5)


def test_discounted_returns_by_hand():
    returns = load_example("reinforce").discounted_returns([1.0, 0.0, 2.0], 0.5)
    np.testing.assert_allclose(returns, [1 + 0.5 * 0 + 0.25 * 2, 0 + 0.5 * 2, 2])


def test_gae_by_hand_and_n_step_returns_at_lambda_one():
    ac = load_example("actor_critic")
    gamma, lam = 0.9, 0.5
    # one copy, three steps: the episode is truncated after step 0 (bootstrapped from the final
    # state's value 4, the sum stops), continues, and terminates after step 2 (nothing bootstrapped)
    r = np.array([[1.0], [2.0], [3.0]], np.float32)
    v = np.array([[0.5], [1.0], [2.0]], np.float32)
    next_v = np.array([[4.0], [2.0], [7.0]], np.float32)
    term = np.array([[0.0], [0.0], [1.0]], np.float32)
    done = np.array([[1.0], [0.0], [1.0]], np.float32)
    a = ac.gae(r, v, next_v, term, done, gamma, lam)
    d0, d1, d2 = 1 + 0.9 * 4 - 0.5, 2 + 0.9 * 2 - 1.0, 3 - 2.0
    np.testing.assert_allclose(a[:, 0], [d0, d1 + gamma * lam * d2, d2], rtol=1e-6)
    # lambda 1, no episode end: A_t + V(s_t) is the n-step return bootstrapped from the last next value
    r, v = np.array([[1.0], [2.0]], np.float32), np.array([[0.3], [0.7]], np.float32)
    next_v, zeros = np.array([[0.7], [5.0]], np.float32), np.zeros((2, 1), np.float32)
    a = ac.gae(r, v, next_v, zeros, zeros, gamma, 1.0)
    np.testing.assert_allclose((a + v)[:, 0], [1 + 0.9 * 2 + 0.81 * 5, 2 + 0.9 * 5], rtol=1e-6)


@pytest.mark.parametrize("advantage,sign", [(2.0, -1), (-2.0, 1)])
def test_policy_gradient_loss_raises_the_probability_of_advantaged_actions(advantage, sign):
    sys.path.insert(0, EXAMPLES)
    from rl_common import policy_gradient_loss
    from ember.distributions import Categorical
    logits = ember.zeros(1, 3, requires_grad=True)
    action = ember.tensor([1])
    policy_gradient_loss(Categorical(logits=logits).log_prob(action), ember.tensor([advantage])).backward()
    # d(-A log softmax_1)/dz = -A (onehot_1 - softmax): for A > 0, the taken action's logit goes up
    # (negative gradient) and the others down, each by A/3
    np.testing.assert_allclose(logits.grad.numpy()[0],
                               sign * abs(advantage) * np.array([-1 / 3, 2 / 3, -1 / 3]), rtol=1e-6)
    assert np.sign(logits.grad.numpy()[0, 1]) == sign


def test_moving_average_and_best_window():
    sys.path.insert(0, EXAMPLES)
    from rl_common import WINDOW, Returns
    r = Returns()
    for i in range(WINDOW + 20):
        r.add(float(i), i)
    ma = r.moving_average()
    assert ma[0] == 0.0 and ma[3] == pytest.approx(1.5)  # fewer than WINDOW: the mean of those there
    assert ma[-1] == pytest.approx(np.mean(np.arange(20, WINDOW + 20)))
    assert r.best_average() == ma[-1] and r.solved(ma[-1]) and not r.solved(ma[-1] + 1)


def test_missing_gymnasium_names_the_extra(monkeypatch):
    sys.path.insert(0, EXAMPLES)
    from rl_common import make_env
    for name in [m for m in sys.modules if m == "gymnasium" or m.startswith("gymnasium.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(ModuleNotFoundError, match=r"The RL examples needs gymnasium, .* pip install 'ember\[rl\]'"):
        make_env("CartPole-v1")


@pytest.mark.parametrize("script,env", [("actor_critic", "Acrobot-v1"), ("dqn", "LunarLander-v3"),
                                        ("reinforce", "Acrobot-v1")])
def test_other_gymnasium_environments_train(script, env, tmp_path):
    """--env takes any gymnasium environment with discrete actions and a vector observation:
    the networks size themselves from its spaces, and "solved" is its registered threshold."""
    if env.startswith("LunarLander"):
        pytest.importorskip("Box2D")
    result = load_example(script).main(["--smoke", "--env", env, "--out", str(tmp_path)])
    assert result["steps"] > 0 and all(math.isfinite(r) for r in result["returns"])
    assert not result["solved"]
    assert_png(tmp_path / f"{script}_returns.png")
