"""REINFORCE with distributions.Categorical on a synthetic environment, per-sample gradients
with torch.func (functional_call + grad + vmap), and mixed precision on CPU (autocast +
GradScaler)."""
import numpy as np

from compat_harness import as_tensor, numpy_init


def reinforce(torch, steps):
    """Policy gradient on a contextual bandit: the observation is one of four one-hot
    contexts, and action (context mod 3) pays 1, the others 0. Actions are sampled from
    Categorical(logits=policy(obs)), so runs differ between libraries; only the trend
    (mean reward up, loss per episode batch recorded) is comparable."""
    nn = torch.nn
    torch.manual_seed(40)
    rng = np.random.default_rng(40)
    policy = numpy_init(torch, nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)), 40)
    optimizer = torch.optim.Adam(policy.parameters(), lr=5e-2)
    rewards_per_step, losses = [], []
    for _ in range(steps):
        contexts = rng.integers(0, 4, 64)
        obs = torch.nn.functional.one_hot(as_tensor(torch, contexts), 4).float()
        dist = torch.distributions.Categorical(logits=policy(obs))
        actions = dist.sample()
        rewards = (actions == as_tensor(torch, contexts % 3)).float()
        advantage = rewards - rewards.mean()  # mean-reward baseline lowers the variance
        loss = -(dist.log_prob(actions) * advantage).mean() - 0.01 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rewards_per_step.append(rewards.mean().item())
        losses.append(loss.item())
    return {"losses": losses, "rewards": rewards_per_step, "action_shape": tuple(actions.shape)}


def per_sample_grads(torch, steps):
    """torch.func per-sample gradients (functional_call + grad, vmapped over the batch),
    checked against a loop of ordinary backward passes, then used for a DP-SGD-style step:
    each sample's gradient clipped to norm 1, averaged, applied by hand."""
    nn, F, func = torch.nn, torch.nn.functional, torch.func
    rng = np.random.default_rng(41)
    x = as_tensor(torch, rng.standard_normal((16, 5)))
    y = as_tensor(torch, rng.integers(0, 2, 16))
    model = numpy_init(torch, nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)), 41)

    def sample_loss(params, buffers, sample, target):
        out = func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return F.cross_entropy(out, target.unsqueeze(0))

    per_sample = func.vmap(func.grad(sample_loss), in_dims=(None, None, 0, 0))
    losses, loop_error = [], 0.0
    for step in range(steps):
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}
        grads = per_sample(params, buffers, x, y)
        if step == 0:
            for i in range(x.shape[0]):
                model.zero_grad()
                F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
                for name, p in model.named_parameters():
                    loop_error = max(loop_error, (p.grad - grads[name][i]).abs().max().item())
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
        scale = (1.0 / norms.clamp(min=1.0)).detach()
        with torch.no_grad():
            for name, p in model.named_parameters():
                g = grads[name] * scale.view(-1, *([1] * (grads[name].dim() - 1)))
                p -= 0.5 * g.mean(0)
            losses.append(F.cross_entropy(model(x), y).item())
    return {"losses": losses, "loop_error": loop_error,
            "grad_shapes": {k: tuple(v.shape) for k, v in grads.items()}}


def autocast_grad_scaler(torch, steps):
    """Mixed precision on CPU: the forward runs under autocast(float16), the loss is scaled
    by GradScaler, gradients are unscaled for clipping, and scaler.step/update follow."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(42)
    x = as_tensor(torch, rng.standard_normal((32, 8)))
    y = x @ as_tensor(torch, rng.standard_normal((8, 1)))
    model = numpy_init(torch, nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)), 42)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    losses, dtypes = [], set()
    for _ in range(steps):
        optimizer.zero_grad()
        with torch.autocast(device_type="cpu", dtype=torch.float16):
            out = model(x)
            loss = F.mse_loss(out.float(), y)
        dtypes.add(str(out.dtype).split(".")[-1])
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    return {"losses": losses, "autocast_dtypes": dtypes,
            "param_dtype": str(next(model.parameters()).dtype).split(".")[-1],
            "scale": scaler.get_scale()}
