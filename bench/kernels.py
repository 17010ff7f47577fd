"""The compiled CPU kernels (ember/backend/kernels) against the NumPy paths they replace, on the
shapes of bench/cnn.py: forward and backward of each op, median milliseconds of repeats.

    python bench/kernels.py [repeats]

The convolutions of LeNet-5 (batch 128), ResNet-8 (batch 64) and the MNIST script (batch
64), whole (im2col or col2im and the GEMM); the MNIST script's largest ReLU, whose backward
is the masked select. LeNet-5: 2x2 max pooling of (6, 28, 28) and (16, 10, 10). ResNet-8
(batch 64): batch norm of (16, 32, 32), (32, 16, 16), (64, 8, 8) in training and evaluation
mode; and a batch norm of (N, C) rows, which stays on NumPy (a control: both columns run the
same code). Then one optimizer step over the parameters of the benchmarks' models, with the
one-pass update kernels and with the array math. Then the float32 convolutions through
oneDNN's primitives (ember/backend/convolution.py) against the im2col path, and the float32
matrix products of those steps through oneDNN's GEMM (ember/backend/gemm.py) against NumPy's
matmul (OpenBLAS).
The two paths run alternately and the table gives medians, as other processes may share the
cores: of wall-clock time ("ms") and, as the work done, of CPU time of all threads ("cpu x":
its ratio), which waiting for a busy core does not change. Ops the kernels do not cover (other
pooling windows, average pooling) are not listed.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import contextmanager

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import ember  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from ember.backend import kernels, onednn  # noqa: E402


def _paired(numpy_fn, numba_fn, repeats: int, slow=kernels.off, in_blocks: bool = False) -> tuple:
    """Median wall-clock ms of each function and the ratio of their median CPU times, the first
    run within ``slow()`` (the path compared against); one untimed call of each first (compiles,
    or loads Numba's cache). The two run alternately, so that load from other processes falls
    on both alike, or ``in_blocks``, all of one then all of the other: where both sides run a
    BLAS pool (OpenBLAS's, oneDNN's), alternating calls wait for the other pool's spinning
    threads."""
    wall, cpu = ([], []), ([], [])
    order = [(i, k) for i in range(repeats + 1) for k in (0, 1)]
    if in_blocks:
        order.sort(key=lambda ik: ik[1])
    def timed(i, k):
        t, c = time.perf_counter(), time.process_time()
        (numpy_fn, numba_fn)[k]()
        if i:
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)

    for i, k in order:
        if in_blocks and (i, k) == (0, 1):
            time.sleep(0.3)  # OpenBLAS's threads stop spinning
        if k == 0:
            with slow():  # entered outside the timing: switching paths is not the path's cost
                timed(i, k)
        else:
            timed(i, k)
    med = [statistics.median(ts) for ts in wall + cpu]
    return med[0] * 1e3, med[1] * 1e3, med[2] / med[3]


@contextmanager
def _without_onednn():
    """ember as with EMBER_ONEDNN=0: no oneDNN, NumPy's OpenBLAS on every core."""
    from threadpoolctl import threadpool_limits
    with onednn.off(), threadpool_limits(limits=ember.get_num_threads(), user_api="blas"):
        yield


def _case(op, shape, repeats: int, grad: bool = True, slow=kernels.off, in_blocks: bool = False):
    """_paired's figures of ``op``'s forward and backward (None without ``grad``) on a random
    float32 input of ``shape``."""
    x = ember.tensor(np.random.default_rng(0).standard_normal(shape, dtype=np.float32), requires_grad=grad)
    fwd = _paired(lambda: op(x), lambda: op(x), repeats, slow, in_blocks)
    if not grad:
        return fwd, None
    with slow():
        y_numpy = op(x)
    y_numba = op(x)
    g = ember.ones_like(y_numba)

    def backward(y):
        x.grad = None
        y.backward(g, retain_graph=True)
    return fwd, _paired(lambda: backward(y_numpy), lambda: backward(y_numba), repeats, slow, in_blocks)


def _table(cases, repeats: int, slow, fast_name: str, in_blocks: bool = False) -> None:
    print(f"{'op':24} {'shape':18} {'fwd before':>10} {fast_name:>7} {'x':>5} {'cpu x':>6}   {'bwd before':>10} "
          f"{fast_name:>7} {'x':>5} {'cpu x':>6}")
    for name, shape, op, grad in cases:
        cols = [f"{'-':>10} {'-':>7} {'-':>5} {'-':>6}" if t is None else
                f"{t[0]:10.3f} {t[1]:7.3f} {t[0] / t[1]:5.2f} {t[2]:6.2f}" for t in _case(op, shape, repeats, grad, slow, in_blocks)]
        print(f"{name:24} {str(shape):18} {'   '.join(cols)}")


def _conv(c_out: int, c_in: int, k: int, **kw):
    w = ember.randn(c_out, c_in, k, k, requires_grad=True)
    return lambda x: F.conv2d(x, w, **kw)


def _batch_norm(c: int, training: bool):
    mean, var = ember.zeros(c), ember.ones(c)
    w, b = ember.ones(c, requires_grad=training), ember.zeros(c, requires_grad=training)
    return lambda x: F.batch_norm(x, mean, var, w, b, training=training)


CASES = [
    ("conv2d 5x5 pad 2", (128, 1, 28, 28), _conv(6, 1, 5, padding=2), True),       # LeNet-5
    ("conv2d 5x5", (128, 6, 14, 14), _conv(16, 6, 5), True),
    ("conv2d 3x3 pad 1", (64, 16, 32, 32), _conv(16, 16, 3, padding=1), True),    # ResNet-8
    ("conv2d 3x3 stride 2", (64, 16, 32, 32), _conv(32, 16, 3, stride=2, padding=1), True),
    ("conv2d 3x3", (64, 32, 26, 26), _conv(64, 32, 3), True),                     # MNIST script
    ("relu", (64, 64, 24, 24), F.relu, True),                                      # its masked gradient
    ("max_pool2d 2x2", (128, 6, 28, 28), lambda x: F.max_pool2d(x, 2), True),
    ("max_pool2d 2x2", (128, 16, 10, 10), lambda x: F.max_pool2d(x, 2), True),
    ("max_pool2d 2x2 no grad", (128, 6, 28, 28), lambda x: F.max_pool2d(x, 2), False),
    ("avg_pool2d 2x2", (128, 6, 28, 28), lambda x: F.avg_pool2d(x, 2), True),
    ("batch_norm train", (64, 16, 32, 32), _batch_norm(16, True), True),
    ("batch_norm train", (64, 32, 16, 16), _batch_norm(32, True), True),
    ("batch_norm train", (64, 64, 8, 8), _batch_norm(64, True), True),
    ("batch_norm train", (256, 128), _batch_norm(128, True), True),
    ("batch_norm eval", (64, 16, 32, 32), _batch_norm(16, False), False),
    ("batch_norm eval", (64, 64, 8, 8), _batch_norm(64, False), False),
]


def _optimizer_step(model, make):
    """A step of the optimizer ``make(params)`` on ``model``'s parameters, with fixed gradients."""
    params = list(model.parameters())
    for p in params:
        p.grad = ember.randn(*p.shape) * 0.01
    opt = make(params)
    return opt.step


def _optimizer_cases():
    import cnn
    import mnist_script
    nn, optim = ember.nn, ember.optim
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    return [
        ("MLP, SGD momentum", mlp, lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9)),
        ("MLP, RMSprop", mlp, lambda ps: optim.RMSprop(ps, lr=0.01)),
        ("LeNet-5, Adam", cnn.lenet(nn), lambda ps: optim.Adam(ps, lr=1e-3)),
        ("ResNet-8, SGD decay", cnn.resnet8(nn), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4)),
        ("MNIST script, Adadelta", mnist_script._net(ember), lambda ps: optim.Adadelta(ps, lr=1.0)),
    ]


# (name, (m, k, n), whether a is a transposed view): the products of the benchmarks' steps.
GEMMS = [
    ("MLP layer 1", (128, 784, 512), False),
    ("MLP layer 2", (128, 512, 256), False),
    ("MLP layer 1 weight grad", (512, 128, 784), True),
    ("LeNet-5 conv1 weight grad", (6, 100352, 25), False),
    ("ResNet-8 conv 16->16", (16, 144, 14336), False),
    ("LSTM LM step (W_hh)", (20, 200, 800), False),
]


def _gemm_rows(repeats: int) -> None:
    """Each product with OpenBLAS on every core against oneDNN's, timed in blocks."""
    from ember.backend import gemm
    if gemm.sgemm() is None:
        print("\noneDNN's GEMM is not in use here (onednn-cpu-gomp missing or EMBER_ONEDNN=0)")
        return
    print(f"\n{'float32 product':26} {'m x k x n':>18} {'OpenBLAS':>9} {'oneDNN':>7} {'x':>5} {'cpu x':>6}")
    rng = np.random.default_rng(0)
    for name, (m, k, n), transposed in GEMMS:
        a = rng.standard_normal((k, m) if transposed else (m, k), dtype=np.float32)
        a = a.T if transposed else a
        b = rng.standard_normal((k, n), dtype=np.float32)
        t = _paired(lambda: np.matmul(a, b), lambda: gemm.matmul(a, b), repeats, _without_onednn, in_blocks=True)
        print(f"{name:26} {f'{m} x {k} x {n}':>18} {t[0]:9.3f} {t[1]:7.3f} {t[0] / t[1]:5.2f} {t[2]:6.2f}")


def main(repeats: int = 30) -> None:
    if kernels.cpu() is None:
        sys.exit("compiled kernels are off (numba missing or EMBER_NUMBA=0): nothing to compare")
    import numba
    print(f"medians of {repeats} runs, float32, {numba.get_num_threads()} Numba threads (wall-clock ms are "
          "noisy where other processes share the cores)")
    print("compiled kernels (\"numba\") against the NumPy path (\"before\"); convolutions without oneDNN")
    with onednn.off():
        _table(CASES, repeats, kernels.off, "numba")
    if onednn.library() is not None:
        print("\nfloat32 convolutions: oneDNN's primitives against ember without oneDNN (\"before\": im2col with\n"
              "the kernels, OpenBLAS on every core), each timed in a block of its own")
        _table([c for c in CASES if c[0].startswith("conv")], repeats, _without_onednn, "oneDNN", in_blocks=True)
    print(f"\n{'optimizer step':24} {'parameters':>18} {'numpy':>9} {'numba':>7} {'x':>5} {'cpu x':>6}")
    for name, model, make in _optimizer_cases():
        step = _optimizer_step(model, make)
        t = _paired(step, step, repeats)
        print(f"{name:24} {sum(p.numel() for p in model.parameters()):18,} {t[0]:9.3f} {t[1]:7.3f} "
              f"{t[0] / t[1]:5.2f} {t[2]:6.2f}")
    _gemm_rows(repeats)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
