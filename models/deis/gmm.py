"""Gaussian-mixture data with an exact noise predictor (the analytic-score oracle of DEIS experiments).

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902. Under the VP forward process x_t = √ᾱ x_0 + √(1−ᾱ) ε, a mixture
p_0 = Σ_k π_k N(μ_k, diag(s_k²)) has the marginal p_t = Σ_k π_k N(√ᾱ μ_k, diag(ᾱ s_k² + 1 − ᾱ)), so the
optimal noise predictor ε*(x, t) = E[ε | x_t = x] = −√(1−ᾱ) ∇_x log p_t(x) is available in closed form
(responsibilities by logsumexp). A point mass (s = 0) and a single Gaussian are special cases.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from models.common.diffusion import VPSchedule

Array = jax.Array

__all__ = ["GaussianMixture", "circle_mixture", "gmm_log_prob", "gmm_noise_predictor", "gmm_sample"]


class GaussianMixture(NamedTuple):
  """Diagonal Gaussian mixture. ``weights: [K]`` (sum 1), ``means: [K, D]``, ``stds: [K, D]`` (>= 0)."""
  weights: Array
  means: Array
  stds: Array


def _check(gmm: GaussianMixture) -> None:
  if not isinstance(gmm, GaussianMixture):
    raise TypeError(f"gmm: expected a GaussianMixture, got {type(gmm).__name__}")
  k, d = gmm.means.shape
  if gmm.weights.shape != (k,) or gmm.stds.shape != (k, d):
    raise ValueError(f"gmm: expected weights [K], means [K, D], stds [K, D], got {gmm.weights.shape}, "
                     f"{gmm.means.shape}, {gmm.stds.shape}")


def circle_mixture(num_components: int = 8, radius: float = 4.0, std: float = 0.3, dim: int = 2,
                   dtype=None) -> GaussianMixture:
  """Equal-weight mixture with means on a circle of ``radius`` in the first two coordinates (the DEIS
  note's K = 8, radius 4, std 0.3 benchmark); for ``dim > 2`` the other mean coordinates are 0."""
  if not isinstance(num_components, int) or num_components < 1:
    raise ValueError(f"circle_mixture: num_components expected a positive int, got {num_components!r}")
  if not isinstance(dim, int) or dim < 2:
    raise ValueError(f"circle_mixture: dim expected an int >= 2, got {dim!r}")
  if std < 0:
    raise ValueError(f"circle_mixture: std expected >= 0, got {std!r}")
  dtype = dtype or jnp.asarray(0.0).dtype
  ang = 2 * jnp.pi * jnp.arange(num_components, dtype=dtype) / num_components
  means = jnp.zeros((num_components, dim), dtype).at[:, 0].set(radius * jnp.cos(ang)).at[:, 1].set(
      radius * jnp.sin(ang))
  return GaussianMixture(jnp.full((num_components,), 1.0 / num_components, dtype), means,
                         jnp.full((num_components, dim), std, dtype))


def _marginal_params(gmm: GaussianMixture, schedule: VPSchedule, t: Array) -> tuple[Array, Array]:
  """Means and variances ``[K, D]`` (scalar t) or ``[B, K, D]`` (t: [B]) of the diffused components."""
  la = schedule.log_alpha_bar(t)[..., None, None]
  mean = jnp.exp(0.5 * la) * gmm.means                     # [..., K, D]
  var = jnp.exp(la) * gmm.stds ** 2 - jnp.expm1(la)        # [..., K, D]: ᾱ s² + 1 − ᾱ
  return mean, var


def gmm_log_prob(gmm: GaussianMixture, x: Array, schedule: VPSchedule | None = None, t=None) -> Array:
  """log p_t(x) of the diffused mixture (``t = None``: the data density p_0). ``x: [B, D]``, ``t`` scalar or
  ``[B]`` -> ``[B]``."""
  _check(gmm)
  if t is None:
    mean, var = gmm.means, gmm.stds ** 2
  else:
    mean, var = _marginal_params(gmm, schedule, jnp.asarray(t, x.dtype))
  diff = x[:, None, :] - mean                             # [B, K, D]
  comp = -0.5 * jnp.sum(diff ** 2 / var + jnp.log(2 * jnp.pi * var), axis=-1)
  return jax.nn.logsumexp(comp + jnp.log(gmm.weights), axis=-1)


def gmm_noise_predictor(gmm: GaussianMixture, schedule: VPSchedule, x: Array, t) -> Array:
  """The exact ε*(x, t) = −√(1−ᾱ_t) ∇_x log p_t(x); ``x: [B, D]``, ``t`` scalar or ``[B]`` -> ``[B, D]``."""
  _check(gmm)
  if x.ndim != 2 or x.shape[-1] != gmm.means.shape[-1]:
    raise ValueError(f"gmm_noise_predictor: x expected [B, {gmm.means.shape[-1]}], got shape {x.shape}")
  t = jnp.asarray(t, x.dtype)
  mean, var = _marginal_params(gmm, schedule, t)
  diff = x[:, None, :] - mean                             # [B, K, D]
  comp = -0.5 * jnp.sum(diff ** 2 / var + jnp.log(var), axis=-1) + jnp.log(gmm.weights)
  resp = jax.nn.softmax(comp, axis=-1)                    # [B, K]
  score = -jnp.einsum("bk,bkd->bd", resp, diff / var)
  return -schedule.sigma(t)[..., None] * score


def gmm_sample(key: Array, gmm: GaussianMixture, n: int) -> Array:
  """``n`` samples ``[n, D]`` of the data distribution."""
  _check(gmm)
  kc, kn = jax.random.split(key)
  comp = jax.random.categorical(kc, jnp.log(gmm.weights), shape=(n,))
  z = jax.random.normal(kn, (n, gmm.means.shape[-1]), gmm.means.dtype)
  return gmm.means[comp] + gmm.stds[comp] * z
