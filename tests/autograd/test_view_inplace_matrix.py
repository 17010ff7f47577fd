"""Every combination of view kind x in-place op x written tensor x base kind x tensor used
afterwards gives PyTorch's value and x.grad, or PyTorch's exception type."""
import numpy as np
import pytest

import ember
from helpers import torch

VIEWS = {
    "slice": lambda a: a[:, 1:],
    "step slice": lambda a: a[:, ::2],
    "row": lambda a: a[1],
    "view": lambda a: a.view(3, 2),
    "reshape": lambda a: a.reshape(6),
    "flatten": lambda a: a.flatten(),
    "transpose": lambda a: a.transpose(0, 1),
    "t": lambda a: a.t(),
    "permute": lambda a: a.permute(1, 0),
    "diagonal": lambda a: a.diagonal(),
    "narrow": lambda a: a.narrow(1, 1, 2),
    "select": lambda a: a.select(1, 2),
    "unsqueeze": lambda a: a.unsqueeze(0),
    "squeeze": lambda a: a[None].squeeze(0),
    "expand": lambda a: a[:1].expand(4, 3),
    "view of view": lambda a: a.view(6)[1:5].view(2, 2).t(),
    "split": lambda a: a.split(1)[1],
    "unbind": lambda a: a.unbind(1)[0],
    "chunk": lambda a: a.chunk(3, 1)[2],
}


def _scalar(lib, x):
    return (x * x).sum() * 0.25  # a 0-d value with history


OPS = {
    "mul_ 2": lambda lib, t, x: t.mul_(2),
    "mul_ x": lambda lib, t, x: t.mul_(_scalar(lib, x)),
    "add_ x": lambda lib, t, x: t.add_(_scalar(lib, x)),
    "sub_": lambda lib, t, x: t.sub_(1.5),
    "div_ x": lambda lib, t, x: t.div_(_scalar(lib, x) + 1),
    "clamp_": lambda lib, t, x: t.clamp_(min=0.2, max=1.1),
    "relu_": lambda lib, t, x: t.relu_(),
    "exp_": lambda lib, t, x: t.exp_(),
    "copy_ x": lambda lib, t, x: t.copy_(_scalar(lib, x).expand(t.shape)),
    "copy_ const": lambda lib, t, x: t.copy_(lib.ones(t.shape, dtype=lib.float64)),
    "zero_": lambda lib, t, x: t.zero_(),
    "fill_": lambda lib, t, x: t.fill_(0.75),
    "fill_ x": lambda lib, t, x: t.fill_(_scalar(lib, x)),
    "masked_fill_": lambda lib, t, x: t.masked_fill_(t.detach() > 0.3, -1.0),
    "index_fill_": lambda lib, t, x: t.index_fill_(0, lib.tensor([0]), 2.5),
    "index_add_ x": lambda lib, t, x: t.index_add_(0, lib.tensor([0]), _scalar(lib, x).expand(t[:1].shape)),
    "index_put_ x": lambda lib, t, x: t.index_put_((lib.tensor([0, 1]),), _scalar(lib, x)),
    "scatter_ x": lambda lib, t, x: t.scatter_(0, lib.zeros(t[:1].shape, dtype=lib.int64),
                                               _scalar(lib, x).expand(t[:1].shape)),
    "scatter_add_ x": lambda lib, t, x: t.scatter_add_(0, lib.zeros(t[:1].shape, dtype=lib.int64),
                                                       _scalar(lib, x).expand(t[:1].shape)),
    "masked_scatter_ x": lambda lib, t, x: t.masked_scatter_(t.detach() > 0.3, (x * 3).reshape(-1).repeat(2)),
    "tril_": lambda lib, t, x: t.tril_(),
    "cumsum_": lambda lib, t, x: t.cumsum_(0),
    "setitem x": lambda lib, t, x: t.__setitem__(0, _scalar(lib, x)),
    "setitem mask": lambda lib, t, x: t.__setitem__(t.detach() < 0.5, _scalar(lib, x)),
    "setitem const": lambda lib, t, x: t.__setitem__(..., 3.0),
    "uniform_": lambda lib, t, x: t.uniform_(),
}

# "transposed": the base is a view of a root whose memory is not C-ordered (x.t() * 1.5 keeps
# the transposed layout in both libraries), so views are located by index, not by stride.
BASES = ("leaf", "non-leaf", "buffer", "transposed")
TARGETS = ("view", "base", "sibling")
USED = ("view", "base", "sibling")

X = np.array([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]])
W = np.linspace(-1.0, 2.0, 24)


def _run(lib, view_fn, op, base_kind, target, used):
    """(value of the used tensor, x.grad) or the exception type raised at any step."""
    try:
        x = lib.tensor(X, requires_grad=True)
        base = {"leaf": lambda: x, "non-leaf": lambda: x * 1.5,
                "buffer": lambda: lib.zeros(2, 3, dtype=lib.float64),
                "transposed": lambda: (x.t() * 1.5).t()}[base_kind]()
        view = view_fn(base)
        sibling = base[:, 1]
        tensors = {"view": view, "base": base, "sibling": sibling}
        if op is OPS["uniform_"]:
            lib.manual_seed(0)
        op(lib, tensors[target], x)
        out = tensors[used]
        w = lib.tensor(W[:out.numel()].reshape(out.shape))
        (out * w).sum().backward()
        return out.detach().numpy().copy(), (None if x.grad is None else x.grad.numpy().copy())
    except Exception as e:  # noqa: BLE001 (the exception's type is what is compared)
        return type(e)


def _same(ours, theirs, random_values: bool) -> bool:
    if isinstance(theirs, type) or isinstance(ours, type):
        return ours is theirs
    if not random_values and not np.allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-12):
        return False
    g_ours, g_theirs = ours[1], theirs[1]
    if g_ours is None or g_theirs is None:
        return g_ours is None and g_theirs is None
    return np.allclose(g_ours, g_theirs, rtol=1e-12, atol=1e-12)


# Writing through an expanded view at advanced indices: PyTorch writes the same memory once
# per repeat and differentiates as if the repeats were distinct; ember refuses the write
# (a RuntimeError naming the aliasing), as it does for every other write to such a view.
REFUSED = {("expand", "index_put_ x"), ("expand", "setitem mask")}


@pytest.mark.parametrize("view_name", list(VIEWS))
@pytest.mark.parametrize("op_name", list(OPS))
def test_view_inplace_matrix_matches_torch(view_name, op_name):
    view_fn, op = VIEWS[view_name], OPS[op_name]
    failures = []
    for base_kind in BASES:
        for target in TARGETS:
            for used in USED:
                ours = _run(ember, view_fn, op, base_kind, target, used)
                if (view_name, op_name) in REFUSED and target == "view":
                    if ours is not RuntimeError:
                        failures.append(f"{base_kind}/{target}/{used}: ember {ours}, not refused")
                    continue
                theirs = _run(torch, view_fn, op, base_kind, target, used)
                if not _same(ours, theirs, op_name == "uniform_"):
                    failures.append(f"{base_kind}/{target}/{used}: ember {ours} torch {theirs}")
    assert not failures, "\n".join(failures)
