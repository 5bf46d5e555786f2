"""Prototypical Bayesian continual learning (ProtoCL; paper 35, Sec. 6; after PCOC, Harrison et al. 2019).

An encoder phi = f_theta(x) in R^d; per class y a prototype z_y ~ N(mu0_y, I / lam0_y); an observation
phi | y ~ N(z_y, s^2 I); class probabilities from Dirichlet counts alpha_y. The conjugate posterior of class y
after n_y embeddings is, in natural parameters,

    lam_y = lam0_y + n_y / s^2,   q_y = lam0_y mu0_y + sum_i phi_i / s^2,   mu_y = q_y / lam_y,
    log alpha_y = logaddexp(log alpha0_y, log n_y)    (counts kept in log space),

one point at a time (:func:`stream_posterior`) or at once (:func:`batch_posterior`). The predictive is

    log p(phi, y) = log N(phi; mu_y, (1 / lam_y + s^2) I) + log alpha_y - log sum_c alpha_c,

and the class is the softmax of it over the allowed classes (:func:`log_joint`, :func:`class_log_probs`); the
loss is the NLL of the true label (:func:`nll`). Learnable: the encoder, the prior means, log prior
precisions, log Dirichlet concentrations (init log 0.78 scale, as the official code) and log s.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Encoder", "Posterior", "init_prior", "prior_posterior", "batch_posterior", "stream_posterior",
           "posterior_from_stats", "class_stats", "log_joint", "class_log_probs", "nll", "noise_var"]


class Encoder(nn.Module):
  """MLP encoder ``features`` (e.g. (128, 32): 64-128-32 on digits), ReLU between layers, optional dropout
  (``dropout`` stream when ``deterministic=False``)."""
  features: Sequence[int] = (128, 32)
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x, *, deterministic: bool = True):
    """``x: [B, F]`` -> ``[B, features[-1]]``."""
    for i, f in enumerate(self.features):
      x = nn.Dense(f, name=f"dense_{i}")(x)
      if i < len(self.features) - 1:
        x = nn.relu(x)
        if self.dropout > 0:
          x = nn.Dropout(self.dropout)(x, deterministic=deterministic)
    return x


class Posterior(NamedTuple):
  """Natural parameters per class: ``q: [C, d]``, ``lam: [C]``, ``log_alpha: [C]``."""
  q: jax.Array
  lam: jax.Array
  log_alpha: jax.Array

  @property
  def mean(self) -> jax.Array:
    return self.q / self.lam[:, None]


def init_prior(num_classes: int, dim: int, *, log_lam0: float = 0.0, log_alpha0: float = 0.78,
               log_sigma: float = 0.0) -> dict:
  """The learnable prior: ``mu0: [C, d]`` zeros, ``log_lam0: [C]``, ``log_alpha0: [C]``, ``log_sigma``."""
  if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
    raise ValueError(f"init_prior: num_classes: expected a positive int, got {num_classes!r}")
  if not isinstance(dim, (int, np.integer)) or dim < 1:
    raise ValueError(f"init_prior: dim: expected a positive int, got {dim!r}")
  f32 = jnp.float32   # explicit dtypes: no weak types, so a trained prior has the structure of a fresh one
  return {"mu0": jnp.zeros((num_classes, dim), f32), "log_lam0": jnp.full((num_classes,), log_lam0, f32),
          "log_alpha0": jnp.full((num_classes,), log_alpha0, f32), "log_sigma": jnp.asarray(log_sigma, f32)}


def noise_var(prior: dict) -> jax.Array:
  """s^2 = exp(2 log_sigma)."""
  return jnp.exp(2.0 * prior["log_sigma"])


def prior_posterior(prior: dict) -> Posterior:
  """The posterior before any data: q = lam0 mu0, lam = lam0, log alpha = log alpha0."""
  lam0 = jnp.exp(prior["log_lam0"])
  return Posterior(lam0[:, None] * prior["mu0"], lam0, prior["log_alpha0"])


def _check_phi_y(fn, phi, y, c=None):
  if phi.ndim != 2:
    raise ValueError(f"{fn}: phi: expected [n, d] embeddings, got shape {phi.shape}")
  if y.shape != (phi.shape[0],):
    raise ValueError(f"{fn}: y: expected shape ({phi.shape[0]},), got {y.shape}")
  if not jnp.issubdtype(y.dtype, jnp.integer):
    raise TypeError(f"{fn}: y: expected integer labels, got dtype {y.dtype}")


def class_stats(phi: jax.Array, y: jax.Array, num_classes: int, weights: jax.Array | None = None):
  """``(sum_phi: [C, d], count: [C])`` of embeddings per class (``weights: [n]`` 0/1 masks rows)."""
  _check_phi_y("class_stats", phi, y)
  oh = jax.nn.one_hot(y, num_classes, dtype=phi.dtype)
  if weights is not None:
    oh = oh * weights[:, None]
  return oh.T @ phi, oh.sum(0)


def posterior_from_stats(prior: dict, sum_phi: jax.Array, count: jax.Array) -> Posterior:
  """The conjugate posterior from per-class sufficient statistics (the closed form in the module docstring)."""
  c, d = np.shape(prior["mu0"])
  if np.shape(sum_phi) != (c, d) or np.shape(count) != (c,):
    raise ValueError(f"posterior_from_stats: sum_phi, count: expected [{c}, {d}] and [{c}] like the prior, got "
                     f"{np.shape(sum_phi)} and {np.shape(count)}")
  p0 = prior_posterior(prior)
  s2 = noise_var(prior)
  log_n = jnp.where(count > 0, jnp.log(jnp.maximum(count, 1e-30)), -jnp.inf)
  return Posterior(p0.q + sum_phi / s2, p0.lam + count / s2, jnp.logaddexp(p0.log_alpha, log_n))


def batch_posterior(prior: dict, phi: jax.Array, y: jax.Array) -> Posterior:
  """The posterior after all of ``(phi: [n, d], y: [n])`` at once."""
  _check_phi_y("batch_posterior", phi, y)
  c = prior["mu0"].shape[0]
  s, n = class_stats(phi, y, c)
  return posterior_from_stats(prior, s, n)


def stream_posterior(prior: dict, phi: jax.Array, y: jax.Array, post: Posterior | None = None) -> Posterior:
  """The recursive update, one labelled point at a time (``lax.scan``): q_y += phi / s^2, lam_y += 1 / s^2,
  alpha_y += 1 (in log space); starts from ``post`` (default: the prior)."""
  _check_phi_y("stream_posterior", phi, y)
  s2 = noise_var(prior)
  post = prior_posterior(prior) if post is None else post

  def step(p, inp):
    f, label = inp
    return Posterior(p.q.at[label].add(f / s2), p.lam.at[label].add(1.0 / s2),
                     p.log_alpha.at[label].set(jnp.logaddexp(p.log_alpha[label], 0.0))), None
  post, _ = jax.lax.scan(step, post, (phi, y))
  return post


def log_joint(post: Posterior, phi: jax.Array, s2) -> jax.Array:
  """``[n, C]``: log N(phi; mu_y, (1/lam_y + s^2) I) + log alpha_y - log sum alpha."""
  if phi.ndim != 2 or phi.shape[1] != post.q.shape[1]:
    raise ValueError(f"log_joint: phi: expected [n, {post.q.shape[1]}], got shape {phi.shape}")
  d = phi.shape[1]
  var = 1.0 / post.lam + s2                                          # [C]
  sq = jnp.sum((phi[:, None, :] - post.mean[None]) ** 2, -1)         # [n, C]
  log_n = -0.5 * (d * jnp.log(2 * jnp.pi * var)[None] + sq / var[None])
  return log_n + post.log_alpha[None] - jax.nn.logsumexp(post.log_alpha)


def class_log_probs(post: Posterior, phi: jax.Array, s2, mask: jax.Array | None = None) -> jax.Array:
  """``[n, C]`` log p(y | phi) over the classes in ``mask: [C] bool`` (others -inf)."""
  lj = log_joint(post, phi, s2)
  if mask is not None:
    lj = jnp.where(mask[None], lj, -jnp.inf)
  return jax.nn.log_softmax(lj, axis=-1)


def nll(post: Posterior, phi: jax.Array, y: jax.Array, s2, mask: jax.Array | None = None,
        weights: jax.Array | None = None) -> jax.Array:
  """Mean negative log p(y | phi) (``weights: [n]`` weigh the rows; their sum normalises)."""
  lp = jnp.take_along_axis(class_log_probs(post, phi, s2, mask), y[:, None], axis=1)[:, 0]
  if weights is None:
    return -jnp.mean(lp)
  lp = jnp.where(weights > 0, lp, 0.0)
  return -jnp.sum(weights * lp) / jnp.maximum(jnp.sum(weights), 1.0)
