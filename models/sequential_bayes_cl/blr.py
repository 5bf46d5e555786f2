"""Bayesian linear regression in closed form (paper 35, Sec. 5: exact sequential inference and its limits).

Model: y = phi(x)^T w + eps, eps ~ N(0, s^2), prior w ~ N(m0, S0) given by its precision P0 = S0^-1.
Posterior precision P = P0 + Phi^T Phi / s^2, mean m = P^-1 (P0 m0 + Phi^T y / s^2). Using the posterior of
task 1 as the prior of task 2 gives exactly the batch posterior of both tasks (:func:`blr_sequential`), for
any order: with exact inference a misspecified model (one weight vector for tasks that need different
functions) or task-size imbalance still degrade task 1 (see ``experiment.py``).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax.numpy as jnp
import numpy as np

__all__ = ["Gaussian", "blr_posterior", "blr_sequential", "blr_predict", "poly_features"]


class Gaussian(NamedTuple):
  """A Gaussian over weights by mean ``[D]`` and precision ``[D, D]``."""
  mean: jnp.ndarray
  precision: jnp.ndarray


def _check(fn, prior, phi, y, noise_var):
  if not isinstance(prior, Gaussian):
    raise TypeError(f"{fn}: prior: expected a Gaussian(mean, precision), got {type(prior).__name__}")
  d = np.shape(prior.mean)[0]
  if np.shape(prior.precision) != (d, d):
    raise ValueError(f"{fn}: prior: expected a [{d}, {d}] precision, got {np.shape(prior.precision)}")
  if np.ndim(phi) != 2 or np.shape(phi)[1] != d:
    raise ValueError(f"{fn}: phi: expected [n, {d}] features, got shape {np.shape(phi)}")
  if np.shape(y) != (np.shape(phi)[0],):
    raise ValueError(f"{fn}: y: expected shape ({np.shape(phi)[0]},), got {np.shape(y)}")
  if not np.isfinite(noise_var) or noise_var <= 0:
    raise ValueError(f"{fn}: noise_var: expected a finite variance > 0, got {noise_var!r}")


def blr_posterior(prior: Gaussian, phi, y, noise_var: float) -> Gaussian:
  """The exact posterior after observing ``(phi: [n, D], y: [n])`` under ``prior``."""
  _check("blr_posterior", prior, phi, y, noise_var)
  phi, y = jnp.asarray(phi), jnp.asarray(y)
  prec = prior.precision + phi.T @ phi / noise_var
  rhs = prior.precision @ prior.mean + phi.T @ y / noise_var
  return Gaussian(jnp.linalg.solve(prec, rhs), prec)


def blr_sequential(prior: Gaussian, tasks: Sequence[tuple], noise_var: float) -> list[Gaussian]:
  """Posteriors after each task, each one the prior of the next: ``tasks`` = ``[(phi_t, y_t), ...]``."""
  out, post = [], prior
  for phi, y in tasks:
    post = blr_posterior(post, phi, y, noise_var)
    out.append(post)
  return out


def blr_predict(post: Gaussian, phi, noise_var: float) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Predictive mean ``[n]`` and variance ``[n]`` (phi^T P^-1 phi + s^2)."""
  _check("blr_predict", post, phi, np.zeros(np.shape(phi)[0]), noise_var)
  phi = jnp.asarray(phi)
  cov = jnp.linalg.inv(post.precision)
  return phi @ post.mean, jnp.einsum("nd,de,ne->n", phi, cov, phi) + noise_var


def poly_features(x, degree: int):
  """``[n, degree + 1]``: 1, x, ..., x^degree of ``x: [n]``."""
  if not isinstance(degree, (int, np.integer)) or degree < 0:
    raise ValueError(f"poly_features: degree: expected an int >= 0, got {degree!r}")
  x = jnp.asarray(x)
  if x.ndim != 1:
    raise ValueError(f"poly_features: x: expected [n], got shape {x.shape}")
  return jnp.stack([x ** k for k in range(degree + 1)], axis=1)
