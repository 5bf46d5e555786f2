"""The time-independent bidirectional Transformer of RADD (Flax linen).

Ou, Nie, Xue, Zhu, Sun, Li, Li. "Your Absorbing Discrete Diffusion Secretly Models the Conditional
Distributions of Clean Data". ICLR 2025. arXiv:2406.03736.

RADD's reparameterisation (paper Thm. 1 / Eq. for ``c_θ``): the concrete score of absorbing diffusion is
an analytic scalar of t times the conditional distribution ``p₀(x⁰ⁱ | x_t^UM)`` of the clean token given
the unmasked tokens, so the network has **no time input**: :class:`RADDTransformer` maps a partly masked
sequence ``x_t`` to ``log c_θ(x_t) ∈ R^{L×V}``, a log-softmax over the V real tokens (the mask token gets
probability 0 by construction, since it has no output column).

Blocks are pre-norm and bidirectional: ``Y = Attn(RMSNorm(X)) + X``, ``X' = SwiGLU(RMSNorm(Y)) + Y`` with
rotary position embeddings in the attention (RMSNorm, SwiGLU and RoPE are the helpers of ``models.gla``).
The official model is a DiT ("ddit") without its adaLN time conditioning; see the package README for the
deviations (LayerNorm → RMSNorm, GELU MLP → SwiGLU, no dropout).

Dtype contract: ``dtype`` is the compute dtype (None: float32), ``param_dtype`` float32; softmax, norms and
the output log-probabilities in float32 (float64 when the compute dtype is float64, so ``dtype=float64``
with float64 params gives float64 derivatives). RNG streams: ``params`` only.

Token ids outside ``[0, vocab_size]`` raise ``ValueError`` naming ``tokens`` and the index when concrete
(:func:`kernels.common.checks.check_in_range`; a ``checkify`` check under ``jit``); an unchecked jit call
embeds them as NaN, so that sequence's outputs are NaN (attention is bidirectional), never another
embedding row's.
"""
from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from kernels.common.checks import check_in_range
from models.gla.modules import RMSNorm, SwiGLU, rope

Array = jax.Array
Dtype = Any

__all__ = ["BidirectionalAttention", "RADDBlock", "RADDTransformer"]

_init = nn.initializers.normal(stddev=0.02)


def _acc(dtype) -> jnp.dtype:
  """Softmax / log-probability dtype: float32, or float64 for float64 compute."""
  return jnp.promote_types(dtype, jnp.float32)


def _check_x(x, fn: str) -> None:
  if not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: x expected a float array, got {getattr(x, 'dtype', type(x).__name__)}")
  if x.ndim != 3:
    raise ValueError(f"{fn}: x expected shape [B, L, D], got {tuple(x.shape)}")


def _dense(features: int, name: str, dtype: Dtype | None, param_dtype: Dtype) -> nn.Dense:
  return nn.Dense(features, use_bias=False, kernel_init=_init, dtype=dtype, param_dtype=param_dtype, name=name)


class BidirectionalAttention(nn.Module):
  """Full (non-causal) multi-head softmax self-attention with RoPE and no biases.

  Attributes:
    num_heads: H (d must split into H even head widths).
    rope_theta: RoPE base.
    dtype: compute dtype (None: the input's); the softmax is float32.
  """
  num_heads: int = 4
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [B, L, D] -> [B, L, D]; every position attends to every position."""
    _check_x(x, "BidirectionalAttention")
    b, t, d = x.shape
    h = self.num_heads
    if not isinstance(h, int) or isinstance(h, bool) or h < 1 or d % h or (d // h) % 2:
      raise ValueError(f"BidirectionalAttention: num_heads expected a positive int dividing d_model={d} into even "
                       f"head widths, got {h!r}")
    dh = d // h
    dt = self.dtype or x.dtype
    x = x.astype(dt)
    pos = jnp.arange(t)
    q = rope(_dense(d, "q_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh), pos, self.rope_theta)
    k = rope(_dense(d, "k_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh), pos, self.rope_theta)
    v = _dense(d, "v_proj", dt, self.param_dtype)(x).reshape(b, t, h, dh)
    s = jnp.einsum("bthd,bshd->bhts", q, k, preferred_element_type=_acc(dt)) / math.sqrt(dh)
    p = jax.nn.softmax(s, axis=-1)
    o = jnp.einsum("bhts,bshd->bthd", p.astype(dt), v).reshape(b, t, d)
    return _dense(d, "o_proj", dt, self.param_dtype)(o)


class RADDBlock(nn.Module):
  """Pre-norm bidirectional block: ``Y = Attn(RMSNorm(X)) + X``, ``X' = SwiGLU(RMSNorm(Y)) + Y``."""
  num_heads: int = 4
  mlp_hidden: int | None = None
  norm_eps: float = 1e-6
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    """x: [B, L, D] -> [B, L, D]."""
    _check_x(x, "RADDBlock")
    kw = dict(dtype=self.dtype, param_dtype=self.param_dtype)
    hn = RMSNorm(self.norm_eps, name="attn_norm", **kw)(x)
    x = x + BidirectionalAttention(self.num_heads, self.rope_theta, name="attn", **kw)(hn).astype(x.dtype)
    hn = RMSNorm(self.norm_eps, name="mlp_norm", **kw)(x)
    return x + SwiGLU(self.mlp_hidden, name="mlp", **kw)(hn).astype(x.dtype)


class RADDTransformer(nn.Module):
  """``x_t ↦ log c_θ(x_t)``: the clean-data conditionals of every position, with no time input.

  Token ids ``0 .. vocab_size-1`` are real tokens and ``vocab_size`` is the mask token ``M`` (so the
  embedding has ``vocab_size + 1`` rows and the head ``vocab_size`` columns).

  Attributes:
    vocab_size: V, the number of real tokens (the mask id is V).
    d_model: width d.
    num_layers: number of :class:`RADDBlock` s.
    num_heads: attention heads.
    mlp_hidden: SwiGLU width (None: the ``models.gla`` rule ``256 · ceil(int(8d/3) / 256)``).
    norm_eps, rope_theta: RMSNorm eps and RoPE base.
    dtype: compute dtype (None: float32); param_dtype: parameter dtype. The output is float32.
  """
  vocab_size: int
  d_model: int = 128
  num_layers: int = 2
  num_heads: int = 4
  mlp_hidden: int | None = None
  norm_eps: float = 1e-6
  rope_theta: float = 10000.0
  dtype: Dtype | None = None
  param_dtype: Dtype = jnp.float32

  @property
  def mask_id(self) -> int:
    return self.vocab_size

  def check(self) -> None:
    """Validates the hyperparameters; raises ValueError naming the field."""
    for f in ("vocab_size", "d_model", "num_layers", "num_heads"):
      v = getattr(self, f)
      if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"RADDTransformer: {f} expected a positive int, got {v!r}")
    if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
      raise ValueError(f"RADDTransformer: num_heads expected a divisor of d_model={self.d_model} leaving even "
                       f"head widths, got {self.num_heads}")
    if self.mlp_hidden is not None and (not isinstance(self.mlp_hidden, int) or self.mlp_hidden < 1):
      raise ValueError(f"RADDTransformer: mlp_hidden expected None or a positive int, got {self.mlp_hidden!r}")

  @nn.compact
  def __call__(self, tokens: Array) -> Array:
    """tokens: int [B, L] in ``[0, vocab_size]`` (``vocab_size`` = mask) -> log c_θ: float32 [B, L, V]
    (float64 with ``dtype=float64``).

    ``exp`` of the output sums to one over the last axis; only the rows of masked positions are used
    by the losses and samplers. Ids outside ``[0, vocab_size]``: ``ValueError`` when concrete,
    ``checkify`` under jit, NaN outputs for that sequence when unchecked.
    """
    self.check()
    if not hasattr(tokens, "dtype") or not jnp.issubdtype(tokens.dtype, jnp.integer):
      raise TypeError(f"RADDTransformer: tokens expected an integer array, got "
                      f"{getattr(tokens, 'dtype', type(tokens).__name__)}")
    if tokens.ndim != 2:
      raise ValueError(f"RADDTransformer: tokens expected shape [B, L], got {tuple(tokens.shape)}")
    check_in_range(tokens, "tokens", "RADDTransformer", 0, self.vocab_size + 1)
    dt = self.dtype or jnp.float32
    emb = nn.Embed(self.vocab_size + 1, self.d_model, embedding_init=_init, dtype=dt,
                   param_dtype=self.param_dtype, name="embed")
    valid = (tokens >= 0) & (tokens <= self.vocab_size)
    x = emb(jnp.where(valid, tokens, 0))                        # never another row (flax would wrap -1)
    x = jnp.where(valid[..., None], x, jnp.asarray(jnp.nan, x.dtype))
    for i in range(self.num_layers):
      x = RADDBlock(self.num_heads, self.mlp_hidden, self.norm_eps, self.rope_theta, dtype=self.dtype,
                    param_dtype=self.param_dtype, name=f"block_{i}")(x)
    x = RMSNorm(self.norm_eps, dtype=self.dtype, param_dtype=self.param_dtype, name="final_norm")(x)
    logits = nn.Dense(self.vocab_size, use_bias=False, kernel_init=_init, dtype=dt,
                      param_dtype=self.param_dtype, name="head")(x)
    return jax.nn.log_softmax(logits.astype(_acc(dt)), axis=-1)
