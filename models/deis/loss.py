"""Denoising (ε-prediction) training loss for a VP diffusion.

Ho et al. 2020 (arXiv:2006.11239, Eq. 14) in continuous time, as used by the score_sde models that DEIS
(Zhang & Chen, ICLR 2023, arXiv:2204.13902) samples from:

  L(θ) = E_{t ~ U[t_min, 1], x_0, ε} ‖ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t) − ε‖² / D,

whose minimiser is ε*(x, t) = E[ε | x_t = x] (the noise predictor of :mod:`models.deis.gmm` for mixtures).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from models.common.diffusion import VPSchedule

Array = jax.Array

__all__ = ["denoising_loss"]


def denoising_loss(eps_fn: Callable[[Array, Array], Array], schedule: VPSchedule, x0: Array, key: Array, *,
                   t_min: float = 1e-3, t_max: float = 1.0) -> tuple[Array, Array]:
  """Monte Carlo ε-prediction loss on a batch.

  Args:
    eps_fn: ``(x_t: [B, D], t: [B]) -> [B, D]`` (per-example times).
    schedule: the forward noise schedule.
    x0: ``[B, D]`` clean data.
    key: PRNG key (split into the time and noise draws).
    t_min, t_max: the training time range.

  Returns:
    ``(loss, per_example)``: the batch mean (float32 or the input dtype) and ``[B]`` per-example
    squared errors divided by D.
  """
  if x0.ndim != 2:
    raise ValueError(f"denoising_loss: x0 expected [B, D], got shape {x0.shape}")
  if not 0.0 <= t_min < t_max <= 1.0:
    raise ValueError(f"denoising_loss: expected 0 <= t_min < t_max <= 1, got {t_min!r}, {t_max!r}")
  kt, ke = jax.random.split(key)
  dtype = jnp.promote_types(x0.dtype, jnp.float32)
  t = jax.random.uniform(kt, x0.shape[:1], dtype, t_min, t_max)
  xt, eps = schedule.marginal(ke, x0.astype(dtype), t)
  per = jnp.mean((eps_fn(xt, t).astype(dtype) - eps) ** 2, axis=-1)
  return jnp.mean(per), per
