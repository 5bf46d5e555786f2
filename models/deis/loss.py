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

from kernels.common.checks import check_key
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
    squared errors divided by D. For a fixed key the draws are reparameterised, so the loss is
    differentiable in ``x0`` and in whatever ``eps_fn`` closes over (its parameters).
  """
  if not callable(eps_fn):
    raise TypeError(f"denoising_loss: eps_fn expected a callable (x_t, t) -> eps, got {type(eps_fn).__name__}")
  if not isinstance(schedule, VPSchedule):
    raise TypeError(f"denoising_loss: schedule expected a VPSchedule, got {type(schedule).__name__}")
  if not hasattr(x0, "ndim") or x0.ndim != 2:
    raise ValueError(f"denoising_loss: x0 expected [B, D], got shape {getattr(x0, 'shape', type(x0).__name__)}")
  if not (jnp.issubdtype(x0.dtype, jnp.floating) or jnp.issubdtype(x0.dtype, jnp.integer)):
    raise TypeError(f"denoising_loss: x0 expected a real array, got {x0.dtype}")
  check_key(key, "key", "denoising_loss")
  for name, v in (("t_min", t_min), ("t_max", t_max)):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
      raise TypeError(f"denoising_loss: {name} expected a float, got {type(v).__name__}")
  if not 0.0 <= t_min < t_max <= 1.0:
    raise ValueError(f"denoising_loss: expected 0 <= t_min < t_max <= 1, got t_min={t_min!r}, t_max={t_max!r}")
  dtype = jnp.promote_types(x0.dtype, jnp.float32)
  out = jax.eval_shape(eps_fn, jax.ShapeDtypeStruct(x0.shape, dtype), jax.ShapeDtypeStruct(x0.shape[:1], dtype))
  if getattr(out, "shape", None) != x0.shape:
    raise ValueError(f"denoising_loss: eps_fn expected an output of shape {tuple(x0.shape)} (that of x0), got "
                     f"{getattr(out, 'shape', type(out).__name__)}")
  kt, ke = jax.random.split(key)
  t = jax.random.uniform(kt, x0.shape[:1], dtype, t_min, t_max)
  xt, eps = schedule.marginal(ke, x0.astype(dtype), t)
  per = jnp.mean((eps_fn(xt, t).astype(dtype) - eps) ** 2, axis=-1)
  return jnp.mean(per), per
