"""The benchmark workloads in JAX, each step one ``jax.jit`` call: the third side of a row
where JAX is installed (``pip install "jax[cpu]"``; ``common.compare`` skips it otherwise).

Each model is written as a JAX user writes it without a layer library: parameters in a
list, the loss as a function of them, ``jax.grad``, and the optimizer's update
in the same jitted step, which takes the old parameters and state and returns the new
ones. The weights, inputs and targets are drawn from the same generator, in the same
order, as ``mlp.py``, ``cnn.py`` and ``lstm_lm.py`` draw them for ember and PyTorch, so a
row's three sides start from one model. Each step waits for its result (JAX dispatches
asynchronously; ember and PyTorch on the CPU return when the work is done). A factory takes
the library name ``common.Side`` passes every factory, and the workload's other arguments.

    python bench/jax_models.py

checks that the JAX workloads compute what PyTorch's do (the largest differences).
"""
from __future__ import annotations

import math

import numpy as np


def _jax():
    import jax
    import jax.numpy as jnp
    return jax, jnp


def _step_loop(step, state: tuple, *data):
    """A benchmark step: ``state = step(*state, *data)``, waited for; returns the new state."""
    import jax

    def run():
        nonlocal state
        state = step(*state, *data)
        return jax.block_until_ready(state)
    return run


def _cross_entropy(jnp, jax, logits, y):
    """PyTorch's CrossEntropyLoss (mean over the batch)."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _classifier_training(forward, update, params, opt_state: tuple, x, y):
    """A classifier's training step as one jitted call: the cross-entropy of
    ``forward(params, x)`` against ``y``, its gradient, then ``update(params, *opt_state,
    grads)``, which returns the new ``(params, *opt_state)``: the step's state."""
    jax, jnp = _jax()

    @jax.jit
    def step(params, *rest):
        *opt_state, x, y = rest
        grads = jax.grad(lambda p: _cross_entropy(jnp, jax, forward(p, x), y))(params)
        return update(params, *opt_state, grads)
    return _step_loop(step, (params, *opt_state), x, y)


def _sgd(jax, momentum: float, lr: float, weight_decay: float = 0.0):
    """torch.optim.SGD's update (dampening 0, not Nesterov): the buffer starts as the first
    gradient, which 0 * momentum + g is."""
    def update(params, bufs, grads):
        grads = jax.tree_util.tree_map(lambda g, p: g + weight_decay * p, grads, params) if weight_decay else grads
        bufs = jax.tree_util.tree_map(lambda b, g: momentum * b + g, bufs, grads)
        return jax.tree_util.tree_map(lambda p, b: p - lr * b, params, bufs), bufs
    return update


# ---- MLP 784-512-256-10 (mlp.py) ---------------------------------------------------------
def _mlp():
    jax, jnp = _jax()
    rng = np.random.default_rng(0)
    params = [jnp.asarray(rng.uniform(-0.05, 0.05, shape).astype(np.float32))
              for shape in ((512, 784), (512,), (256, 512), (256,), (10, 256), (10,))]
    x = jnp.asarray(rng.standard_normal((128, 784)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, 128))

    def forward(params, x):
        w1, b1, w2, b2, w3, b3 = params
        h = jax.nn.relu(x @ w1.T + b1)
        h = jax.nn.relu(h @ w2.T + b2)
        return h @ w3.T + b3
    return jax, jnp, params, x, y, forward


def mlp_train(lib_name: str = "jax"):
    jax, jnp, params, x, y, forward = _mlp()
    return _classifier_training(forward, _sgd(jax, 0.9, 0.01), params, ([jnp.zeros_like(p) for p in params],), x, y)


def mlp_inference(lib_name: str = "jax"):
    jax, _, params, x, _, forward = _mlp()
    return _forward_loop(jax.jit(forward), params, x)


def _forward_loop(fn, params, x):
    import jax

    def run():
        jax.block_until_ready(fn(params, x))
    return run


# ---- LeNet-5 and ResNet-8 (cnn.py) -------------------------------------------------------
def _uniform_by_fan_in(rng, shapes):
    """cnn.py's weights: U(-1, 1) / sqrt(fan_in), fan_in the product of a weight's dims after
    the first (a vector's: its length), drawn in the order of ``shapes``."""
    out = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        out.append((rng.uniform(-1, 1, shape).astype(np.float32) / np.sqrt(fan_in)).astype(np.float32))
    return out


def _conv(jax, x, w, stride: int = 1, padding: int = 0):
    """nn.Conv2d's product (NCHW input, OIHW weight), no bias."""
    return jax.lax.conv_general_dilated(x, w, (stride, stride), [(padding, padding)] * 2,
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))


def _max_pool2(jax, x):
    return jax.lax.reduce_window(x, -np.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


_LENET_SHAPES = ((6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,))


def _lenet(batch: int):
    jax, jnp = _jax()
    rng = np.random.default_rng(0)
    params = [jnp.asarray(p) for p in _uniform_by_fan_in(rng, _LENET_SHAPES)]
    x = jnp.asarray(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, batch))

    def forward(params, x):
        c1, b1, c2, b2, w3, b3, w4, b4, w5, b5 = params
        h = _max_pool2(jax, jax.nn.relu(_conv(jax, x, c1, padding=2) + b1[:, None, None]))
        h = _max_pool2(jax, jax.nn.relu(_conv(jax, h, c2) + b2[:, None, None]))
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ w3.T + b3)
        h = jax.nn.relu(h @ w4.T + b4)
        return h @ w5.T + b5
    return jax, jnp, params, x, y, forward


def _adam(jax, jnp, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
    """torch.optim.Adam's update (bias-corrected moments; eps added after the square root)."""
    b1, b2 = betas

    def update(params, m, v, t, grads):
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, m, v, t
    return update


def lenet_train(lib_name: str = "jax"):
    jax, jnp, params, x, y, forward = _lenet(128)
    zeros = [jnp.zeros_like(p) for p in params]
    return _classifier_training(forward, _adam(jax, jnp), params, (zeros, zeros, jnp.float32(0)), x, y)


def lenet_inference(lib_name: str = "jax"):
    jax, _, params, x, _, forward = _lenet(1000)
    return _forward_loop(jax.jit(forward), params, x)


def _batch_norm(jnp, x, weight, bias, running):
    """nn.BatchNorm2d in training mode: normalised by the batch's statistics (biased
    variance), the running ones updated (momentum 0.1, unbiased variance)."""
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    n = x.size // x.shape[1]
    running_mean, running_var = running
    running = (0.9 * running_mean + 0.1 * mean, 0.9 * running_var + 0.1 * var * n / (n - 1))
    out = (x - mean[:, None, None]) / jnp.sqrt(var[:, None, None] + 1e-5)
    return out * weight[:, None, None] + bias[:, None, None], running


# (in channels, out channels, stride) of ResNet-8's three basic blocks
_RESNET_BLOCKS = ((16, 16, 1), (16, 32, 2), (32, 64, 2))


def _resnet_shapes():
    """Parameter shapes in cnn.resnet8's order: per conv its weight, per batch norm its weight
    and bias; a block's shortcut (conv, norm) after its two convs."""
    shapes = [(16, 3, 3, 3), (16,), (16,)]
    for cin, cout, stride in _RESNET_BLOCKS:
        shapes += [(cout, cin, 3, 3), (cout,), (cout,), (cout, cout, 3, 3), (cout,), (cout,)]
        if stride != 1 or cin != cout:
            shapes += [(cout, cin, 1, 1), (cout,), (cout,)]
    return shapes + [(10, 64), (10,)]


def _resnet():
    jax, jnp = _jax()
    rng = np.random.default_rng(0)
    params = [jnp.asarray(p) for p in _uniform_by_fan_in(rng, _resnet_shapes())]
    x = jnp.asarray(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, 64))
    channels = [s[0] for s in _resnet_shapes() if len(s) == 4]
    stats = [(jnp.zeros(c, jnp.float32), jnp.ones(c, jnp.float32)) for c in channels]

    def forward(params, stats, x):
        """The logits in training mode, and the batch norms' updated running statistics."""
        params, stats, new_stats = list(params), list(stats), []

        def conv_bn(h, stride, padding):
            w, g, b = params.pop(0), params.pop(0), params.pop(0)
            out, running = _batch_norm(jnp, _conv(jax, h, w, stride, padding), g, b, stats.pop(0))
            new_stats.append(running)
            return out

        h = jax.nn.relu(conv_bn(x, 1, 1))
        for cin, cout, stride in _RESNET_BLOCKS:
            out = jax.nn.relu(conv_bn(h, stride, 1))
            out = conv_bn(out, 1, 1)
            shortcut = conv_bn(h, stride, 0) if stride != 1 or cin != cout else h
            h = jax.nn.relu(out + shortcut)
        w, b = params
        return h.mean(axis=(2, 3)) @ w.T + b, new_stats
    return jax, jnp, params, stats, x, y, forward


def resnet_train(lib_name: str = "jax"):
    jax, jnp, params, stats, x, y, forward = _resnet()
    update = _sgd(jax, 0.9, 0.1, 5e-4)

    @jax.jit
    def step(params, bufs, stats, x, y):
        def loss(p):
            logits, new_stats = forward(p, stats, x)
            return _cross_entropy(jnp, jax, logits, y), new_stats
        grads, new_stats = jax.grad(loss, has_aux=True)(params)
        params, bufs = update(params, bufs, grads)
        return params, bufs, new_stats
    return _step_loop(step, (params, [jnp.zeros_like(p) for p in params], stats), x, y)


# ---- word-level LSTM LM (lstm_lm.py) -----------------------------------------------------
VOCAB, SEQ, BATCH, EMSIZE, NHID, NLAYERS, DROPOUT = 10_000, 35, 20, 200, 200, 2, 0.2


def _lstm_lm():
    """examples/word_language_model.py's RNNModel("LSTM") with its defaults and init_weights
    (RandomState(1111)); the tokens and targets as lstm_lm.py draws them."""
    jax, jnp = _jax()
    init = np.random.RandomState(1111)
    encoder = init.uniform(-0.1, 0.1, (VOCAB, EMSIZE))
    decoder_b = np.zeros(VOCAB)
    decoder_w = init.uniform(-0.1, 0.1, (VOCAB, NHID))
    bound = 1.0 / math.sqrt(NHID)
    layers = []
    for layer in range(NLAYERS):
        inputs = EMSIZE if layer == 0 else NHID
        layers.append([init.uniform(-bound, bound, shape)
                       for shape in ((4 * NHID, inputs), (4 * NHID, NHID), (4 * NHID,), (4 * NHID,))])
    params = {"encoder": encoder, "decoder_w": decoder_w, "decoder_b": decoder_b, "layers": layers}
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), params)
    rng = np.random.default_rng(0)
    data = jnp.asarray(rng.integers(0, VOCAB, (SEQ, BATCH)))
    targets = jnp.asarray(rng.integers(0, VOCAB, SEQ * BATCH))
    hidden = (jnp.zeros((NLAYERS, BATCH, NHID), jnp.float32),) * 2
    return jax, jnp, params, data, targets, hidden


def _lstm_layer(jax, jnp, x, weights, h, c):
    """One nn.LSTM layer over (T, B, in): the input's products for every step at once, then
    the recurrence (PyTorch's gate order i, f, g, o)."""
    w_ih, w_hh, b_ih, b_hh = weights
    projected = x @ w_ih.T + (b_ih + b_hh)

    def cell(carry, gates_x):
        h, c = carry
        i, f, g, o = jnp.split(gates_x + h @ w_hh.T, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h
    (h, c), out = jax.lax.scan(cell, (h, c), projected)
    return out, h, c


def _dropout(jax, key, x, rate: float):
    """nn.Dropout in training mode."""
    keep = jax.random.bernoulli(key, 1 - rate, x.shape)
    return x * keep / (1 - rate)


def _lstm_forward(jax, jnp, params, data, hidden, key, train: bool):
    keys = jax.random.split(key, NLAYERS + 1)

    def dropout(i, x):
        return _dropout(jax, keys[i], x, DROPOUT) if train else x
    x = dropout(0, params["encoder"][data])
    hs, cs = [], []
    for layer, weights in enumerate(params["layers"]):
        if layer:  # nn.LSTM's dropout between layers
            x = dropout(layer, x)
        x, h, c = _lstm_layer(jax, jnp, x, weights, hidden[0][layer], hidden[1][layer])
        hs.append(h)
        cs.append(c)
    x = dropout(NLAYERS, x)
    decoded = x.reshape(-1, NHID) @ params["decoder_w"].T + params["decoder_b"]
    return jax.nn.log_softmax(decoded, axis=1), (jnp.stack(hs), jnp.stack(cs))


def lstm_train(lib_name: str = "jax"):
    """The example's step: forward from the carried (detached) hidden state, NLL, gradients,
    their total norm clipped to 0.25, SGD at lr 20."""
    jax, jnp, params, data, targets, hidden = _lstm_lm()

    @jax.jit
    def step(params, hidden, key, data, targets):
        key, sub = jax.random.split(key)

        def loss(p):
            logp, new_hidden = _lstm_forward(jax, jnp, p, data, hidden, sub, True)
            return -jnp.mean(jnp.take_along_axis(logp, targets[:, None], axis=1)), new_hidden
        grads, new_hidden = jax.grad(loss, has_aux=True)(params)
        norm = jnp.sqrt(sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads)))
        scale = jnp.minimum(1.0, 0.25 / (norm + 1e-6))
        params = jax.tree_util.tree_map(lambda p, g: p - 20.0 * scale * g, params, grads)
        return params, jax.lax.stop_gradient(new_hidden), key
    return _step_loop(step, (params, hidden, jax.random.PRNGKey(0)), data, targets)


def lstm_forward(lib_name: str = "jax"):
    jax, jnp, params, data, _, hidden = _lstm_lm()
    forward = jax.jit(lambda p, d: _lstm_forward(jax, jnp, p, d, hidden, jax.random.PRNGKey(0), False))
    return _forward_loop(forward, params, data)


# ---- pytorch/examples' MNIST script (mnist_script.py) --------------------------------------
def mnist_epoch(lib_name: str, data_dir: str, limit: int):
    """The script's epoch in JAX (returning the trained parameters): the same network,
    Adadelta (lr 1.0, decayed by 0.7 an epoch as StepLR does) and batches of 64 in a
    shuffled order. JAX has no data loader, so a plain
    loop makes each batch the way the other sides' loaders do: every image through PIL,
    scaled to [0, 1] and normalised, then stacked."""
    from PIL import Image

    from ember.vision import datasets  # only to decode the idx files into arrays
    jax, jnp = _jax()
    from mnist_script import MEAN, STD
    raw = datasets.MNIST(data_dir, train=True)
    images, labels = raw.data.numpy(), raw.targets.numpy()
    count = limit or len(images)
    rng = np.random.default_rng(1)
    shapes = ((32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (128, 9216), (128,), (10, 128), (10,))
    fans = (9, 9, 288, 288, 9216, 9216, 128, 128)  # PyTorch's default init: U(+-1/sqrt(fan_in))
    params = [jnp.asarray(rng.uniform(-1, 1, s).astype(np.float32) / np.float32(math.sqrt(f)))
              for s, f in zip(shapes, fans)]

    def log_probs(params, x, key):
        c1, b1, c2, b2, w3, b3, w4, b4 = params
        k1, k2 = jax.random.split(key)
        h = jax.nn.relu(_conv(jax, x, c1) + b1[:, None, None])
        h = jax.nn.relu(_conv(jax, h, c2) + b2[:, None, None])
        h = _dropout(jax, k1, _max_pool2(jax, h), 0.25).reshape(x.shape[0], -1)
        h = _dropout(jax, k2, jax.nn.relu(h @ w3.T + b3), 0.5)
        return jax.nn.log_softmax(h @ w4.T + b4)

    @jax.jit
    def step(params, square_avg, acc_delta, lr, key, x, y):
        def loss(p):
            return -jnp.mean(jnp.take_along_axis(log_probs(p, x, key), y[:, None], axis=1))
        grads = jax.grad(loss)(params)
        rho, eps = 0.9, 1e-6  # torch.optim.Adadelta's defaults
        new = [[], [], []]
        for p, g, sa, ad in zip(params, grads, square_avg, acc_delta):
            sa = rho * sa + (1 - rho) * g * g
            delta = jnp.sqrt(ad + eps) / jnp.sqrt(sa + eps) * g
            ad = rho * ad + (1 - rho) * delta * delta
            for out, v in zip(new, (p - lr * delta, sa, ad)):
                out.append(v)
        return tuple(new)

    square_avg = [jnp.zeros_like(p) for p in params]
    acc_delta = [jnp.zeros_like(p) for p in params]
    lr, key = 1.0, jax.random.PRNGKey(1)

    def item(i):
        pixels = np.asarray(Image.fromarray(images[i], mode="L"), dtype=np.float32) / 255
        return ((pixels - MEAN) / STD)[None]

    def run():
        nonlocal params, square_avg, acc_delta, lr, key
        order = rng.permutation(count)
        for start in range(0, count, 64):
            batch = order[start:start + 64]
            x = np.stack([item(i) for i in batch]).astype(np.float32)
            key, sub = jax.random.split(key)
            params, square_avg, acc_delta = step(params, square_avg, acc_delta, lr, sub, x, labels[batch])
        lr *= 0.7
        return jax.block_until_ready(params)
    return run


# ---- the same workloads? ------------------------------------------------------------------
def check() -> None:
    """Each JAX workload against PyTorch's from the same weights: the loss after a few
    training steps (and, for SGD, the parameters' largest difference; Adam's first steps
    move a parameter by about lr * sign(g), so a gradient that rounds to the other side of
    zero moves it by up to 2 lr), and the LSTM LM's forward output (its training step draws
    dropout masks from JAX's generator, which no other side shares)."""
    import copy
    import os
    import sys

    import torch
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, os.path.join(os.path.dirname(here), "examples")]
    import cnn
    import lstm_lm
    import mlp
    from common import classifier_step

    def compare_training(name, factory, forward, setup, make_opt, steps, parameters=True):
        run = factory()
        for _ in range(steps):
            state = run()
        _, model, x, y = setup()
        step = classifier_step(torch, model, x, y, make_opt(model.parameters()))
        for _ in range(steps):
            step()
        with torch.no_grad():  # (on a copy: a batch norm's forward would move the running statistics)
            expected = float(torch.nn.functional.cross_entropy(copy.deepcopy(model)(x), y))
        jax, jnp = _jax()
        ours = float(_cross_entropy(jnp, jax, forward(state), jnp.asarray(y.numpy())))
        line = f"{name}, loss after {steps} steps: JAX {ours:.6f}, PyTorch {expected:.6f}"
        if parameters:
            line += "; parameters' largest difference %.1e" % max(
                float(np.abs(np.asarray(a) - p.detach().numpy()).max()) for a, p in zip(state[0], model.parameters()))
        print(line)
        return state, model

    _, _, _, x, _, mlp_forward = _mlp()
    compare_training("MLP (SGD)", mlp_train, lambda s: mlp_forward(s[0], x), lambda: mlp._setup("torch"),
                     lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), 5)
    _, _, _, x, _, lenet_forward = _lenet(128)
    compare_training("LeNet-5 (Adam)", lenet_train, lambda s: lenet_forward(s[0], x),
                     lambda: cnn._setup("torch", cnn.lenet, (1, 28, 28), 128),
                     lambda p: torch.optim.Adam(p, lr=1e-3), 5, parameters=False)
    _, _, _, _, x, _, resnet_forward = _resnet()
    state, model = compare_training(
        "ResNet-8 (SGD)", resnet_train, lambda s: resnet_forward(s[0], s[2], x)[0],
        lambda: cnn._setup("torch", cnn.resnet8, (3, 32, 32), 64),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4), 3)
    running = [b.numpy() for name, b in model.named_buffers() if "running" in name]
    ours = [np.asarray(v) for pair in state[2] for v in pair]
    print("ResNet-8, running statistics' largest difference %.1e"
          % max(float(np.abs(a - b).max()) for a, b in zip(ours, running)))
    jax, jnp, params, data, _, hidden = _lstm_lm()
    logp, _ = _lstm_forward(jax, jnp, params, data, hidden, jax.random.PRNGKey(0), False)
    _, model, tdata, _ = lstm_lm._setup("torch")
    model.eval()
    with torch.no_grad():
        expected, _ = model(tdata, model.init_hidden(BATCH))
    print("LSTM LM, forward log-probabilities' largest difference %.1e"
          % float(np.abs(np.asarray(logp) - expected.numpy()).max()))


if __name__ == "__main__":
    check()
