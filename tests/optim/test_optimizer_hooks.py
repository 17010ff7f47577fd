"""Optimizer hooks against torch.optim: step pre/post hooks (a pre-hook may replace the
arguments), state_dict and load_state_dict pre/post hooks, prepend order and handle removal."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def make(lib):
    w = lib.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    return w, lib.optim.SGD([w], lr=0.1, momentum=0.9)


def closure_for(opt, w):
    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_step_hooks_see_and_replace_arguments(lib):
    w, opt = make(lib)
    log = []

    def inject_closure(o, args, kwargs):
        log.append(("pre", args == (o,), sorted(kwargs)))
        return args, {"closure": closure_for(o, w)}

    pre = opt.register_step_pre_hook(inject_closure)
    post = opt.register_step_post_hook(lambda o, args, kwargs: log.append(("post", args, kwargs)))
    loss = opt.step()  # the pre-hook supplies the closure
    assert float(loss) == 14.0
    assert log[0] == ("pre", True, []) and log[1][0] == "post" and "closure" in log[1][2]
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6, 2.4], rtol=1e-15)
    pre.remove()
    post.remove()
    post.remove()  # removing twice is harmless
    opt.step()
    assert len(log) == 2


def test_step_pre_hook_bad_return_matches_torch():
    errors = []
    for lib in (ember, torch):
        w, opt = make(lib)
        opt.register_step_pre_hook(lambda o, a, k: 3)
        with pytest.raises(RuntimeError) as e:
            opt.step()
        errors.append(str(e.value))
    # The message starts with the step function's repr (its address differs).
    assert errors[0].split(" must ")[1] == errors[1].split(" must ")[1]
    assert errors[0].startswith("<function ") and ".step at 0x" in errors[0]


def run_state_dict_hooks(lib):
    """The calls and results of state_dict/load_state_dict with hooks, as a comparable record."""
    w, opt = make(lib)
    closure_for(opt, w)()
    opt.step()
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("sd-pre-1"))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd-pre-0"), prepend=True)

    def add_note(o, sd):
        log.append("sd-post-1")
        sd["note"] = "kept"

    def replace(o, sd):
        log.append("sd-post-0")
        return {**sd, "extra": len(sd["state"])}

    opt.register_state_dict_post_hook(add_note)
    opt.register_state_dict_post_hook(replace, prepend=True)
    sd = opt.state_dict()
    record = [sorted(sd), sd["note"], sd["extra"]]

    def halve_lr(o, sd):
        log.append("load-pre")
        record.append(sorted(sd))
        groups = [{**g, "lr": g["lr"] / 2} for g in sd["param_groups"]]
        return {"state": sd["state"], "param_groups": groups}

    h = opt.register_load_state_dict_pre_hook(halve_lr)
    opt.register_load_state_dict_post_hook(lambda o: log.append(("load-post", o.param_groups[0]["lr"])))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load-post-0"), prepend=True)
    opt.load_state_dict(sd)
    record.append(sorted(sd))  # the caller's dict is unchanged
    h.remove()
    opt.load_state_dict(sd)
    buf = opt.state[w]["momentum_buffer"]
    return log, record, buf.detach().numpy().tolist()


def test_state_dict_hooks_match_torch():
    log_e, record_e, buf_e = run_state_dict_hooks(ember)
    log_t, record_t, buf_t = run_state_dict_hooks(torch)
    assert log_e == log_t
    assert record_e == record_t
    assert buf_e == buf_t


def test_hooks_are_not_pickled():
    import pickle

    w, opt = make(ember)
    opt.register_state_dict_post_hook(lambda o, sd: None)
    opt.register_step_pre_hook(lambda o, a, k: None)
    clone = pickle.loads(pickle.dumps(opt))
    assert not clone._state_dict_post_hooks and not clone._step_pre_hooks
    assert opt._state_dict_post_hooks and opt._step_pre_hooks
