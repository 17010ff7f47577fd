"""What the reinforcement-learning examples share: the command line, the environment, the record
of episode returns (and when it counts as solved), the reward curve and the GIF of a rollout."""
from __future__ import annotations

import argparse
import os

import numpy as np

import ember
from ember._optional import require

WINDOW = 100  # "solved" is judged on the mean return of this many consecutive episodes


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every RL example takes; each script adds its own hyperparameters."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(doc.splitlines()[1:]))
    p.add_argument("--env", default="CartPole-v1", help="a gymnasium environment with discrete actions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs", help="folder for the reward curve")
    p.add_argument("--smoke", action="store_true", help="a few seconds of training, to check that it all runs")
    p.add_argument("--solve-at", type=float, default=None,
                   help=f"stop when the mean return of {WINDOW} consecutive episodes reaches this "
                        "(default: the environment's reward threshold, 475 for CartPole-v1)")
    p.add_argument("--record", default=None, metavar="PATH.gif",
                   help="after training, save a GIF of one episode played by the agent (needs Pillow and pygame)")
    return p


def make_env(name: str, seed: int | None = None, render_mode: str | None = None):
    """A gymnasium environment; with ``seed``, its actions space is seeded too (its first reset
    takes the seed)."""
    gym = require("gymnasium", "The RL examples")
    env = gym.make(name, render_mode=render_mode)
    if seed is not None:
        env.action_space.seed(seed)
    return env


def solve_threshold(env, given: float | None) -> float:
    """``given``, or the return the environment's registration calls solved."""
    if given is not None:
        return given
    if env.spec is None or env.spec.reward_threshold is None:
        raise ValueError(f"{env.spec.id if env.spec else env} has no reward threshold: pass --solve-at")
    return float(env.spec.reward_threshold)


class Returns:
    """The return of every finished episode, with the environment step it ended at, and the
    mean over the last ``WINDOW`` of them."""

    def __init__(self):
        self.returns: list[float] = []
        self.steps: list[int] = []

    def add(self, episode_return: float, step: int) -> None:
        self.returns.append(float(episode_return))
        self.steps.append(step)

    def __len__(self) -> int:
        return len(self.returns)

    def moving_average(self) -> list[float]:
        """Mean of the last ``WINDOW`` returns at each episode (of all of them before the ``WINDOW``-th)."""
        r = np.asarray(self.returns, dtype=np.float64)
        sums = np.cumsum(r)
        lagged = np.concatenate([np.zeros(WINDOW), sums])[: len(r)]  # sum of the returns that left the window
        return ((sums - lagged) / np.minimum(np.arange(1, len(r) + 1), WINDOW)).tolist()

    def average(self) -> float:
        """The mean of the last ``WINDOW`` returns (nan before the first episode ends)."""
        return float(np.mean(self.returns[-WINDOW:])) if self.returns else float("nan")

    def solved(self, threshold: float) -> bool:
        return len(self.returns) >= WINDOW and self.average() >= threshold

    def best_average(self) -> float:
        """The best mean over ``WINDOW`` consecutive episodes (over all, when fewer ended)."""
        if not self.returns:
            return float("nan")
        ma = self.moving_average()
        return max(ma[WINDOW - 1:]) if len(ma) >= WINDOW else ma[-1]


def policy_gradient_loss(log_probs, advantages):
    """-mean(log pi(a|s) * A): descending it raises the probability of the actions taken in
    proportion to their advantage (and lowers those with a negative one). ``advantages`` must
    carry no gradient (detach a learned baseline), or the critic would be trained by the actor's loss."""
    return -(log_probs * advantages).mean()


def plot_returns(returns: Returns, path: str, title: str, threshold: float | None = None) -> str:
    """Episode returns and their ``WINDOW``-episode moving average against the episode, as a PNG."""
    Figure = require("matplotlib.figure", "The RL examples' reward curves").Figure  # no pyplot: no GUI backend
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    episodes = np.arange(1, len(returns) + 1)
    ax.plot(episodes, returns.returns, lw=0.8, alpha=0.5, label="episode return")
    ax.plot(episodes, returns.moving_average(), lw=2, label=f"mean of the last {WINDOW}")
    if threshold is not None:
        ax.axhline(threshold, color="gray", ls="--", lw=1, label=f"solved ({threshold:g})")
    ax.set(xlabel="episode", ylabel="return", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def finish(args, name: str, title: str, returns: Returns, solved: bool, threshold: float, steps: int,
           wall: float, act) -> dict:
    """The end of a run: say whether it solved the environment, save the reward curve as
    ``<name>_returns.png`` and, with ``--record``, a GIF of ``act`` playing. Returns what every
    example reports."""
    verdict = (f"solved ({returns.average():.1f} >= {threshold:g} over the last {WINDOW} episodes)" if solved else
               f"not solved; best mean over {WINDOW} consecutive episodes {returns.best_average():.1f}")
    print(f"{verdict} after {steps} environment steps, {len(returns)} episodes, {wall:.0f}s")
    png = plot_returns(returns, os.path.join(args.out, f"{name}_returns.png"), f"{title} on {args.env}", threshold)
    print(f"reward curve: {png}")
    if args.record:
        record_gif(args.env, act, args.record, args.seed)
    return {"solved": solved, "steps": steps, "episodes": len(returns), "wall_time": wall,
            "returns": returns.returns, "best_average": returns.best_average(), "png": png}


@ember.no_grad()
def record_gif(env_name: str, act, path: str, seed: int, max_frames: int = 500) -> str | None:
    """Play one episode with ``act`` (observation array -> action int) and save its frames as a
    GIF; returns the path, or None (with a message saying what to install) when Pillow or the
    environment's renderer is missing."""
    try:
        from PIL import Image
    except ImportError:
        print(f"--record skipped: saving a GIF needs Pillow (pip install 'ember[vision]'); {path} not written")
        return None
    env = make_env(env_name, seed, render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    frames = []
    try:
        for _ in range(max_frames):
            frames.append(Image.fromarray(env.render()))
            obs, _, terminated, truncated, _ = env.step(act(obs))
            if terminated or truncated:
                break
    except require("gymnasium.error", "The RL examples").DependencyNotInstalled as error:  # e.g. no pygame
        print(f"--record skipped: rendering {env_name} failed ({error}); {path} not written")
        return None
    finally:
        env.close()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=20, loop=0)  # 50 frames/s, CartPole's rate
    print(f"recorded {len(frames)} frames to {path}")
    return path
