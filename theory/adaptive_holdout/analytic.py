"""Closed forms for the price of adaptivity (paper 05: Dwork, Feldman, Hardt, Pitassi, Reingold, Roth,
"Preserving Statistical Validity in Adaptive Data Analysis", STOC 2015, arXiv:1411.2664).

The correlation attack (``experiment.correlation_attack``): with labels y = ±1 independent of
x ~ N(0, I_k), ask the k queries c_j = E_S[x_j y] ~ N(0, 1/n) through a mechanism that adds noise ξ_j,
then evaluate the adaptively built classifier sign(Σ_j sign(c_j + ξ_j) x_j) on S. Each sample's margin
y_i Σ_j s_j x_ij has mean Σ_j s_j c_j ≈ k E[c sign(c + ξ)] and variance ≈ k, so the empirical accuracy is

    acc_S ≈ Φ(√k · E[c sign(c + ξ)])                                              (overfit_accuracy)

while the true accuracy is exactly 1/2. For Gaussian noise N(0, σ²),
E[c sign(c + ξ)] = s² √(2/π) / √(s² + σ²) with s² = 1/n, giving Φ(√(2k/(πn)) / √(1 + nσ²)).
For Laplace noise Lap(b), E[c sign(c + ξ)] = E|c| (1 − e^{−|c|/b}) = (s²/b) erfcx(s/(b√2))
(``sign_correlation``; derived by completing the square, checked against quadrature in the tests).
The approximation needs n large (CLT over samples and queries); its error is O(k/n) in the margin's
variance and O(1/√k) in the mean's fluctuation.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx, ndtr

from theory.adaptive_holdout.mechanisms import NOISES

Array = jax.Array


def _nonneg_array(name: str, value, fn: str) -> Array:
  a = jnp.asarray(value)
  if a.dtype == jnp.bool_ or not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name}: expected real values, got dtype {a.dtype}")
  if not isinstance(a, jax.core.Tracer):
    v = np.asarray(a, np.float64)
    if not (np.all(v >= 0) and np.all(np.isfinite(v))):
      raise ValueError(f"{fn}: {name}: expected finite values >= 0, got minimum {v.min()!r}"
                       + (" and a NaN or inf" if not np.all(np.isfinite(v)) else ""))
  return a.astype(float) if not jnp.issubdtype(a.dtype, jnp.floating) else a


def _sign_correlation(s, scale, noise):
  s, scale = jnp.asarray(s, float), jnp.asarray(scale, float)  # float32, or float64 under enable_x64
  if noise == "gaussian":
    # E[c sign(c + ξ)] = s² √(2/π) / √(s² + σ²); σ = 0 written so that the derivative in σ stays finite
    return s * s * math.sqrt(2 / math.pi) / jnp.sqrt(s * s + scale * scale)
  safe = jnp.where(scale > 0, scale, 1.0)
  lap = (s * s / safe) * erfcx(s / (safe * math.sqrt(2)))
  return jnp.where(scale > 0, lap, s * math.sqrt(2 / math.pi))


def sign_correlation(s, scale, noise: str = "gaussian") -> Array:
  """E[c · sign(c + ξ)] for c ~ N(0, s²) and ξ ~ N(0, scale²) or Lap(scale); ``scale = 0`` gives E|c|.
  ``s >= 0`` and ``scale >= 0``, not both 0 (broadcasting; concrete values are range-checked). Smooth in both."""
  fn = "sign_correlation"
  if noise not in NOISES:
    raise ValueError(f"{fn}: noise: expected one of {NOISES}, got {noise!r}")
  s, scale = _nonneg_array("s", s, fn), _nonneg_array("scale", scale, fn)
  try:
    jnp.broadcast_shapes(s.shape, scale.shape)
  except ValueError:
    raise ValueError(f"{fn}: s, scale: shapes {s.shape} and {scale.shape} do not broadcast") from None
  return _sign_correlation(s, scale, noise)


def overfit_accuracy(k, n, scale=0.0, noise: str = "gaussian") -> Array:
  """Predicted empirical accuracy Φ(√k E[c sign(c + ξ)]) of the adaptively built classifier on the
  sample it was fitted through (k correlation queries, n samples, noise ``scale``); broadcasting. ``k``,
  ``n`` > 0 and ``scale`` >= 0 (numbers or arrays; concrete values are range-checked); smooth in all three."""
  fn = "overfit_accuracy"
  if noise not in NOISES:
    raise ValueError(f"{fn}: noise: expected one of {NOISES}, got {noise!r}")
  k, n, scale = (_nonneg_array(name, v, fn) for name, v in (("k", k), ("n", n), ("scale", scale)))
  for name, a in (("k", k), ("n", n)):
    if not isinstance(a, jax.core.Tracer) and not np.all(np.asarray(a) > 0):
      raise ValueError(f"{fn}: {name}: expected positive values, got minimum {float(np.min(np.asarray(a)))!r}")
  try:
    jnp.broadcast_shapes(k.shape, n.shape, scale.shape)
  except ValueError:
    raise ValueError(f"{fn}: k, n, scale: shapes {k.shape}, {n.shape}, {scale.shape} do not broadcast") from None
  return ndtr(jnp.sqrt(k) * _sign_correlation(1 / jnp.sqrt(n), scale, noise))
