"""Noise-predictor networks for the DEIS digits experiment.

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902. DEIS samples a trained ε_θ(x, t) (Eq. 5: the probability-flow ODE with the
ε-parameterised score −ε_θ/σ); the paper uses pretrained U-Nets (score_sde, DDPM++). At the zoo's
scale (8×8 digits flattened to 64 features, a few CPU minutes) we use the flat-vector analogue of a
modern diffusion backbone:

* :class:`ResidualDenoiser`: a residual MLP whose blocks are pre-normalised (LayerNorm without
  affine) and time-conditioned by FiLM / adaptive LayerNorm (scale, shift and a gate predicted from the
  time embedding, as in DiT's adaLN-Zero, Peebles & Xie 2023, arXiv:2212.09748), with a zero-initialised
  gate so each block starts as the identity, sinusoidal time features (Vaswani et al.; Ho et al. 2020),
  and a learned, time-dependent skip gain from x to the output:

      ε_θ(x, t) = g(t) · x + F(x, t).

  The skip matters at t → 1, where ε*(x, t) = (x − α_t E[x₀ | x_t = x]) / σ_t ≈ x (α₁ ≈ 0.0066 for the
  linear schedule): the network only has to learn g(1) ≈ 1 and a small correction, instead of
  synthesising the identity map through its hidden layers. An error there is multiplied by the first
  exponential-integrator step's coefficient (≈ −α_{i+1} ρ_i, about −18 on a 5-step quadratic grid).
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.common.diffusion import sinusoidal_embedding

Array = jax.Array

__all__ = ["ResidualDenoiser"]


class ResidualDenoiser(nn.Module):
  """Time-conditioned residual MLP noise predictor ε_θ(x, t) with adaptive-LayerNorm blocks.

  ``x: [B, D]``, ``t: [B]`` or a scalar (broadcast) -> ``[B, D]``. Per block, with c = SiLU(emb(t)):

      (γ, β, a) = Dense(c) (zero-initialised),  h ← h + a ⊙ W₂ SiLU(W₁ (LN(h) ⊙ (1 + γ) + β)).

  The read-out is LN + FiLM + a zero-initialised Dense, plus the skip g(t) x with g = Dense₁(c) whose
  bias starts at ``skip_init`` (so the untrained network returns ``skip_init · x``). No batch
  statistics: each example's output depends on that example only. RNG streams: ``params`` only.

  Attributes:
    width: width of the residual stream.
    depth: number of residual blocks.
    mult: hidden expansion factor inside a block (``mult * width`` units).
    emb_dim: size of the sinusoidal time features (even).
    time_scale: multiplies t inside :func:`sinusoidal_embedding`.
    skip: include the learned skip g(t) · x.
    skip_init: initial value of g(t) (its bias; its kernel starts at zero).
    dtype: compute dtype (None: from the inputs); ``param_dtype`` float32; LayerNorm in float32 (float64
      when the compute dtype is float64, so float64 inputs and params give float64 derivatives).
  """
  width: int = 256
  depth: int = 4
  mult: int = 2
  emb_dim: int = 64
  time_scale: float = 1000.0
  skip: bool = True
  skip_init: float = 0.0
  dtype: Any = None
  param_dtype: Any = jnp.float32

  def _check(self, x: Array, t: Array) -> Array:
    for f in ("width", "depth", "mult", "emb_dim"):
      v = getattr(self, f)
      if not isinstance(v, int) or v < 1:
        raise ValueError(f"ResidualDenoiser: {f} expected a positive int, got {v!r}")
    if self.emb_dim % 2:
      raise ValueError(f"ResidualDenoiser: emb_dim expected an even int, got {self.emb_dim!r}")
    if x.ndim != 2:
      raise ValueError(f"ResidualDenoiser: x expected [B, D], got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
      raise TypeError(f"ResidualDenoiser: x expected a floating dtype, got {x.dtype}")
    t = jnp.asarray(t)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, x.shape[0])):
      raise ValueError(f"ResidualDenoiser: t expected a scalar or [B={x.shape[0]}], got shape {t.shape}")
    return jnp.broadcast_to(t, x.shape[:1])

  @nn.compact
  def __call__(self, x: Array, t: Array) -> Array:
    t = self._check(x, t)
    dt = self.dtype or jnp.promote_types(x.dtype, jnp.float32)
    dense = lambda n, name, zero=False, **kw: nn.Dense(
        n, dtype=dt, param_dtype=self.param_dtype, name=name,
        kernel_init=nn.initializers.zeros if zero else nn.initializers.lecun_normal(), **kw)
    norm = lambda h, name: nn.LayerNorm(use_scale=False, use_bias=False, dtype=jnp.promote_types(dt, jnp.float32),
                                        param_dtype=self.param_dtype, name=name)(h).astype(dt)

    emb = sinusoidal_embedding(t, self.emb_dim, scale=self.time_scale).astype(dt)
    c = nn.silu(dense(self.width, "time_out")(nn.silu(dense(self.width, "time_in")(emb))))   # [B, W]

    h = dense(self.width, "embed")(x.astype(dt))                       # [B, W]
    for i in range(self.depth):
      gamma, beta, gate = jnp.split(dense(3 * self.width, f"block{i}_film", zero=True)(c), 3, axis=-1)
      y = norm(h, f"block{i}_norm") * (1.0 + gamma) + beta
      y = dense(self.width, f"block{i}_out")(nn.silu(dense(self.mult * self.width, f"block{i}_in")(y)))
      h = h + gate * y
    gamma, beta = jnp.split(dense(2 * self.width, "final_film", zero=True)(c), 2, axis=-1)
    h = nn.silu(norm(h, "final_norm") * (1.0 + gamma) + beta)
    out = dense(x.shape[-1], "readout", zero=True)(h)                  # [B, D]
    if self.skip:
      g = dense(1, "skip_gain", zero=True, bias_init=nn.initializers.constant(self.skip_init))(c)   # [B, 1]
      out = out + g * x.astype(dt)
    return out
