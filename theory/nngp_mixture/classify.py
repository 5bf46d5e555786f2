"""Class probabilities, calibration and OOD scores for Gaussian-likelihood (one-hot regression) classification.

A GP / t-process regression of the centred one-hot targets gives, at each test point, a predictive over the C
latent outputs: mean mu [C], a shared latent variance v (the C outputs share the kernel) and, for the scale
mixture, a shared sigma^2 ~ IG(a_post, b_post). Class probabilities are the predictive probabilities that class
c has the largest output, P(argmax_c f_c = c), estimated by Monte Carlo with common random numbers (the zoo's
choice: the official code scores the one-hot regression by its Gaussian / Student-t NLL per output, which
:func:`onehot_nll` computes, and accuracy by the argmax of the mean).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import no_grad

__all__ = ["argmax_probabilities", "expected_calibration_error", "predictive_entropy"]

_PKG = "theory.nngp_mixture"


def argmax_probabilities(key, mean, var, s2=None, num_samples: int = 256) -> jax.Array:
  """P(argmax f = c) for f = mean + sqrt(s2 var) z, z ~ N(0, I_C): mean [m, C], var [m] latent variances;
  s2: None (Gaussian predictive, s2 = 1) or [S] draws of sigma^2 from its posterior (the t predictive; one draw
  per Monte Carlo sample, shared by the C outputs and the m points), S = num_samples. Returns [m, C] rows summing
  to 1. A Monte Carlo frequency: differentiating raises TypeError."""
  fn = f"{_PKG}.argmax_probabilities"
  mean = jnp.asarray(mean)
  var = jnp.asarray(var)
  if mean.ndim != 2 or mean.shape[1] < 2:
    raise ValueError(f"{fn}: mean must have shape [m, C] with C >= 2, got {mean.shape}")
  if var.shape != (mean.shape[0],):
    raise ValueError(f"{fn}: var must have shape [m] = ({mean.shape[0]},), got {var.shape}")
  if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
    raise ValueError(f"{fn}: num_samples must be an int >= 1, got {num_samples!r}")
  dtype = jnp.result_type(mean.dtype, var.dtype, jnp.float32)
  if s2 is None:
    s2 = jnp.ones((num_samples,), dtype)
  else:
    s2 = jnp.asarray(s2, dtype)
    if s2.shape != (num_samples,):
      raise ValueError(f"{fn}: s2 must have shape [num_samples] = ({num_samples},), got {s2.shape}")
  mean, var = no_grad((mean.astype(dtype), var.astype(dtype)), f"{fn}: mean and var")
  return _argmax_probs(key, mean, var, s2)


@jax.jit
def _argmax_probs(key, mean, var, s2):
  z = jax.random.normal(key, s2.shape + mean.shape, mean.dtype)
  sd = jnp.sqrt(jnp.maximum(var, 0.0))
  f = mean[None] + jnp.sqrt(s2)[:, None, None] * sd[None, :, None] * z
  return jnp.mean(jax.nn.one_hot(jnp.argmax(f, -1), mean.shape[1], dtype=mean.dtype), axis=0)


def _probs_labels(probs, labels, fn):
  probs = np.asarray(probs, np.float64)
  labels = np.asarray(labels)
  if probs.ndim != 2:
    raise ValueError(f"{fn}: probs must have shape [m, C], got {probs.shape}")
  if labels.dtype.kind not in "iu" or labels.shape != (probs.shape[0],):
    raise ValueError(f"{fn}: labels must be integer class ids of shape [m] = ({probs.shape[0]},), got "
                     f"{labels.dtype} {labels.shape}")
  if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
    raise ValueError(f"{fn}: labels must lie in [0, {probs.shape[1]})")
  return probs, labels


def expected_calibration_error(probs, labels, bins: int = 15) -> float:
  """ECE (Guo et al. 2017): sum_b |B_b|/m |acc(B_b) - conf(B_b)| over ``bins`` equal-width bins of the top
  probability (the first bin closed, (lo, hi] after it). probs [m, C], labels [m] int. A host function."""
  fn = f"{_PKG}.expected_calibration_error"
  probs, labels = _probs_labels(probs, labels, fn)
  if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
    raise ValueError(f"{fn}: bins must be an int >= 1, got {bins!r}")
  conf = probs.max(1)
  correct = (probs.argmax(1) == labels).astype(np.float64)
  edges = np.linspace(0.0, 1.0, bins + 1)
  idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
  total = 0.0
  for b in range(bins):
    sel = idx == b
    if sel.any():
      total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
  return float(total)


def predictive_entropy(probs) -> jax.Array:
  """-sum_c p_c log p_c per row of probs [m, C] (0 log 0 = 0): [m]."""
  fn = f"{_PKG}.predictive_entropy"
  p = jnp.asarray(probs)
  if p.ndim != 2 or not jnp.issubdtype(p.dtype, jnp.floating):
    raise ValueError(f"{fn}: probs must be a float array [m, C], got {p.dtype} {p.shape}")
  return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)
