"""Advantage actor-critic (A2C) on CartPole-v1 with ember: parallel environments, GAE, entropy bonus.

    python examples/actor_critic.py          # until solved, or --max-steps environment steps
    python examples/actor_critic.py --smoke  # a few seconds, to check that it all runs

--num-envs copies of the environment step together (each restarts when its episode ends), the
actor drawing their actions from a Categorical over its logits. Every --n-steps steps, the
(n_steps x num_envs) transitions make one update: the critic's V(s) gives generalised
advantage estimates A_t = sum_k (gamma lambda)^k delta_{t+k}, delta_t = r_t + gamma V(s_{t+1}) - V(s_t)
(--gae-lambda 1: the n-step return, bootstrapped from V at the end of the rollout, minus V(s_t));
the loss is -mean(log pi(a_t|s_t) A_t) + --value-coef * mean((V(s_t) - (A_t + V(s_t)))^2)
- --entropy-coef * mean entropy, the entropy term keeping the policy from turning deterministic
too early. Training stops once the mean return of 100 consecutive episodes reaches the
environment's threshold (475 for CartPole-v1); the reward curve is saved to
--out/actor_critic_returns.png.

The default run (8 copies, 32-step rollouts, GAE lambda 0.95, Adam at lr 1e-3, seed 0) solves
CartPole-v1 after 272,400 environment steps (1,296 episodes) in 51 s on a shared 2-core CPU;
the mean return climbs unevenly (about 180 at 110k steps, 320 at 160k).
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the matrices are tiny: BLAS threads only add waiting
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from ember import nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.distributions import Categorical  # noqa: E402

from rl_common import Returns, finish, make_env, parser, policy_gradient_loss, solve_threshold  # noqa: E402


def parse_args(argv: list[str] | None = None):
    p = parser(__doc__)
    p.add_argument("--max-steps", type=int, default=300_000, help="environment steps at most (all copies together)")
    p.add_argument("--num-envs", type=int, default=8, help="copies of the environment stepping together")
    p.add_argument("--n-steps", type=int, default=32, help="steps of each copy per update")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--gae-lambda", type=float, default=0.95, help="1: n-step returns")
    p.add_argument("--value-coef", type=float, default=0.5)
    p.add_argument("--entropy-coef", type=float, default=0.01)
    p.add_argument("--grad-clip", type=float, default=0.5)
    p.add_argument("--hidden", type=int, default=64, help="units in each of the two hidden layers")
    args = p.parse_args(argv)
    if args.smoke:
        args.max_steps = 2000
    return args


class ActorCritic(nn.Module):
    """Observations (B, obs_dim) -> action logits (B, n_actions) and values V(s) (B,), from two
    separate networks (a shared trunk lets the critic's larger gradients disturb the actor)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                   nn.Linear(hidden, n_actions))
        self.critic = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                    nn.Linear(hidden, 1))

    def forward(self, obs):
        return self.actor(obs), self.critic(obs).squeeze(-1)


def gae(rewards, values, next_values, terminated, dones, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates for (T, N) arrays of a rollout. ``next_values`` is V of the
    state each step led to (of the final observation where an episode ended); ``terminated``
    zeroes it (no future past a terminal state; a time-limit truncation keeps it), and ``dones``
    (terminated or truncated) stops the sum at an episode's end."""
    advantages = np.zeros_like(rewards, dtype=np.float32)
    running = np.zeros(rewards.shape[1], np.float32)
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_values[t] * (1.0 - terminated[t]) - values[t]
        running = delta + gamma * lam * (1.0 - dones[t]) * running
        advantages[t] = running
    return advantages


def main(argv: list[str] | None = None) -> dict:
    """Train until solved or out of steps; returns the figures of the run."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    envs = [make_env(args.env, args.seed + i) for i in range(args.num_envs)]
    obs = np.stack([env.reset(seed=args.seed + i)[0] for i, env in enumerate(envs)])  # (N, obs_dim)
    threshold = solve_threshold(envs[0], args.solve_at)
    model = ActorCritic(obs.shape[1], envs[0].action_space.n, args.hidden)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    print(model)

    T, N = args.n_steps, args.num_envs
    returns, running_return = Returns(), np.zeros(N)
    steps, updates, solved = 0, 0, False
    start = time.perf_counter()
    while steps < args.max_steps and not solved:
        # the rollout: T steps of every copy, actions drawn from the current policy
        ob_buf = np.zeros((T, *obs.shape), np.float32)
        next_ob_buf = np.zeros_like(ob_buf)  # the state each step led to (the final one where an episode ended)
        act_buf = np.zeros((T, N), np.int64)
        rew_buf, term_buf, done_buf = (np.zeros((T, N), np.float32) for _ in range(3))
        for t in range(T):
            with ember.no_grad():
                logits, _ = model(ember.from_numpy(obs))
                actions = Categorical(logits=logits).sample().numpy()
            ob_buf[t], act_buf[t] = obs, actions
            for i, env in enumerate(envs):
                next_obs, reward, terminated, truncated, _ = env.step(int(actions[i]))
                next_ob_buf[t, i], rew_buf[t, i] = next_obs, reward
                term_buf[t, i], done_buf[t, i] = terminated, terminated or truncated
                running_return[i] += reward
                if terminated or truncated:
                    returns.add(running_return[i], steps + i + 1)
                    running_return[i] = 0.0
                    next_obs, _ = env.reset()
                    if len(returns) % 50 == 0:
                        print(f"step {steps + i + 1:7d}  episode {len(returns):5d}  mean of last 100 "
                              f"{returns.average():6.1f}  ({time.perf_counter() - start:.0f}s)", flush=True)
                    solved = solved or returns.solved(threshold)
                obs[i] = next_obs
            steps += N
            if solved:
                break
        if solved:
            break

        # the update: advantages from the critic's values, then one gradient step on all T * N transitions
        flat = ember.from_numpy(ob_buf.reshape(T * N, -1))
        with ember.no_grad():
            next_values = model(ember.from_numpy(next_ob_buf.reshape(T * N, -1)))[1].numpy().reshape(T, N)
        logits, values = model(flat)
        advantages = gae(rew_buf, values.detach().numpy().reshape(T, N), next_values, term_buf, done_buf,
                         args.gamma, args.gae_lambda)
        targets = ember.from_numpy((advantages.reshape(-1) + values.detach().numpy()).astype(np.float32))
        dist = Categorical(logits=logits)
        entropy = dist.entropy().mean()
        loss = (policy_gradient_loss(dist.log_prob(ember.from_numpy(act_buf.reshape(-1))),
                                     ember.from_numpy(advantages.reshape(-1)))
                + args.value_coef * F.mse_loss(values, targets) - args.entropy_coef * entropy)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        updates += 1
    wall = time.perf_counter() - start
    for env in envs:
        env.close()

    result = finish(args, "actor_critic", "A2C", returns, solved, threshold, steps, wall,
                    lambda o: model(ember.from_numpy(o[None]))[0].argmax(1).item())
    return {**result, "updates": updates}


if __name__ == "__main__":
    main()
