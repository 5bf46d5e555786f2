"""Density estimators for propagating an HMC posterior as the next task's prior (paper 35, Sec. 3).

* :func:`gmm_log_density`: the log density of a full-covariance Gaussian mixture in JAX (differentiable in
  the point, used inside HMC), with scikit-learn's parameterisation (``precisions_cholesky_``: the precision
  of component k is U_k U_k^T, log N(x) = -P/2 log 2 pi + sum log diag U_k - |(x - mu_k)^T U_k|^2 / 2);
* :func:`fit_gmm`: EM for a full-covariance mixture (k-means++ seeding, ``reg_covar`` added to every
  covariance like scikit-learn), in float64 numpy; :func:`fit_gmm_bic` picks the number of components by
  the Bayesian information criterion;
* :func:`moment_match`: the one-Gaussian fit (sample mean and covariance);
* :func:`isotropic_prior`: N(0, I / tau) as a one-component mixture.

A mixture is a :class:`GMM` (``log_weights: [K]``, ``means: [K, P]``, ``prec_chol: [K, P, P]``); unused
padded components have ``log_weights = -inf``.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["GMM", "gmm_log_density", "fit_gmm", "fit_gmm_bic", "moment_match", "isotropic_prior", "pad_gmm",
           "trim_gmm", "gmm_num_params"]


class GMM(NamedTuple):
  log_weights: jax.Array   # [K]
  means: jax.Array         # [K, P]
  prec_chol: jax.Array     # [K, P, P], precision_k = prec_chol_k @ prec_chol_k.T


def _check_gmm(fn: str, g: GMM):
  if not isinstance(g, GMM):
    raise TypeError(f"{fn}: gmm: expected a GMM, got {type(g).__name__}")
  k, p = np.shape(g.means)
  if np.shape(g.log_weights) != (k,) or np.shape(g.prec_chol) != (k, p, p):
    raise ValueError(f"{fn}: gmm: expected log_weights [K], means [K, P], prec_chol [K, P, P], got "
                     f"{np.shape(g.log_weights)}, {np.shape(g.means)}, {np.shape(g.prec_chol)}")
  return k, p


def gmm_log_density(gmm: GMM, x: jax.Array) -> jax.Array:
  """``log p(x)`` of the mixture at ``x: [P]`` or ``[n, P]`` (returns a scalar or ``[n]``)."""
  k, p = _check_gmm("gmm_log_density", gmm)
  x = jnp.asarray(x)
  if x.shape[-1:] != (p,) or x.ndim not in (1, 2):
    raise ValueError(f"gmm_log_density: x: expected [{p}] or [n, {p}], got shape {x.shape}")
  xs = jnp.atleast_2d(x)
  d = xs[:, None, :] - gmm.means[None]                       # [n, K, P]
  y = jnp.einsum("nkp,kpq->nkq", d, gmm.prec_chol)
  log_det = jnp.sum(jnp.log(jnp.diagonal(gmm.prec_chol, axis1=1, axis2=2)), axis=-1)   # [K]
  comp = -0.5 * (p * jnp.log(2 * jnp.pi) + jnp.sum(y ** 2, -1)) + log_det
  out = jax.nn.logsumexp(comp + gmm.log_weights, axis=-1)
  return out[0] if x.ndim == 1 else out


def gmm_num_params(k: int, p: int) -> int:
  """Free parameters of a full-covariance mixture: k P (P+1)/2 + k P + k - 1."""
  for name, v in (("k", k), ("p", p)):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
      raise ValueError(f"gmm_num_params: {name}: expected a positive int, got {v!r}")
  return k * p * (p + 1) // 2 + k * p + k - 1


def _component_logpdf(x, means, covs):
  n, p = x.shape
  out = np.empty((n, len(means)))
  chols = []
  for j, (m, c) in enumerate(zip(means, covs)):
    lc = np.linalg.cholesky(c)
    z = np.linalg.solve(lc, (x - m).T)
    out[:, j] = -0.5 * (p * np.log(2 * np.pi) + np.sum(z ** 2, 0)) - np.sum(np.log(np.diag(lc)))
    chols.append(lc)
  return out, chols


def _to_gmm(weights, means, covs) -> GMM:
  k, p = means.shape
  pc = np.empty((k, p, p))
  for j in range(k):
    lc = np.linalg.cholesky(covs[j])
    # precision = (L L^T)^-1 = L^-T L^-1; U = L^-T is upper triangular with U U^T = precision
    pc[j] = np.linalg.solve(lc, np.eye(p)).T
  return GMM(np.log(weights), means.copy(), pc)


def _logsumexp(a, axis):
  m = np.max(a, axis=axis, keepdims=True)
  return (m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))).squeeze(axis)


def fit_gmm(x, num_components: int, *, seed: int = 0, reg_covar: float = 1e-6, max_iter: int = 100,
            tol: float = 1e-3) -> tuple[GMM, float]:
  """EM for a full-covariance Gaussian mixture on ``x: [n, P]``; returns ``(gmm, mean log-likelihood)``.

  Seeding: k-means++ centres, 10 Lloyd iterations, then responsibilities from the hard assignment. Stops
  when the mean log-likelihood changes by less than ``tol`` (scikit-learn's default criterion).
  """
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or x.shape[0] < 2:
    raise ValueError(f"fit_gmm: x: expected [n >= 2, P] samples, got shape {x.shape}")
  if not np.all(np.isfinite(x)):
    raise ValueError("fit_gmm: x: expected finite samples")
  n, p = x.shape
  if not isinstance(num_components, (int, np.integer)) or not 1 <= num_components <= n:
    raise ValueError(f"fit_gmm: num_components: expected an int in [1, {n}], got {num_components!r}")
  if not reg_covar >= 0:
    raise ValueError(f"fit_gmm: reg_covar: expected a number >= 0, got {reg_covar!r}")
  k = int(num_components)
  rng = np.random.default_rng(seed)
  centres = [x[rng.integers(n)]]
  for _ in range(1, k):
    d2 = np.min(((x[:, None] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
    centres.append(x[rng.choice(n, p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(n)])
  centres = np.asarray(centres)
  for _ in range(10):
    lab = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    centres = np.stack([x[lab == j].mean(0) if np.any(lab == j) else centres[j] for j in range(k)])
  resp = np.eye(k)[lab]
  prev = -np.inf
  ll = -np.inf
  for _ in range(max_iter):
    nk = resp.sum(0) + 10 * np.finfo(np.float64).eps
    weights = nk / n
    means = resp.T @ x / nk[:, None]
    covs = np.stack([((resp[:, j, None] * (x - means[j])).T @ (x - means[j])) / nk[j] + reg_covar * np.eye(p)
                     for j in range(k)])
    logpdf, _ = _component_logpdf(x, means, covs)
    joint = logpdf + np.log(weights)
    lse = _logsumexp(joint, 1)
    ll = float(lse.mean())
    resp = np.exp(joint - lse[:, None])
    if abs(ll - prev) < tol:
      break
    prev = ll
  # final M step so parameters and the returned likelihood agree
  nk = resp.sum(0) + 10 * np.finfo(np.float64).eps
  weights, means = nk / n, resp.T @ x / nk[:, None]
  covs = np.stack([((resp[:, j, None] * (x - means[j])).T @ (x - means[j])) / nk[j] + reg_covar * np.eye(p)
                   for j in range(k)])
  logpdf, _ = _component_logpdf(x, means, covs)
  ll = float(_logsumexp(logpdf + np.log(weights), 1).mean())
  return _to_gmm(weights, means, covs), ll


def fit_gmm_bic(x, components: Sequence[int] = tuple(range(1, 21)), *, seed: int = 0,
                reg_covar: float = 1e-6) -> tuple[GMM, dict[int, float]]:
  """Fits each number of components in ``components`` and returns the lowest-BIC mixture and
  ``{k: BIC}`` (BIC = -2 n mean log-likelihood + params log n)."""
  x = np.asarray(x, np.float64)
  if x.ndim != 2:
    raise ValueError(f"fit_gmm_bic: x: expected [n, P] samples, got shape {x.shape}")
  if not len(components):
    raise ValueError("fit_gmm_bic: components: expected at least one number of components")
  n, p = x.shape
  best, bics = None, {}
  for k in components:
    if k > n:
      continue
    g, ll = fit_gmm(x, int(k), seed=seed, reg_covar=reg_covar)
    bics[int(k)] = -2 * n * ll + gmm_num_params(int(k), p) * np.log(n)
    if best is None or bics[int(k)] < bics[best[0]]:
      best = (int(k), g)
  return best[1], bics


def moment_match(x, *, reg_covar: float = 1e-6) -> GMM:
  """The Gaussian with the sample mean and (maximum-likelihood) covariance of ``x: [n, P]``."""
  x = np.asarray(x, np.float64)
  if x.ndim != 2 or x.shape[0] < 2:
    raise ValueError(f"moment_match: x: expected [n >= 2, P] samples, got shape {x.shape}")
  m = x.mean(0)
  c = np.cov(x.T, bias=True).reshape(x.shape[1], x.shape[1]) + reg_covar * np.eye(x.shape[1])
  return _to_gmm(np.ones(1), m[None], c[None])


def isotropic_prior(dim: int, tau: float) -> GMM:
  """N(0, I / tau) as a one-component :class:`GMM` (tau is the prior precision, > 0)."""
  if not isinstance(tau, (int, float, np.floating)) or not np.isfinite(tau) or tau <= 0:
    raise ValueError(f"isotropic_prior: tau: expected a finite precision > 0, got {tau!r}")
  if not isinstance(dim, (int, np.integer)) or dim < 1:
    raise ValueError(f"isotropic_prior: dim: expected a positive int, got {dim!r}")
  return GMM(np.zeros(1), np.zeros((1, dim)), np.sqrt(tau) * np.eye(dim)[None])


def pad_gmm(g: GMM, num_components: int) -> GMM:
  """Pads to ``num_components`` with unused components (log weight -inf, mean 0, identity precision)."""
  k, p = _check_gmm("pad_gmm", g)
  if num_components < k:
    raise ValueError(f"pad_gmm: num_components: expected >= {k}, got {num_components}")
  extra = num_components - k
  return GMM(np.concatenate([np.asarray(g.log_weights, np.float64), np.full(extra, -np.inf)]),
             np.concatenate([np.asarray(g.means), np.zeros((extra, p))]),
             np.concatenate([np.asarray(g.prec_chol), np.broadcast_to(np.eye(p), (extra, p, p))]))


def trim_gmm(g: GMM) -> GMM:
  """Drops padded components (log weight -inf)."""
  _check_gmm("trim_gmm", g)
  keep = np.isfinite(np.asarray(g.log_weights))
  return GMM(np.asarray(g.log_weights)[keep], np.asarray(g.means)[keep], np.asarray(g.prec_chol)[keep])
