"""ember.text.GPT: shapes, initialisation, weight tying, generation, optimizer groups, and parity
with the same architecture written in PyTorch (ember's weights loaded into the replica)."""
import math

import numpy as np
import pytest

import ember
from ember.text import GPT, GPTConfig
from helpers import assert_close

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional

SMALL = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=16)


# ---- the PyTorch replica: the same blocks, names and computation --------------------------
class TorchAttention(tnn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c_attn = tnn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.c_proj = tnn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.resid_dropout = tnn.Dropout(c.dropout)
        self.n_head, self.n_embd = c.n_head, c.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.c_attn(x).split(self.n_embd, dim=2))
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class TorchMLP(tnn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.c_fc = tnn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.gelu = tnn.GELU()
        self.c_proj = tnn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = tnn.Dropout(c.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class TorchBlock(tnn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = TorchAttention(c)
        self.ln_2 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = TorchMLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(tnn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.transformer = tnn.ModuleDict(dict(
            wte=tnn.Embedding(c.vocab_size, c.n_embd), wpe=tnn.Embedding(c.block_size, c.n_embd),
            drop=tnn.Dropout(c.dropout), h=tnn.ModuleList([TorchBlock(c) for _ in range(c.n_layer)]),
            ln_f=tnn.LayerNorm(c.n_embd, bias=c.bias)))
        self.lm_head = tnn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx, targets=None):
        t = idx.size(1)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(torch.arange(t)))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        return logits, TF.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def twins(**overrides):
    config = GPTConfig(**{**SMALL, **overrides})
    model = GPT(config)
    replica = TorchGPT(config)
    replica.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    return model, replica


def tokens(shape, high, seed=0):
    arr = np.random.default_rng(seed).integers(0, high, size=shape)
    return ember.tensor(arr), torch.tensor(arr)


# ---- parity ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bias, T", [(True, 8), (False, 5), (True, 1)])
def test_logits_loss_and_gradients_match_torch(bias, T):
    model, replica = twins(bias=bias)
    (idx, tidx), (tgt, ttgt) = tokens((3, T), 11, 0), tokens((3, T), 11, 1)
    logits, loss = model(idx, tgt)
    tlogits, tloss = replica(tidx, ttgt)
    assert_close(logits, tlogits, atol=1e-5, what="logits")
    assert_close(loss, tloss, atol=1e-5, what="loss")
    loss.backward()
    tloss.backward()
    named = dict(model.named_parameters())
    assert list(named) == [n for n, _ in replica.named_parameters()]
    for name, p in replica.named_parameters():
        assert_close(named[name].grad, p.grad, atol=1e-5, rtol=1e-3, what=f"grad of {name}")


def test_inference_logits_match_torch_and_ignore_index():
    model, replica = twins()
    (idx, tidx) = tokens((2, 6), 11)
    logits, loss = model(idx)
    tlogits, _ = replica(tidx)
    assert loss is None and tuple(logits.shape) == (2, 1, 11)
    assert_close(logits, tlogits, what="last-position logits")
    # targets of -1 are left out of the mean, as in the replica
    tgt = np.random.default_rng(3).integers(0, 11, size=(2, 6))
    tgt[:, :2] = -1
    _, loss = model(idx, ember.tensor(tgt))
    _, tloss = replica(tidx, torch.tensor(tgt))
    assert_close(loss, tloss, what="loss with ignored targets")


def test_float64_matches_torch():
    model, replica = twins()
    model.double()
    replica.double()
    (idx, tidx), (tgt, ttgt) = tokens((2, 7), 11, 4), tokens((2, 7), 11, 5)
    logits, loss = model(idx, tgt)
    tlogits, tloss = replica(tidx, ttgt)
    assert_close(logits, tlogits, atol=1e-12, rtol=1e-10)
    assert_close(loss, tloss, atol=1e-12, rtol=1e-10)


def test_configure_optimizers_steps_like_torch_adamw():
    model, replica = twins()
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-2, betas=(0.9, 0.95))
    decay = [p for p in replica.parameters() if p.dim() >= 2]
    no_decay = [p for p in replica.parameters() if p.dim() < 2]
    topt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=1e-2, betas=(0.9, 0.95))
    for step in range(3):
        (idx, tidx), (tgt, ttgt) = tokens((2, 8), 11, 10 + step), tokens((2, 8), 11, 20 + step)
        for m, o, x, y in ((model, opt, idx, tgt), (replica, topt, tidx, ttgt)):
            o.zero_grad()
            m(x, y)[1].backward()
            o.step()
    # Adam moves every weight by about lr per step whatever the gradient's size, so float32
    # rounding in a near-zero gradient shows up as a difference far below one step
    for (name, p), (tname, tp) in zip(model.named_parameters(), replica.named_parameters()):
        assert name == tname
        assert_close(p.detach(), tp.detach(), atol=1e-4, what=name)


def test_optimizer_groups():
    model = GPT(GPTConfig(**SMALL))
    opt = model.configure_optimizers(0.1, 3e-4, (0.9, 0.99))
    assert isinstance(opt, ember.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    # 2 embeddings (the tied lm_head counted once) + 4 matrices per layer
    assert len(decay["params"]) == 2 + 4 * SMALL["n_layer"]
    # LayerNorm weight and bias (2 per block + ln_f) and 4 Linear biases per layer
    assert len(no_decay["params"]) == 2 * (2 * SMALL["n_layer"] + 1) + 4 * SMALL["n_layer"]
    assert opt.defaults["lr"] == 3e-4 and opt.defaults["betas"] == (0.9, 0.99)


# ---- the model on its own --------------------------------------------------------------------
def test_forward_shapes():
    model = GPT(GPTConfig(**SMALL))
    idx, _ = tokens((4, 8), 11)
    logits, loss = model(idx, idx)
    assert tuple(logits.shape) == (4, 8, 11) and loss.dim() == 0 and logits.dtype == ember.float32
    logits, loss = model(idx[:, :3])
    assert tuple(logits.shape) == (4, 1, 11) and loss is None


def test_loss_at_init_is_about_log_vocab():
    ember.manual_seed(1)
    model = GPT(GPTConfig(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32))
    idx, _ = tokens((8, 16), 50, 1)
    tgt, _ = tokens((8, 16), 50, 2)
    _, loss = model(idx, tgt)
    assert abs(loss.item() - math.log(50)) < 0.05


def test_weight_tying_is_one_parameter():
    model = GPT(GPTConfig(**SMALL))
    assert model.lm_head.weight is model.transformer.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "transformer.wte.weight" in names and "lm_head.weight" not in names
    assert "lm_head.weight" in model.state_dict()
    # a gradient through the head and the embedding lands on the one tensor
    idx, _ = tokens((2, 4), 11)
    model(idx, idx)[1].backward()
    assert model.lm_head.weight.grad is model.transformer.wte.weight.grad is not None
    # loading a state_dict keeps them tied
    other = GPT(GPTConfig(**SMALL))
    other.load_state_dict(model.state_dict())
    assert other.lm_head.weight is other.transformer.wte.weight
    np.testing.assert_array_equal(other.lm_head.weight.detach().numpy(), model.lm_head.weight.detach().numpy())


def test_initialisation():
    ember.manual_seed(0)
    config = GPTConfig(block_size=32, vocab_size=64, n_layer=3, n_head=4, n_embd=64)
    model = GPT(config)
    for name, p in model.named_parameters():
        w = p.detach().numpy()
        if name.endswith("c_proj.weight"):
            assert abs(w.std() - 0.02 / math.sqrt(2 * config.n_layer)) < 0.001, name
        elif p.dim() == 2:
            assert abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002, name
        elif ".ln_" in name:
            assert np.all(w == (1.0 if name.endswith("weight") else 0.0)), name
        else:
            assert np.all(w == 0.0), f"{name}: Linear biases start at zero"


def test_get_num_params():
    model, replica = twins()
    total = sum(p.numel() for p in replica.parameters())
    assert model.get_num_params(non_embedding=False) == total
    assert model.get_num_params() == total - SMALL["block_size"] * SMALL["n_embd"]


def test_generate_length_range_and_determinism():
    model = GPT(GPTConfig(**SMALL))
    idx, _ = tokens((2, 3), 11)
    ember.manual_seed(123)
    out = model.generate(idx, max_new_tokens=12)  # longer than block_size: the context is cropped
    assert tuple(out.shape) == (2, 15) and out.dtype == ember.int64 and not out.requires_grad
    np.testing.assert_array_equal(out[:, :3].numpy(), idx.numpy())
    assert out.min().item() >= 0 and out.max().item() < 11
    ember.manual_seed(123)
    np.testing.assert_array_equal(model.generate(idx, 12).numpy(), out.numpy())
    ember.manual_seed(124)
    assert not np.array_equal(model.generate(idx, 12, temperature=2.0).numpy(), out.numpy())


def test_generate_top_k_1_is_greedy():
    model = GPT(GPTConfig(**SMALL))
    idx, _ = tokens((3, 2), 11, 7)
    out = model.generate(idx, max_new_tokens=10, top_k=1)
    greedy = idx
    with ember.no_grad():
        for _ in range(10):
            logits, _ = model(greedy[:, -SMALL["block_size"]:])
            greedy = ember.cat([greedy, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    np.testing.assert_array_equal(out.numpy(), greedy.numpy())


def test_generate_top_k_samples_only_the_k_most_likely():
    model = GPT(GPTConfig(**SMALL))
    idx, _ = tokens((64, 4), 11, 8)
    with ember.no_grad():
        allowed = model(idx)[0][:, -1].topk(3).indices.numpy()
    nxt = model.generate(idx, max_new_tokens=1, top_k=3)[:, -1].numpy()
    assert all(n in row for n, row in zip(nxt, allowed))


def test_dropout_only_in_training():
    model = GPT(GPTConfig(**SMALL, dropout=0.5))
    idx, _ = tokens((2, 8), 11)
    model.eval()
    a, b = model(idx, idx)[0], model(idx, idx)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    model.train()
    assert not np.array_equal(model(idx, idx)[0].detach().numpy(), a.detach().numpy())


def test_errors():
    with pytest.raises(ValueError, match="n_embd=10 must be divisible by n_head=3"):
        GPT(GPTConfig(**{**SMALL, "n_embd": 10, "n_head": 3}))
    model = GPT(GPTConfig(**SMALL))
    with pytest.raises(ValueError, match=r"sequence of length 9, block_size is only 8.*idx\[:, -block_size:\]"):
        model(ember.zeros(1, 9, dtype=ember.int64))
    with pytest.raises(ValueError, match=r"shape \(B, T\), got shape \(5,\)"):
        model(ember.zeros(5, dtype=ember.int64))
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate(ember.zeros(1, 1, dtype=ember.int64), 2, temperature=0.0)
