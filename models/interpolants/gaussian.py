"""Exact velocity, score and denoiser of a stochastic interpolant between Gaussian-mixture end points.

Albergo, Boffi & Vanden-Eijnden, "Stochastic Interpolants: A Unifying Framework for Flows and
Diffusions", 2023, arXiv:2303.08797 (Sec. 2: b = E[∂_t x_t | x_t = x], s = ∇ log ρ = −γ⁻¹ E[z | x_t = x];
the Gaussian-mixture examples of Sec. 6).

With the independent coupling x₀ ~ Σ_k p_k N(m₀ₖ, C₀ₖ), x₁ ~ Σ_l q_l N(m₁ₗ, C₁ₗ), z ~ N(0, I), the
interpolant given the component pair (k, l) is Gaussian, x_t ~ N(μ_kl, Σ_kl) with μ = α m₀ + β m₁ and
Σ = α² C₀ + β² C₁ + γ² I, and jointly Gaussian with its time derivative, so

  b_kl(x) = μ̇ + (α α̇ C₀ + β β̇ C₁ + γ γ̇ I) Σ⁻¹ (x − μ),   s_kl(x) = −Σ⁻¹ (x − μ),
  v_kl(x) = μ̇ + (α α̇ C₀ + β β̇ C₁) Σ⁻¹ (x − μ),          E[z | x, k, l] = γ Σ⁻¹ (x − μ),
  E[x₀ | x, k, l] = m₀ + α C₀ Σ⁻¹ (x − μ)  (the one-sided denoiser).

The mixture fields average these with the posterior pair weights w_kl(x) ∝ p_k q_l N(x; μ_kl, Σ_kl)
(computed in log space); log ρ(t, x) = logsumexp_kl(log p_k q_l N(x; μ_kl, Σ_kl)).

Shapes: ``x: [B, D]``; ``t`` a scalar or ``[B]``; a mixture has ``weights: [K]``, ``means: [K, D]``,
``covs: [K, D, D]`` (symmetric positive definite, or semi-definite where the interpolant adds noise).

Mixtures are checked at the boundary: shapes and floating dtypes always; when concrete also weights
>= 0 summing to 1 (to 1e-4), finite means and covariances (``ValueError`` naming ``gmm.weights`` etc.).
Everything is differentiable in the points, t and the mixture parameters, except the component draw of
:func:`gmm_sample`, which raises ``TypeError`` when differentiated in the weights (it is reparameterised
in the means and covariances).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, is_concrete, no_grad
from models.common.diffusion import real_scalar
from models.interpolants.interpolant import Interpolant

Array = jax.Array

__all__ = ["GaussianMixture", "ExactFields", "gaussian", "ring_mixture", "gmm_sample", "gmm_log_prob",
           "exact_fields"]


class GaussianMixture(NamedTuple):
  """``weights: [K]`` (sum 1), ``means: [K, D]``, ``covs: [K, D, D]``."""
  weights: Array
  means: Array
  covs: Array


class ExactFields(NamedTuple):
  """The exact fields at ``(t, x)``, each ``[B, D]`` except ``log_rho: [B]``.

  b: the velocity E[∂_t x_t | x_t = x]; v: E[∂_t I | x_t = x]; s: the score ∇ log ρ(t, x);
  eta: the denoiser E[latent | x_t = x] (the latent is z, or x₀ for one-sided interpolants);
  log_rho: log ρ(t, x).
  """
  b: Array
  v: Array
  s: Array
  eta: Array
  log_rho: Array


def _check(gmm, name: str, fn: str) -> None:
  if not isinstance(gmm, GaussianMixture):
    raise TypeError(f"{fn}: {name} expected a GaussianMixture, got {type(gmm).__name__}")
  for field, a in zip(gmm._fields, gmm):
    if not hasattr(a, "dtype") or not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"{fn}: {name}.{field} expected a float array, got {getattr(a, 'dtype', type(a).__name__)}")
  if gmm.means.ndim != 2:
    raise ValueError(f"{fn}: {name}.means expected [K, D], got shape {tuple(gmm.means.shape)}")
  k, d = gmm.means.shape
  if gmm.weights.shape != (k,) or gmm.covs.shape != (k, d, d):
    raise ValueError(f"{fn}: {name} expected weights [K], means [K, D], covs [K, D, D] with K={k}, D={d}, got "
                     f"weights {tuple(gmm.weights.shape)}, covs {tuple(gmm.covs.shape)}")
  if all(is_concrete(a) for a in gmm):
    for field, a in zip(gmm._fields, gmm):
      if not np.all(np.isfinite(np.asarray(a, np.float64))):
        raise ValueError(f"{fn}: {name}.{field} expected finite values")
    w = np.asarray(gmm.weights, np.float64)
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-4:
      raise ValueError(f"{fn}: {name}.weights expected probabilities summing to 1, got {w.tolist()} "
                       f"(sum {w.sum()!r})")


def gaussian(mean, cov) -> GaussianMixture:
  """A single Gaussian N(mean, cov) as a one-component mixture; ``mean: [D]``, ``cov: [D, D]``."""
  mean, cov = jnp.asarray(mean), jnp.asarray(cov)
  for name, a in (("mean", mean), ("cov", cov)):
    if not jnp.issubdtype(a.dtype, jnp.floating):
      raise TypeError(f"gaussian: {name} expected a float array, got {a.dtype}")
  if mean.ndim != 1 or cov.shape != mean.shape * 2:
    raise ValueError(f"gaussian: expected mean [D] and cov [D, D], got mean {mean.shape} and cov {cov.shape}")
  return GaussianMixture(jnp.ones((1,), mean.dtype), mean[None], cov[None])


def ring_mixture(num_components: int = 8, radius: float = 3.0, std: float = 0.3, *, phase: float = 0.0,
                 dtype=None) -> GaussianMixture:
  """Equal-weight 2-D mixture with isotropic components of ``std`` on a circle of ``radius``
  (differentiable in ``radius``, ``std``, ``phase``; checked when concrete)."""
  if not isinstance(num_components, int) or isinstance(num_components, bool) or num_components < 1:
    raise ValueError(f"ring_mixture: num_components expected a positive int, got {num_components!r}")
  for name, v in (("radius", radius), ("std", std), ("phase", phase)):
    val = real_scalar(v, name, "ring_mixture")
    if val is not None and not (np.isfinite(val) and (val > 0 or name != "std")):
      raise ValueError(f"ring_mixture: {name} expected a finite float{' > 0' if name == 'std' else ''}, got {v!r}")
  dtype = dtype or jnp.asarray(0.0).dtype
  ang = phase + 2 * jnp.pi * jnp.arange(num_components, dtype=dtype) / num_components
  means = radius * jnp.stack([jnp.cos(ang), jnp.sin(ang)], axis=-1)
  covs = jnp.broadcast_to(std ** 2 * jnp.eye(2, dtype=dtype), (num_components, 2, 2))
  return GaussianMixture(jnp.full((num_components,), 1.0 / num_components, dtype), means, covs)


def gmm_sample(key: Array, gmm: GaussianMixture, n: int) -> Array:
  """``n`` samples ``[n, D]``: component c ~ Categorical(weights), then means[c] + chol(covs[c]) z.
  Differentiable in means and covs; differentiating in the weights raises ``TypeError``."""
  _check(gmm, "gmm", "gmm_sample")
  check_key(key, "key", "gmm_sample")
  if not isinstance(n, int) or isinstance(n, bool) or n < 1:
    raise ValueError(f"gmm_sample: n expected a positive int, got {n!r}")
  kc, kz = jax.random.split(key)
  w = no_grad(gmm.weights, "models.interpolants.gmm_sample (categorical component draw) in gmm.weights")
  comp = jax.random.choice(kc, gmm.weights.shape[0], (n,), p=w)
  chol = jnp.linalg.cholesky(gmm.covs)
  z = jax.random.normal(kz, (n, gmm.means.shape[1]), gmm.means.dtype)
  return gmm.means[comp] + jnp.einsum("nij,nj->ni", chol[comp], z)


def _log_normal(x: Array, mean: Array, cov: Array) -> Array:
  """log N(x; mean, cov) over broadcast leading dims; ``x, mean: [..., D]``, ``cov: [..., D, D]``."""
  d = x.shape[-1]
  diff = x - mean
  sol = jnp.linalg.solve(cov, diff[..., None])[..., 0]
  _, logdet = jnp.linalg.slogdet(cov)
  return -0.5 * (jnp.sum(diff * sol, -1) + logdet + d * math.log(2 * math.pi))


def gmm_log_prob(gmm: GaussianMixture, x: Array) -> Array:
  """log density ``[B]`` of ``x: [B, D]``."""
  _check(gmm, "gmm", "gmm_log_prob")
  d = gmm.means.shape[1]
  if not hasattr(x, "ndim") or x.ndim != 2 or x.shape[1] != d:
    raise ValueError(f"gmm_log_prob: x expected [B, {d}], got shape {getattr(x, 'shape', type(x).__name__)}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"gmm_log_prob: x expected a float array, got {x.dtype}")
  lp = _log_normal(x[:, None, :], gmm.means[None], gmm.covs[None]) + jnp.log(gmm.weights)
  return jax.scipy.special.logsumexp(lp, axis=-1)


def exact_fields(interp: Interpolant, gmm0: GaussianMixture, gmm1: GaussianMixture, x: Array, t) -> ExactFields:
  """The exact b, v, s, η and log ρ of ``interp`` between ``gmm0`` and ``gmm1`` at ``x: [B, D]``, ``t``.

  For one-sided interpolants ``gmm0`` is the law of the latent x₀ (N(0, I) in the paper; any mixture
  is accepted). Fails (nan) where Σ_kl is singular, e.g. at t ∈ {0, 1} for point-mass end points.
  Checks its arguments (values when concrete), then runs one jit-compiled kernel per interpolant.
  """
  if not isinstance(interp, Interpolant):
    raise TypeError(f"exact_fields: interp expected an Interpolant, got {type(interp).__name__}")
  _check(gmm0, "gmm0", "exact_fields")
  _check(gmm1, "gmm1", "exact_fields")
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"exact_fields: x expected a float array, got {x.dtype}")
  d = gmm0.means.shape[1]
  if gmm1.means.shape[1] != d:
    raise ValueError(f"exact_fields: gmm1 expected the dimension D={d} of gmm0, got D={gmm1.means.shape[1]}")
  if x.ndim != 2 or x.shape[1] != d:
    raise ValueError(f"exact_fields: x expected [B, {d}] matching the mixtures' D={d}, got shape {x.shape}")
  t = jnp.asarray(t, x.dtype)
  if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x.shape[0]):
    raise ValueError(f"exact_fields: t expected a scalar or [B] with B={x.shape[0]}, got shape {t.shape}")
  return _exact_fields(interp, gmm0, gmm1, x, t)


@functools.partial(jax.jit, static_argnums=0)
def _exact_fields(interp: Interpolant, gmm0: GaussianMixture, gmm1: GaussianMixture, x: Array, t: Array) -> ExactFields:
  d = gmm0.means.shape[1]
  # coefficients [T, 1, 1, 1] with T = 1 for a scalar t (then Σ is inverted once, not once per point)
  c = lambda f: f(t).reshape((-1, 1, 1, 1))
  a, b_, g = c(interp.alpha), c(interp.beta), c(interp.gamma_fn)
  ad, bd, ggd = c(interp.alpha_dot), c(interp.beta_dot), c(interp.gg_dot)
  m0, m1 = gmm0.means[:, None, :], gmm1.means[None, :, :]                # [K, 1, D], [1, L, D]
  c0, c1 = gmm0.covs[:, None], gmm1.covs[None, :]                        # [K, 1, D, D], [1, L, D, D]
  e = lambda u: u[..., None]
  eye = jnp.eye(d, dtype=x.dtype)
  mu = a * m0 + b_ * m1                                                  # [T, K, L, D]
  mu_dot = ad * m0 + bd * m1
  sigma = e(a) ** 2 * c0 + e(b_) ** 2 * c1 + e(g) ** 2 * eye             # [T, K, L, D, D]
  cross_i = e(a * ad) * c0 + e(b_ * bd) * c1                             # Cov(∂_t I, x_t)
  sigma_inv = jnp.linalg.inv(sigma)
  _, logdet = jnp.linalg.slogdet(sigma)                                  # [T, K, L]
  diff = x[:, None, None, :] - mu                                        # [B, K, L, D]
  mv = lambda m, u: jnp.matmul(m, u[..., None])[..., 0]                  # broadcast matrix-vector
  sol = mv(sigma_inv, diff)                                              # Σ⁻¹ (x − μ)
  v_kl = mu_dot + mv(cross_i, sol)
  b_kl = v_kl + ggd * sol
  s_kl = -sol
  if interp.one_sided:
    eta_kl = m0 + a * mv(c0, sol)
  else:
    eta_kl = g * sol
  logn = -0.5 * (jnp.sum(diff * sol, -1) + logdet + d * math.log(2 * math.pi))
  logw = logn + jnp.log(gmm0.weights)[:, None] + jnp.log(gmm1.weights)[None, :]        # [B, K, L]
  log_rho = jax.scipy.special.logsumexp(logw, axis=(1, 2))
  w = jnp.exp(logw - log_rho[:, None, None])[..., None]
  avg = lambda f: jnp.sum(w * f, axis=(1, 2))
  return ExactFields(b=avg(b_kl), v=avg(v_kl), s=avg(s_kl), eta=avg(eta_kl), log_rho=log_rho)
