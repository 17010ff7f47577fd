"""A GPT language model (decoder-only transformer), nanoGPT-sized and nanoGPT-shaped.

Token and position embeddings, ``n_layer`` pre-LayerNorm blocks of causal self-attention and
a GELU MLP, a final LayerNorm and a language-model head whose weight is the token embedding's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import nn
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..ops.creation import arange, multinomial
from ..ops.join import cat
from ..ops.sort import topk
from ..optim import AdamW

__all__ = ["GPT", "GPTConfig"]


@dataclass
class GPTConfig:
    """The shape of a ``GPT``.

    Args:
        block_size: the longest context (number of positions) the model sees.
        vocab_size: number of tokens.
        n_layer: number of transformer blocks.
        n_head: attention heads per block (``n_embd`` must be divisible by it).
        n_embd: the model width C.
        dropout: dropout probability on embeddings, attention weights and residual branches.
        bias: biases in the Linear layers and LayerNorms.
    """

    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions 0..t."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.n_embd % config.n_head != 0:
            raise ValueError(f"GPTConfig: n_embd={config.n_embd} must be divisible by n_head={config.n_head}")
        # query, key and value projections of all heads in one matrix product
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again: (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward network: C -> 4C -> GELU -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A GPT language model.

    Args:
        config: a ``GPTConfig``.

    Parameter names follow nanoGPT (``transformer.wte.weight``, ``transformer.h.0.attn.c_attn.weight``,
    ..., ``lm_head.weight``), and ``lm_head.weight`` is the same Parameter as
    ``transformer.wte.weight``.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.vocab_size < 1 or config.block_size < 1:
            raise ValueError(f"GPTConfig: vocab_size and block_size must be positive, got "
                             f"vocab_size={config.vocab_size}, block_size={config.block_size}")
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying: the output projection reads tokens off the input embedding (fewer
        # parameters, and each embedding row learns from both ends)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # residual projections scaled down so the residual stream's variance does not grow with depth
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding: bool = True) -> int:
        """The number of parameters; with ``non_embedding``, without the position embeddings
        (the token embedding is counted, as it is also the output layer)."""
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Next-token logits for the token indices ``idx`` and, with ``targets``, their mean
        cross-entropy (targets of -1 are ignored).

        Shape:
            idx (B, T) int64 with T <= block_size, targets (B, T) ->
            logits (B, T, vocab_size) and a scalar loss; without targets only the last
            position's logits are computed, (B, 1, vocab_size), and loss is None.
        """
        if idx.dim() != 2:
            raise ValueError(f"GPT: expected token indices of shape (B, T), got shape {tuple(idx.shape)}")
        t = idx.size(1)
        if t > self.config.block_size:
            raise ValueError(f"GPT: cannot forward a sequence of length {t}, block_size is only "
                             f"{self.config.block_size}; crop the context to its last {self.config.block_size} "
                             f"tokens (idx[:, -block_size:])")
        pos = arange(0, t, dtype=idx.dtype, device=idx.device)  # (T,)
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        pos_emb = self.transformer.wpe(pos)  # (T, C)
        x = self.transformer.drop(tok_emb + pos_emb)  # (B, T, C)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)  # (B, T, vocab_size)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
            return logits, loss
        # generation needs only the next token: project the last position alone
        return self.lm_head(x[:, [-1], :]), None  # (B, 1, vocab_size)

    def configure_optimizers(self, weight_decay: float, learning_rate: float,
                             betas: tuple[float, float]) -> AdamW:
        """AdamW where matrices (weights of Linear layers and embeddings) decay and vectors
        (biases, LayerNorm weights) do not."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        return AdamW(groups, lr=learning_rate, betas=betas)

    @no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None) -> Tensor:
        """Extend each row of ``idx`` (B, T) by ``max_new_tokens`` sampled tokens, each fed back in;
        the context is cropped to the last ``block_size`` tokens.

        Args:
            temperature: divides the logits (below 1: more conservative, above 1: more random).
            top_k: sample only among the ``top_k`` most likely tokens.
        Returns:
            (B, T + max_new_tokens) token indices.
        """
        if temperature <= 0:
            raise ValueError(f"GPT.generate: temperature must be positive, got {temperature}")
        bs = self.config.block_size
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= bs else idx[:, -bs:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature  # (B, vocab_size)
            if top_k is not None:
                v, _ = topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = multinomial(probs, num_samples=1)  # (B, 1)
            idx = cat((idx, idx_next), dim=1)
        return idx
