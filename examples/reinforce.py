"""REINFORCE (Monte-Carlo policy gradient) with a learned value baseline on CartPole-v1, with ember.

    python examples/reinforce.py           # until solved, or --max-steps environment steps
    python examples/reinforce.py --smoke   # a few seconds, to check that it all runs

The policy pi(a|s) is a Categorical over the logits of a small network; each update plays
--episodes-per-update whole episodes with it, computes every step's discounted return
G_t = r_t + gamma r_{t+1} + ..., and descends -mean(log pi(a_t|s_t) (G_t - V(s_t))), where the
baseline V(s) is a second network regressed on G_t (mean squared error). The baseline leaves the
gradient's expectation unchanged and lowers its variance; the advantages are then standardised
(--no-normalize to keep their scale). Training stops once the mean return of 100 consecutive
episodes reaches the environment's threshold (475 for CartPole-v1); the reward curve is saved
to --out/reinforce_returns.png.

The default run (two episodes an update, Adam at lr 2e-3 for the policy and 5e-3 for the
baseline, seed 0) solves CartPole-v1 after 129,791 environment steps (409 episodes) in 99 s on a
shared 2-core CPU.
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
    p.add_argument("--max-steps", type=int, default=300_000, help="environment steps at most")
    p.add_argument("--episodes-per-update", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-3, help="learning rate of the policy")
    p.add_argument("--value-lr", type=float, default=5e-3, help="learning rate of the baseline")
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--hidden", type=int, default=64, help="units in each of the two hidden layers")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="use the advantages as they are, not standardised per update")
    args = p.parse_args(argv)
    if args.smoke:
        args.max_steps = 1500
    return args


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


def discounted_returns(rewards: list[float], gamma: float) -> np.ndarray:
    """G_t = r_t + gamma G_{t+1} for one whole episode (G after its last step is 0)."""
    out = np.zeros(len(rewards), np.float32)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


@ember.no_grad()
def play_episode(env, policy: nn.Module) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """One episode with actions drawn from the policy: its observations, actions and rewards."""
    obs, _ = env.reset()
    observations, actions, rewards = [], [], []
    while True:
        action = Categorical(logits=policy(ember.from_numpy(obs[None]))).sample().item()
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            return np.stack(observations), np.array(actions, np.int64), rewards


def main(argv: list[str] | None = None) -> dict:
    """Train until solved or out of steps; returns the figures of the run."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    env = make_env(args.env, args.seed)
    env.reset(seed=args.seed)  # seeds the environment's generator; later resets continue it
    threshold = solve_threshold(env, args.solve_at)
    obs_dim, n_actions = env.observation_space.shape[0], env.action_space.n
    policy, baseline = mlp(obs_dim, args.hidden, n_actions), mlp(obs_dim, args.hidden, 1)
    optimizer = ember.optim.Adam([{"params": policy.parameters(), "lr": args.lr},
                                  {"params": baseline.parameters(), "lr": args.value_lr}])
    print(policy, baseline, sep="\n")

    returns, updates = Returns(), 0
    steps, solved = 0, False
    start = time.perf_counter()
    while steps < args.max_steps and not solved:
        batch = []
        for _ in range(args.episodes_per_update):
            obs, actions, rewards = play_episode(env, policy)
            steps += len(rewards)
            returns.add(sum(rewards), steps)
            batch.append((obs, actions, discounted_returns(rewards, args.gamma)))
            if len(returns) % 20 == 0:
                print(f"step {steps:7d}  episode {len(returns):5d}  return {sum(rewards):6.1f}  "
                      f"mean of last 100 {returns.average():6.1f}  ({time.perf_counter() - start:.0f}s)", flush=True)
            solved = returns.solved(threshold)
            if solved:
                break
        if solved:
            break

        obs, actions, g = (ember.from_numpy(np.concatenate(parts)) for parts in zip(*batch))
        values = baseline(obs).squeeze(1)
        advantages = g - values.detach()
        if args.normalize and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        log_probs = Categorical(logits=policy(obs)).log_prob(actions)
        loss = policy_gradient_loss(log_probs, advantages) + F.mse_loss(values, g)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        updates += 1
    wall = time.perf_counter() - start
    env.close()

    result = finish(args, "reinforce", "REINFORCE", returns, solved, threshold, steps, wall,
                    lambda o: policy(ember.from_numpy(o[None])).argmax(1).item())
    return {**result, "updates": updates}


if __name__ == "__main__":
    main()
