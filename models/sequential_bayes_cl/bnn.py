"""The Bayesian neural network of the toy experiment (paper 35, Sec. 4): an MLP on a flat parameter vector
(so HMC moves in R^P), its log posterior with a Gaussian-mixture prior, and the toy 2-D blobs.

The network is ``sizes = (2, 10, 10, 2)`` (ReLU hidden layers, one shared head; P = 162), initialised
N(0, 1/fan_in); the likelihood is the multi-class softmax on the full task batch.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.sequential_bayes_cl.gmm import GMM, gmm_log_density

__all__ = ["num_params", "init_flat", "mlp_logits", "log_likelihood", "log_posterior", "predictive",
           "BLOB_CENTRES", "BLOB_STDS", "toy_blobs", "toy_tasks"]

# The centres and per-axis standard deviations of the official ToyGaussiansContGenerator (notes, Sec. 2).
BLOB_CENTRES = np.array([(0, 0.2), (0.6, 0.9), (1.3, 0.4), (1.6, -0.1), (2.0, 0.3), (0.45, 0), (0.7, 0.45),
                         (1.0, 0.1), (1.7, -0.4), (2.3, 0.1)])
BLOB_STDS = np.array([(.08, .22), (.24, .08), (.04, .2), (.16, .05), (.05, .16), (.08, .16), (.16, .08),
                      (.06, .16), (.24, .05), (.05, .22)])


def _check_sizes(fn: str, sizes):
  if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
    raise ValueError(f"{fn}: sizes: expected at least two positive layer widths, got {tuple(sizes)}")


def num_params(sizes: Sequence[int]) -> int:
  """Weights and biases of the MLP ``sizes``."""
  _check_sizes("num_params", sizes)
  return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))


def init_flat(key: jax.Array, sizes: Sequence[int]) -> jax.Array:
  """A flat parameter vector with weights N(0, 1/fan_in) and zero biases."""
  _check_sizes("init_flat", sizes)
  parts = []
  for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
    parts += [jax.random.normal(k, (a * b,)) / np.sqrt(a), jnp.zeros(b)]
  return jnp.concatenate(parts)


def mlp_logits(theta: jax.Array, x: jax.Array, sizes: Sequence[int]) -> jax.Array:
  """``[n, sizes[-1]]`` logits of the MLP with flat parameters ``theta: [P]`` at ``x: [n, sizes[0]]``."""
  _check_sizes("mlp_logits", sizes)
  p = num_params(sizes)
  if theta.shape != (p,):
    raise ValueError(f"mlp_logits: theta: expected shape ({p},) for sizes {tuple(sizes)}, got {theta.shape}")
  if x.ndim != 2 or x.shape[1] != sizes[0]:
    raise ValueError(f"mlp_logits: x: expected [n, {sizes[0]}], got shape {x.shape}")
  h, i = x, 0
  for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
    w = theta[i:i + a * b].reshape(a, b)
    i += a * b
    h = h @ w + theta[i:i + b]
    i += b
    if layer < len(sizes) - 2:
      h = jax.nn.relu(h)
  return h


def log_likelihood(theta, x, y, sizes) -> jax.Array:
  """Sum over the batch of log softmax(f_theta(x))[y]."""
  logits = mlp_logits(theta, x, sizes)
  return jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def log_posterior(theta, args, sizes) -> jax.Array:
  """Unnormalised log posterior: ``args = (x, y, prior: GMM)``; log p(D | theta) + log p_hat(theta)."""
  x, y, prior = args
  return log_likelihood(theta, x, y, sizes) + gmm_log_density(prior, theta)


def predictive(samples: jax.Array, x: jax.Array, sizes) -> jax.Array:
  """Log of the posterior predictive (1/S) sum_s softmax(f_{theta_s}(x)): ``samples: [S, P]`` -> ``[n, C]``."""
  if samples.ndim != 2:
    raise ValueError(f"predictive: samples: expected [S, P], got shape {samples.shape}")
  logp = jax.vmap(lambda t: jax.nn.log_softmax(mlp_logits(t, x, sizes)))(samples)
  return jax.nn.logsumexp(logp, axis=0) - jnp.log(samples.shape[0])


def toy_blobs(n_per_blob: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``(x: [10 n, 2], blob: [10 n])``: n points from each axis-aligned Gaussian blob."""
  if not isinstance(n_per_blob, (int, np.integer)) or n_per_blob < 1:
    raise ValueError(f"toy_blobs: n_per_blob: expected a positive int, got {n_per_blob!r}")
  rng = np.random.default_rng(seed)
  x = BLOB_CENTRES[:, None] + BLOB_STDS[:, None] * rng.standard_normal((10, n_per_blob, 2))
  return x.reshape(-1, 2).astype(np.float32), np.repeat(np.arange(10), n_per_blob).astype(np.int32)


def toy_tasks(n_train_per_blob: int = 200, n_test_per_blob: int = 200, seed: int = 0):
  """The five binary toy tasks: task k has blob k as label 0 and blob k + 5 as label 1 (one shared head).
  Returns a list of ``(x_train, y_train, x_test, y_test)``."""
  xtr, btr = toy_blobs(n_train_per_blob, seed)
  xte, bte = toy_blobs(n_test_per_blob, seed + 1000)
  out = []
  for k in range(5):
    mtr, mte = np.isin(btr, (k, k + 5)), np.isin(bte, (k, k + 5))
    out.append((xtr[mtr], (btr[mtr] == k + 5).astype(np.int32), xte[mte], (bte[mte] == k + 5).astype(np.int32)))
  return out
