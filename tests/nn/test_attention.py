"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch."""
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from helpers import assert_close, check_case, check_gradcheck, check_module_case, make_inputs, to_torch

torch = pytest.importorskip("torch")
tnn = torch.nn


def sdpa(m, *args, **kwargs):
    return m.nn.functional.scaled_dot_product_attention(*args, **kwargs)


def bool_mask(shape, seed=0, dead_row=True):
    """A random bool mask (True: attend) with at least one True per row; with ``dead_row``,
    row 1 of the last two dims is all False (a query that may attend to nothing)."""
    rng = np.random.default_rng(seed)
    m = rng.random(shape) > 0.5
    m[..., 0] = True
    if dead_row:
        m[..., 1, :] = False
    return m


# ---- scaled_dot_product_attention: values and gradients of q, k, v (and float masks) ------------
SDPA_CASES = {
    "3d": ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {}),
    "4d": ([(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6)], {}),
    "unbatched": ([(3, 4), (5, 4), (5, 6)], {}),
    "broadcast_batch": ([(2, 2, 3, 4), (5, 4), (1, 5, 6)], {}),
    "scale": ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"scale": 0.3}),
    "causal_square": ([(2, 4, 4), (2, 4, 4), (2, 4, 3)], {"is_causal": True}),
    "causal_L<S": ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"is_causal": True}),
    "causal_L>S": ([(2, 2, 5, 4), (2, 2, 3, 4), (2, 2, 3, 6)], {"is_causal": True, "scale": 0.7}),
    "empty_L": ([(2, 0, 4), (2, 5, 4), (2, 5, 6)], {}),
    "empty_S": ([(2, 3, 4), (2, 0, 4), (2, 0, 6)], {}),
    "empty_batch": ([(0, 3, 4), (0, 5, 4), (0, 5, 6)], {"is_causal": True}),
    "gqa": ([(1, 4, 3, 4), (1, 2, 5, 4), (1, 1, 5, 6)], {"enable_gqa": True}),
}


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_parity(name):
    shapes, kwargs = SDPA_CASES[name]
    check_case(shapes, lambda m, q, k, v: sdpa(m, q, k, v, **kwargs))


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_sdpa_dtypes(dtype):
    check_case([(2, 3, 4), (2, 5, 4), (2, 5, 6)], lambda m, q, k, v: sdpa(m, q, k, v, is_causal=True),
               dtype=dtype)


@pytest.mark.parametrize("mask_shape,q_shape", [((3, 5), (2, 3, 4)), ((2, 3, 5), (2, 3, 4)),
                                                ((2, 1, 3, 5), (2, 2, 3, 4)), ((1, 5), (2, 3, 4)),
                                                ((5,), (2, 3, 4))])
def test_sdpa_bool_mask(mask_shape, q_shape):
    """True takes part; a row with no True gives zeros (and zero gradients), as PyTorch 2.13."""
    mask = bool_mask(mask_shape, dead_row=len(mask_shape) > 1 and mask_shape[-2] > 1)
    kv = q_shape[:-2] + (5,)
    check_case([q_shape, kv + (4,), kv + (6,)],
               lambda m, q, k, v: sdpa(m, q, k, v, attn_mask=m.tensor(mask)))


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 3, 5), (1, 5), ()])
def test_sdpa_float_mask_and_its_gradient(mask_shape):
    check_case([(2, 3, 4), (2, 5, 4), (2, 5, 6), mask_shape],
               lambda m, q, k, v, mask: sdpa(m, q, k, v, attn_mask=mask))


def test_sdpa_float_mask_with_fully_masked_row():
    mask = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    mask[0, 1:] = -np.inf
    mask[2] = -np.inf
    out, _ = check_case([(2, 3, 4), (2, 5, 4), (2, 5, 6), (3, 5)],
                        lambda m, q, k, v, msk: sdpa(m, q, k, v, attn_mask=msk),
                        values=[None, None, None, mask])
    assert not np.any(out.detach().cpu().numpy()[:, 2])


def test_sdpa_gradcheck():
    check_gradcheck([(2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)],
                    lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m))
    check_gradcheck([(2, 4, 3), (2, 3, 3), (2, 3, 2)],
                    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5))
    mask = ember.tensor(bool_mask((3, 5)))
    check_gradcheck([(3, 2), (5, 2), (5, 3)],
                    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_sdpa_gradcheck_with_dropout():
    def fn(q, k, v):
        ember.manual_seed(0)  # the same dropout mask on every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    check_gradcheck([(2, 3, 4), (2, 5, 4), (2, 5, 3)], fn)


def test_sdpa_double_backward_matches_torch():
    mask = bool_mask((3, 5))
    ins_e, ins_t = make_inputs([(2, 3, 4), (2, 5, 4), (2, 5, 6)], "float64")
    cot = np.random.default_rng(1).standard_normal((2, 3, 6))
    for m, (q, k, v) in ((ember, ins_e), (torch, ins_t)):
        out = sdpa(m, q, k, v, attn_mask=m.tensor(mask))
        gq, = m.autograd.grad(out, q, m.tensor(cot), create_graph=True)
        (gq ** 2).sum().backward()
    for e, t in zip(ins_e, ins_t):
        assert_close(e.grad, t.grad, 1e-10, 1e-8)


def test_sdpa_dropout_is_dropout_of_the_weights():
    ins, _ = make_inputs([(2, 3, 4), (2, 5, 4), (2, 5, 6)], requires_grad=False)
    q, k, v = ins
    ember.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(7)
    weights = F.dropout(F.softmax(q @ k.mT / 2.0, -1), 0.5)
    assert_close(out, to_torch(weights @ v))
    assert (weights.cpu().numpy() == 0).any()
    # unbiased: the mean over many draws approaches the output without dropout
    outs = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).cpu().numpy() for _ in range(400)], 0)
    np.testing.assert_allclose(outs, F.scaled_dot_product_attention(q, k, v).cpu().numpy(), atol=0.15)
    assert not np.any(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).cpu().numpy())


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"attn_mask": "bool", "is_causal": True}, RuntimeError,
     "Explicit attn_mask should not be set when is_causal=True"),
    ([(4,), (4,), (4,)], {}, RuntimeError, "Expected query, key, and value to all be +at least 2 dimensional"),
    ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"attn_mask": "int64"}, RuntimeError,
     "Expected attn_mask dtype to be bool or float or to match query dtype"),
    ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"attn_mask": "float64"}, RuntimeError,
     "Expected attn_mask dtype to be bool or float or to match query dtype"),
    ([(2, 3, 4), (2, 5, 4), (2, 5, 6)], {"dropout_p": 1.5}, RuntimeError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
])
def test_sdpa_errors_match_torch(args, kwargs, exc, match):
    for m in (torch, ember):
        ins = [m.zeros(s) for s in args]
        kw = dict(kwargs)
        if "attn_mask" in kw:
            kw["attn_mask"] = m.zeros(3, 5, dtype=getattr(m, kw["attn_mask"]))
        with pytest.raises(exc, match=match):
            sdpa(m, *ins, **kw)


def test_sdpa_errors_name_the_shapes():
    q, k, v = ember.zeros(2, 3, 4), ember.zeros(2, 5, 4), ember.zeros(2, 5, 6)
    with pytest.raises(RuntimeError, match=r"Expected query, key, and value to have the same dtype, but got "
                                           r"query.dtype: ember.float32 key.dtype: ember.float64"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(RuntimeError, match=r"query and key must have the same embedding size .* query \[2, 3, 4\] "
                                           r"and key \[2, 5, 3\]"):
        F.scaled_dot_product_attention(q, ember.zeros(2, 5, 3), v)
    with pytest.raises(RuntimeError, match=r"key and value must have the same sequence length .* value \[2, 4, 6\]"):
        F.scaled_dot_product_attention(q, k, ember.zeros(2, 4, 6))
    with pytest.raises(RuntimeError, match=r"batch dims of query \[2, 3, 4\], key \[3, 5, 4\] .* do not broadcast"):
        F.scaled_dot_product_attention(q, ember.zeros(3, 5, 4), ember.zeros(3, 5, 6))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \[4, 5\] does not broadcast to .* \[2, 3, 5\]"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(4, 5))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \[3, 2, 3, 5\] does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(3, 2, 3, 5))
    with pytest.raises(RuntimeError, match="expected floating point query, key and value, got ember.int64"):
        F.scaled_dot_product_attention(q.long(), k.long(), v.long())
    with pytest.raises(RuntimeError, match="query has 4 heads .* key has 3"):
        F.scaled_dot_product_attention(ember.zeros(1, 4, 3, 2), ember.zeros(1, 3, 5, 2), ember.zeros(1, 3, 5, 2),
                                       enable_gqa=True)
    with pytest.raises(TypeError, match=r"argument 'query' \(position 1\) must be Tensor, not float"):
        F.scaled_dot_product_attention(1.0, k, v)
    with pytest.raises(TypeError, match=r"argument 'attn_mask' \(position 4\) must be Tensor, not ndarray"):
        F.scaled_dot_product_attention(q, k, v, np.zeros((3, 5)))


# ---- MultiheadAttention ----------------------------------------------------------------------------
def kpm(m, kind, n=2, s=5):
    """A key_padding_mask (True / -inf: ignore that key), batch 1 padded after position 2."""
    pad = np.zeros((n, s), dtype=bool)
    pad[1, 3:] = True
    if kind == "bool":
        return m.tensor(pad)
    return m.tensor(np.where(pad, -np.inf, 0.0).astype(np.float32))


def amask(m, kind, shape):
    rng = np.random.default_rng(5)
    if kind == "bool":  # True: not attended
        mask = rng.random(shape) > 0.7
        mask[..., 0] = False
        return m.tensor(mask)
    return m.tensor(rng.standard_normal(shape).astype(np.float32))


MHA_CASES = {
    # name: (constructor kwargs, input shapes, call(m, mha, *inputs))
    "self": ({}, [(3, 2, 8)], lambda m, a, x: a(x, x, x)),
    "self_batch_first": ({"batch_first": True}, [(2, 3, 8)], lambda m, a, x: a(x, x, x)),
    "cross_kv_same": ({}, [(3, 2, 8), (5, 2, 8)], lambda m, a, q, kv: a(q, kv, kv)),
    "cross_batch_first": ({"batch_first": True}, [(2, 3, 8), (2, 5, 8), (2, 5, 8)],
                          lambda m, a, q, k, v: a(q, k, v)),
    "no_weights": ({}, [(3, 2, 8), (5, 2, 8)], lambda m, a, q, kv: a(q, kv, kv, need_weights=False)),
    "per_head_weights": ({}, [(3, 2, 8), (5, 2, 8)],
                         lambda m, a, q, kv: a(q, kv, kv, average_attn_weights=False)),
    "kpm_bool": ({}, [(3, 2, 8), (5, 2, 8)], lambda m, a, q, kv: a(q, kv, kv, key_padding_mask=kpm(m, "bool"))),
    "kpm_float_no_weights": ({"batch_first": True}, [(2, 3, 8), (2, 5, 8)],
                             lambda m, a, q, kv: a(q, kv, kv, key_padding_mask=kpm(m, "float"), need_weights=False)),
    "mask2d_bool": ({}, [(3, 2, 8), (5, 2, 8)],
                    lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "bool", (3, 5)))),
    "mask2d_float_no_weights": ({}, [(3, 2, 8), (5, 2, 8)],
                                lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "float", (3, 5)),
                                                      need_weights=False)),
    "mask3d_float": ({}, [(3, 2, 8), (5, 2, 8)],
                     lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "float", (8, 3, 5)),
                                           average_attn_weights=False)),
    "mask3d_bool_and_kpm": ({}, [(3, 2, 8), (5, 2, 8)],
                            lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "bool", (8, 3, 5)),
                                                  key_padding_mask=kpm(m, "bool"), need_weights=False)),
    "kdim_vdim": ({"kdim": 3, "vdim": 5}, [(3, 2, 8), (4, 2, 3), (4, 2, 5)], lambda m, a, q, k, v: a(q, k, v)),
    "kdim_vdim_no_bias": ({"kdim": 3, "vdim": 5, "bias": False, "batch_first": True},
                          [(2, 3, 8), (2, 4, 3), (2, 4, 5)], lambda m, a, q, k, v: a(q, k, v, need_weights=False)),
    "add_bias_kv": ({"add_bias_kv": True}, [(3, 2, 8), (5, 2, 8)],
                    lambda m, a, q, kv: a(q, kv, kv, key_padding_mask=kpm(m, "float"),
                                          attn_mask=amask(m, "float", (3, 5)))),
    "add_zero_attn": ({"add_zero_attn": True}, [(3, 2, 8), (5, 2, 8)],
                      lambda m, a, q, kv: a(q, kv, kv, key_padding_mask=kpm(m, "float"))),
    "bias_kv_and_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, [(3, 2, 8), (5, 2, 8)],
                              lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "bool", (8, 3, 5)),
                                                    need_weights=False)),
    "no_bias": ({"bias": False}, [(3, 2, 8)], lambda m, a, x: a(x, x, x)),
    "unbatched": ({}, [(3, 8), (5, 8)], lambda m, a, q, kv: a(q, kv, kv, key_padding_mask=kpm(m, "bool")[1])),
    "unbatched_mask3d": ({"batch_first": True}, [(3, 8), (5, 8)],
                         lambda m, a, q, kv: a(q, kv, kv, attn_mask=amask(m, "bool", (4, 3, 5)),
                                               need_weights=False)),
    "causal": ({"batch_first": True}, [(2, 4, 8)],
               lambda m, a, x: a(x, x, x, attn_mask=m.nn.Transformer.generate_square_subsequent_mask(4),
                                 is_causal=True, need_weights=False)),
    "causal_with_weights": ({}, [(4, 2, 8)],
                            lambda m, a, x: a(x, x, x, attn_mask=m.nn.Transformer.generate_square_subsequent_mask(4),
                                              is_causal=True)),
}


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multihead_attention_parity(name):
    kwargs, shapes, call = MHA_CASES[name]
    torch.manual_seed(0)
    check_module_case(nn.MultiheadAttention(8, 4, **kwargs), tnn.MultiheadAttention(8, 4, **kwargs), shapes, call)


def test_multihead_attention_float64_and_train_mode_without_dropout():
    e, t = nn.MultiheadAttention(6, 2, dropout=0.0), tnn.MultiheadAttention(6, 2, dropout=0.0)
    assert e.training and t.training
    check_module_case(e, t, [(3, 2, 6), (4, 2, 6)], lambda m, a, q, kv: a(q, kv, kv), dtype="float64")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the NaN rows
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_fully_padded_sequence(need_weights):
    """A batch element whose keys are all padding: NaN with need_weights (PyTorch's explicit
    softmax), zeros without (scaled_dot_product_attention's)."""
    def call(m, a, q, kv):
        pad = m.zeros(2, 5, dtype=m.bool)
        pad[1] = True
        return a(q, kv, kv, key_padding_mask=pad, need_weights=need_weights)
    check_module_case(nn.MultiheadAttention(8, 2), tnn.MultiheadAttention(8, 2), [(3, 2, 8), (5, 2, 8)], call)
    x = ember.randn(3, 2, 8)
    pad = ember.tensor([[False] * 3, [True] * 3])
    out = nn.MultiheadAttention(8, 2)(x, x, x, key_padding_mask=pad, need_weights=need_weights)[0]
    out = out.detach().cpu().numpy()
    assert np.isnan(out[:, 1]).all() == need_weights and np.isfinite(out[:, 0]).all()


def test_multihead_attention_eval_matches_torch_fast_path():
    torch.manual_seed(0)
    e, t = nn.MultiheadAttention(8, 2, dropout=0.3, batch_first=True), tnn.MultiheadAttention(8, 2, dropout=0.3,
                                                                                               batch_first=True)
    e.load_state_dict(t.state_dict())
    e.eval(), t.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)
    with torch.no_grad():
        out_t, w_t = t(*(torch.tensor(x),) * 3)
    xe = ember.tensor(x)
    out_e, w_e = e(xe, xe, xe)
    assert_close(out_e, out_t, 1e-5, 1e-4)
    assert_close(w_e, w_t, 1e-5, 1e-4)


def test_multihead_attention_dropout_on_weights():
    ember.manual_seed(0)
    a = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.randn(4, 3, 8)
    w_eval = a.eval()(x, x, x, average_attn_weights=False)[1].detach().cpu().numpy()
    w_train = a.train()(x, x, x, average_attn_weights=False)[1].detach().cpu().numpy()
    dropped = w_train == 0
    assert dropped.any() and not dropped.all()
    np.testing.assert_allclose(w_train[~dropped], 2 * w_eval[~dropped], rtol=1e-5)


def test_multihead_attention_init_and_repr():
    ember.manual_seed(0)
    a = nn.MultiheadAttention(256, 4, add_bias_kv=True)
    w = a.in_proj_weight.detach().cpu().numpy()
    bound = math.sqrt(6 / (256 + 3 * 256))  # xavier_uniform_ of (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert not a.in_proj_bias.detach().cpu().numpy().any() and not a.out_proj.bias.detach().cpu().numpy().any()
    assert np.abs(a.out_proj.weight.detach().cpu().numpy()).max() <= 1 / math.sqrt(256)
    bk = a.bias_k.detach().cpu().numpy()
    assert bk.shape == (1, 1, 256) and abs(bk.std() - 1 / math.sqrt(256)) < 0.2 / math.sqrt(256)
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "bias": False}):
        e, t = nn.MultiheadAttention(8, 2, **kwargs), tnn.MultiheadAttention(8, 2, **kwargs)
        assert repr(e) == repr(t)
        assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    sep = nn.MultiheadAttention(8, 2, kdim=3)
    assert sep.in_proj_weight is None and sep.k_proj_weight.shape == (8, 3) and not sep._qkv_same_embed_dim
    assert (a.head_dim, a.batch_first, a.bias_v.shape) == (64, False, (1, 1, 256))


def test_multihead_attention_errors_match_torch():
    for m in (torch, ember):
        with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
            m.nn.MultiheadAttention(6, 4)
        with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0, got embed_dim=0"):
            m.nn.MultiheadAttention(0, 4)
        a = m.nn.MultiheadAttention(4, 2)
        x3, x2 = m.zeros(3, 2, 4), m.zeros(3, 4)
        with pytest.raises(AssertionError, match="For batched \\(3-D\\) `query`, expected `key` and `value` to be "
                                                 "3-D but found 2-D and 3-D tensors respectively"):
            a(x3, x2, x3)
        with pytest.raises(AssertionError, match="query should be unbatched 2D or batched 3D tensor but received "
                                                 "4-D query tensor"):
            a(m.zeros(1, 3, 2, 4), x3, x3)
        with pytest.raises(AssertionError, match="expected `key_padding_mask` to be `None` or 1-D but found 2-D"):
            a(x2, x2, x2, key_padding_mask=m.zeros(1, 3, dtype=m.bool))
        with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask are supported"):
            a(x3, x3, x3, key_padding_mask=m.zeros(2, 3, dtype=m.int64))
        with pytest.raises(AssertionError, match="Expected key_padded_mask.shape\\[1\\] to be 3, but got 4"):
            a(x3, x3, x3, key_padding_mask=m.zeros(2, 4, dtype=m.bool))
        with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is .*\\[3, 4\\].*, but should be "
                                               "\\(3, 3\\)."):
            a(x3, x3, x3, attn_mask=m.zeros(3, 4))
        with pytest.raises(RuntimeError, match="The shape of the 3D attn_mask is .*\\[2, 3, 3\\].*, but should be "
                                               "\\(4, 3, 3\\)."):
            a(x3, x3, x3, attn_mask=m.zeros(2, 3, 3))
        with pytest.raises(AssertionError, match="Expected `attn_mask` shape to be \\(2, 3, 3\\) but got"):
            a(x2, x2, x2, attn_mask=m.zeros(1, 3, 3))
        with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
            a(x3, x3, x3, is_causal=True)
        with pytest.raises(AssertionError, match="was expecting embedding dimension of 4, but got 5"):
            a(m.zeros(3, 2, 5), m.zeros(3, 2, 5), m.zeros(3, 2, 5))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            a(x3, x3, x3, key_padding_mask=m.zeros(2, 3, dtype=m.bool), attn_mask=m.zeros(3, 3))
        assert any("Support for mismatched key_padding_mask and attn_mask is deprecated" in str(w.message)
                   for w in caught)


def test_multi_head_attention_forward_static_kv():
    """The functional form with precomputed per-head keys and values (static_k / static_v)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              [(3, 2, 4), (12, 4), (12,), (4, 4), (4,), (4, 5, 2), (4, 5, 2)]]
    outs = []
    for m in (ember, torch):
        q, w_in, b_in, w_out, b_out, sk, sv = (m.tensor(a) for a in arrays)
        outs.append(m.nn.functional.multi_head_attention_forward(
            q, q, q, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out, static_k=sk, static_v=sv))
    assert_close(outs[0], outs[1])
    with pytest.raises(AssertionError, match="expecting static_k.size\\(0\\) of 4, but got 3"):
        F.multi_head_attention_forward(*(ember.tensor(a) for a in arrays[:1] * 3), 4, 2,
                                       *(ember.tensor(a) for a in arrays[1:3]), None, None, False, 0.0,
                                       *(ember.tensor(a) for a in arrays[3:5]), static_k=ember.zeros(3, 5, 2))


def test_multi_head_attention_forward_gradcheck():
    def fn(x, kv, w_in, b_in, w_out, b_out, pad):
        return F.multi_head_attention_forward(x, kv, kv, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out,
                                              key_padding_mask=pad)
    check_gradcheck([(3, 2, 4), (2, 2, 4), (12, 4), (12,), (4, 4), (4,), (2, 2)], fn)


def test_packed_heads_reach_the_products_without_copies(monkeypatch):
    """Self-attention's q, k and v are views of one packed (L, N, 3E) projection; split into
    heads they stay views, (N, heads, L, head_dim) whose first two dims do not merge, and the
    batched products read them in their strides instead of each being copied first."""
    from ember.backend import gemm
    if gemm.sgemm() is None:
        pytest.skip("oneDNN's GEMM is not in use here")
    seen = []
    real = gemm._primitive

    def counted(a, b, bias=None, out=None):
        if bias is None:
            seen.append((a.shape, b.shape, b.strides[-1]))
        return real(a, b, bias, out)
    monkeypatch.setattr(gemm, "_primitive", counted)
    length, batch, width = 64, 8, 64
    x = ember.randn(length, batch, width)
    nn.MultiheadAttention(width, 4)(x, x, x, need_weights=False)
    # the scores' product: k^T steps from key to key across the packed rows, 3 * width * batch apart
    assert seen[0] == ((batch, 4, length, 16), (batch, 4, 16, length), 3 * width * batch * 4)


@pytest.mark.parametrize("is_causal", [False, True])
def test_heads_gradients_come_out_laid_out_as_the_packed_projection(is_causal):
    """GPT-style heads split from one packed projection: the gradients of q, k and v (from the
    scores' product and the values' product) come out in the heads' own layout, (L, N, heads,
    head_dim) in memory, so the reshapes back to the projection are views; the values are
    PyTorch's."""
    length, batch, heads, head_dim = 24, 3, 4, 8
    width = heads * head_dim
    x = np.random.default_rng(0).standard_normal((length, batch, 3 * width)).astype(np.float32)
    grad = np.random.default_rng(1).standard_normal((batch, heads, length, head_dim)).astype(np.float32)
    layouts = []

    def attend(lib, qkv, keep_layout):
        q, k, v = (t.reshape(length, batch, heads, head_dim).permute(1, 2, 0, 3) for t in qkv.chunk(3, -1))
        if keep_layout:
            for t in (q, k, v):
                t.register_hook(lambda g: layouts.append(g.numpy().transpose(2, 0, 1, 3).flags.c_contiguous))
        return lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=is_causal)

    e_qkv = ember.tensor(x, requires_grad=True)
    attend(ember, e_qkv, True).backward(ember.tensor(grad))
    t_qkv = to_torch(e_qkv, True)
    attend(torch, t_qkv, False).backward(torch.from_numpy(grad))
    assert layouts == [True, True, True]
    assert_close(e_qkv.grad, t_qkv.grad, rtol=1e-4, atol=1e-5)


def test_heads_product_laid_out_for_the_merge():
    """multi-head attention's per-head outputs come out laid out as (L, N, heads, head_dim), so
    merging the heads back into rows is a view; values and gradients are matmul's (PyTorch's)."""
    from ember.ops.linalg import matmul_in_order
    rng = np.random.default_rng(2)
    length, batch, heads, head_dim = 10, 3, 2, 4
    w = rng.random((batch, heads, length, length)).astype(np.float32)
    v = rng.standard_normal((length, batch, heads, head_dim)).astype(np.float32)
    grad = rng.standard_normal((length, batch, heads, head_dim)).astype(np.float32)
    ew = ember.tensor(w, requires_grad=True)
    ev = ember.tensor(v, requires_grad=True)
    heads_v = ev.permute(1, 2, 0, 3)
    out = matmul_in_order(ew, heads_v, heads_v._data.strides).permute(2, 0, 1, 3)
    assert out._data.flags.c_contiguous
    out.backward(ember.tensor(grad))
    tw, tv = to_torch(ew, True), to_torch(ev, True)
    t_out = (tw @ tv.permute(1, 2, 0, 3)).permute(2, 0, 1, 3)
    t_out.backward(torch.from_numpy(grad))
    assert_close(out, t_out, rtol=1e-5, atol=1e-6)
    assert_close(ew.grad, tw.grad, rtol=1e-5, atol=1e-5)
    assert_close(ev.grad, tv.grad, rtol=1e-5, atol=1e-5)
