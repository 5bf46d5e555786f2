"""Gaussian-mixture data with an exact noise predictor (the analytic-score oracle of DEIS experiments).

Zhang & Chen, "Fast Sampling of Diffusion Models with Exponential Integrator", ICLR 2023,
arXiv:2204.13902. Under the VP forward process x_t = √ᾱ x_0 + √(1−ᾱ) ε, a mixture
p_0 = Σ_k π_k N(μ_k, diag(s_k²)) has the marginal p_t = Σ_k π_k N(√ᾱ μ_k, diag(ᾱ s_k² + 1 − ᾱ)), so the
optimal noise predictor ε*(x, t) = E[ε | x_t = x] = −√(1−ᾱ) ∇_x log p_t(x) is available in closed form
(responsibilities by logsumexp). A point mass (s = 0) and a single Gaussian are special cases.

Mixtures are checked at the boundary: shapes ``[K]``, ``[K, D]``, ``[K, D]`` and floating dtypes always;
when concrete also weights >= 0 summing to 1 (to 1e-4) and stds >= 0, all finite (``ValueError`` naming
``gmm.weights`` / ``gmm.stds``). Everything but the component draw of :func:`gmm_sample` is
differentiable; the draw is a categorical choice, so :func:`gmm_sample` raises ``TypeError`` when
differentiated in the weights (it is reparameterised, hence differentiable, in the means and stds).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, is_concrete, no_grad
from models.common.diffusion import VPSchedule, real_scalar

Array = jax.Array

__all__ = ["GaussianMixture", "circle_mixture", "gmm_log_prob", "gmm_noise_predictor", "gmm_sample"]


class GaussianMixture(NamedTuple):
  """Diagonal Gaussian mixture. ``weights: [K]`` (sum 1), ``means: [K, D]``, ``stds: [K, D]`` (>= 0)."""
  weights: Array
  means: Array
  stds: Array


def _check(gmm: GaussianMixture, fn: str) -> None:
  if not isinstance(gmm, GaussianMixture):
    raise TypeError(f"{fn}: gmm expected a GaussianMixture, got {type(gmm).__name__}")
  for name, a in zip(gmm._fields, gmm):
    if not hasattr(a, "dtype") or not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"{fn}: gmm.{name} expected a float array, got {getattr(a, 'dtype', type(a).__name__)}")
  if gmm.means.ndim != 2:
    raise ValueError(f"{fn}: gmm.means expected [K, D], got shape {tuple(gmm.means.shape)}")
  k, d = gmm.means.shape
  if gmm.weights.shape != (k,) or gmm.stds.shape != (k, d):
    raise ValueError(f"{fn}: gmm expected weights [K], means [K, D], stds [K, D] with K={k}, D={d}, got "
                     f"weights {tuple(gmm.weights.shape)}, stds {tuple(gmm.stds.shape)}")
  if all(is_concrete(a) for a in gmm):
    w, sd = np.asarray(gmm.weights, np.float64), np.asarray(gmm.stds, np.float64)
    for name, a in zip(gmm._fields, (w, np.asarray(gmm.means, np.float64), sd)):
      if not np.all(np.isfinite(a)):
        raise ValueError(f"{fn}: gmm.{name} expected finite values, got {a.tolist()}")
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-4:
      raise ValueError(f"{fn}: gmm.weights expected probabilities summing to 1, got {w.tolist()} "
                       f"(sum {w.sum()!r})")
    if np.any(sd < 0):
      raise ValueError(f"{fn}: gmm.stds expected values >= 0, got min {sd.min()!r}")


def _check_x_t(fn: str, x, d: int, t) -> None:
  if not hasattr(x, "ndim") or x.ndim != 2 or x.shape[-1] != d:
    raise ValueError(f"{fn}: x expected [B, {d}], got shape {getattr(x, 'shape', type(x).__name__)}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: x expected a floating dtype, got {x.dtype}")
  if t is not None:
    tt = jnp.asarray(t)
    if tt.ndim > 1 or (tt.ndim == 1 and tt.shape[0] != x.shape[0]):
      raise ValueError(f"{fn}: t expected a scalar or [B={x.shape[0]}], got shape {tuple(tt.shape)}")


def _check_schedule(schedule, fn: str) -> None:
  if not isinstance(schedule, VPSchedule):
    raise TypeError(f"{fn}: schedule expected a VPSchedule, got {type(schedule).__name__}")


def circle_mixture(num_components: int = 8, radius: float = 4.0, std: float = 0.3, dim: int = 2,
                   dtype=None) -> GaussianMixture:
  """Equal-weight mixture with means on a circle of ``radius`` in the first two coordinates (the DEIS
  note's K = 8, radius 4, std 0.3 benchmark); for ``dim > 2`` the other mean coordinates are 0.
  Differentiable in ``radius`` and ``std`` (scalar arrays; checked when concrete)."""
  if not isinstance(num_components, int) or isinstance(num_components, bool) or num_components < 1:
    raise ValueError(f"circle_mixture: num_components expected a positive int, got {num_components!r}")
  if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2:
    raise ValueError(f"circle_mixture: dim expected an int >= 2, got {dim!r}")
  r = real_scalar(radius, "radius", "circle_mixture")
  if r is not None and not np.isfinite(r):
    raise ValueError(f"circle_mixture: radius expected a finite float, got {radius!r}")
  sd = real_scalar(std, "std", "circle_mixture")
  if sd is not None and not (np.isfinite(sd) and sd >= 0):
    raise ValueError(f"circle_mixture: std expected a finite float >= 0, got {std!r}")
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
  _check(gmm, "gmm_log_prob")
  _check_x_t("gmm_log_prob", x, gmm.means.shape[-1], t)
  if t is not None:
    _check_schedule(schedule, "gmm_log_prob")
  if t is None:
    mean, var = gmm.means, gmm.stds ** 2
  else:
    mean, var = _marginal_params(gmm, schedule, jnp.asarray(t, x.dtype))
  diff = x[:, None, :] - mean                             # [B, K, D]
  comp = -0.5 * jnp.sum(diff ** 2 / var + jnp.log(2 * jnp.pi * var), axis=-1)
  return jax.nn.logsumexp(comp + jnp.log(gmm.weights), axis=-1)


def gmm_noise_predictor(gmm: GaussianMixture, schedule: VPSchedule, x: Array, t) -> Array:
  """The exact ε*(x, t) = −√(1−ᾱ_t) ∇_x log p_t(x); ``x: [B, D]``, ``t`` scalar or ``[B]`` -> ``[B, D]``."""
  _check(gmm, "gmm_noise_predictor")
  _check_schedule(schedule, "gmm_noise_predictor")
  _check_x_t("gmm_noise_predictor", x, gmm.means.shape[-1], t)
  t = jnp.asarray(t, x.dtype)
  mean, var = _marginal_params(gmm, schedule, t)
  diff = x[:, None, :] - mean                             # [B, K, D]
  comp = -0.5 * jnp.sum(diff ** 2 / var + jnp.log(var), axis=-1) + jnp.log(gmm.weights)
  resp = jax.nn.softmax(comp, axis=-1)                    # [B, K]
  score = -jnp.einsum("bk,bkd->bd", resp, diff / var)
  return -schedule.sigma(t)[..., None] * score


def gmm_sample(key: Array, gmm: GaussianMixture, n: int) -> Array:
  """``n`` samples ``[n, D]`` of the data distribution: component c ~ Categorical(weights), then
  means[c] + stds[c] · z. Differentiable in means and stds (reparameterised); differentiating in the
  weights raises ``TypeError`` (the categorical draw is piecewise constant in them)."""
  _check(gmm, "gmm_sample")
  check_key(key, "key", "gmm_sample")
  if not isinstance(n, int) or isinstance(n, bool) or n < 1:
    raise ValueError(f"gmm_sample: n expected a positive int, got {n!r}")
  kc, kn = jax.random.split(key)
  w = no_grad(gmm.weights, "models.deis.gmm_sample (categorical component draw) in gmm.weights")
  comp = jax.random.categorical(kc, jnp.log(w), shape=(n,))
  z = jax.random.normal(kn, (n, gmm.means.shape[-1]), gmm.means.dtype)
  return gmm.means[comp] + gmm.stds[comp] * z
