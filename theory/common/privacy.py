"""Differential-privacy noise mechanisms and privacy accounting shared by the zoo's privacy papers.

Used by paper 05 (``theory/adaptive_holdout``: Dwork, Feldman, Hardt, Pitassi, Reingold, Roth,
"Preserving Statistical Validity in Adaptive Data Analysis", STOC 2015, arXiv:1411.2664) and meant
for papers 10 (continual observation) and 31 (private sequential learning).

Mechanisms (jit-able, explicit keys; ``value`` may have any shape ``[...]``):

- Laplace mechanism: ``value + Lap(Δ/ε)`` is ε-DP for a query of L1 sensitivity Δ (Dwork, McSherry,
  Nissim, Smith 2006). Its privacy loss ``log p(x | v) / p(x | v')`` is ``(|x − v'| − |x − v|)/b``,
  bounded by ``|v − v'|/b ≤ ε`` (``laplace_privacy_loss``).
- Gaussian mechanism: ``value + N(0, σ²)``; the classical calibration ``σ = Δ √(2 ln(1.25/δ)) / ε``
  (ε < 1; Dwork & Roth 2014, Thm. A.1), the exact δ(ε) curve of Balle & Wang (ICML 2018, Thm. 8)
  ``δ = Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ)``, and zero-concentrated DP ``ρ = Δ²/(2σ²)`` (Bun &
  Steinke 2016, Prop. 1.6) with the conversion ``ε = ρ + 2√(ρ ln(1/δ))`` (their Prop. 1.3).
- Randomized response on bits: keep with probability ``e^ε/(1 + e^ε)``, flip otherwise (ε-DP).

Accounting (host-side float64 scalars): basic composition ``(kε, kδ)`` and advanced composition
``(√(2k ln(1/δ')) ε + k ε (e^ε − 1), kδ + δ')`` (Dwork, Rothblum, Vadhan 2010; Dwork & Roth Thm. 3.20),
and the inverse: the per-query ε that keeps k compositions within a total ε.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class PrivacyParams(NamedTuple):
  """An (ε, δ) differential-privacy guarantee (``inf`` = no guarantee)."""
  epsilon: float
  delta: float


# ---------------------------------------------------------------------------------------------------
# Input validation.


def _check_positive(name: str, value, allow_inf: bool = False) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise TypeError(f"{name}: expected a positive real number, got {type(value).__name__} {value!r}")
  v = float(value)
  if not (v > 0) or (math.isinf(v) and not allow_inf):
    raise ValueError(f"{name}: expected a positive{' ' if allow_inf else ' finite '}number, got {value!r}")
  return v


def _check_delta(name: str, value, allow_zero: bool = True) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise TypeError(f"{name}: expected a real number in [0, 1), got {type(value).__name__} {value!r}")
  v = float(value)
  if not ((0 <= v < 1) if allow_zero else (0 < v < 1)):
    raise ValueError(f"{name}: expected a number in {'[0, 1)' if allow_zero else '(0, 1)'}, got {value!r}")
  return v


def _check_count(name: str, value) -> int:
  if isinstance(value, bool) or not isinstance(value, int):
    raise TypeError(f"{name}: expected a positive int, got {type(value).__name__} {value!r}")
  if value < 1:
    raise ValueError(f"{name}: expected a positive int, got {value}")
  return value


def _check_scale_array(name: str, scale) -> None:
  """Scales may be traced arrays; only concrete Python numbers are range-checked."""
  if isinstance(scale, (int, float)) and not isinstance(scale, bool):
    if not scale >= 0 or math.isinf(scale):
      raise ValueError(f"{name}: expected a finite non-negative scale, got {scale!r}")


# ---------------------------------------------------------------------------------------------------
# Noise and mechanisms.


def laplace_noise(key: Array, scale, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Array:
  """Samples of ``Lap(scale)`` (density ``exp(−|x|/b) / 2b``): ``[*shape]``. ``scale = 0`` gives zeros."""
  _check_scale_array("scale", scale)
  return jnp.asarray(scale, dtype) * jax.random.laplace(key, shape, dtype)


def gaussian_noise(key: Array, sigma, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Array:
  """Samples of ``N(0, sigma²)``: ``[*shape]``. ``sigma = 0`` gives zeros."""
  _check_scale_array("sigma", sigma)
  return jnp.asarray(sigma, dtype) * jax.random.normal(key, shape, dtype)


def laplace_scale(sensitivity: float, epsilon: float) -> float:
  """The Laplace mechanism's scale ``b = Δ/ε`` for an ε-DP release of an L1-sensitivity-Δ query."""
  return _check_positive("sensitivity", sensitivity) / _check_positive("epsilon", epsilon)


def laplace_mechanism(key: Array, value, sensitivity: float, epsilon: float) -> Array:
  """ε-DP release ``value + Lap(Δ/ε)`` of a query with L1 sensitivity Δ; ``value: [...]``."""
  value = jnp.asarray(value)
  dtype = value.dtype if jnp.issubdtype(value.dtype, jnp.floating) else jnp.float32
  return value + laplace_noise(key, laplace_scale(sensitivity, epsilon), value.shape, dtype)


def gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
  """Classical calibration ``σ = Δ √(2 ln(1.25/δ)) / ε`` giving (ε, δ)-DP for ε in (0, 1)."""
  eps = _check_positive("epsilon", epsilon)
  if eps >= 1:
    raise ValueError(f"epsilon: the classical Gaussian calibration needs epsilon < 1, got {epsilon!r} "
                     "(use gaussian_delta or zCDP accounting for larger epsilon)")
  d = _check_delta("delta", delta, allow_zero=False)
  return _check_positive("sensitivity", sensitivity) * math.sqrt(2 * math.log(1.25 / d)) / eps


def gaussian_mechanism(key: Array, value, sensitivity: float, epsilon: float, delta: float) -> Array:
  """(ε, δ)-DP release ``value + N(0, σ²)`` with the classical σ (``gaussian_sigma``); ``value: [...]``."""
  value = jnp.asarray(value)
  dtype = value.dtype if jnp.issubdtype(value.dtype, jnp.floating) else jnp.float32
  return value + gaussian_noise(key, gaussian_sigma(sensitivity, epsilon, delta), value.shape, dtype)


def randomized_response_keep_probability(epsilon) -> Array:
  """``e^ε / (1 + e^ε)``: the probability that randomized response reports the true bit."""
  return jax.nn.sigmoid(jnp.asarray(epsilon, jnp.float32))


def randomized_response(key: Array, bits, epsilon) -> Array:
  """ε-DP randomized response: each bit of ``bits: [...]`` (bool or {0, 1}) kept with probability
  ``e^ε/(1 + e^ε)`` and flipped otherwise, independently. Returns the same dtype as ``bits``."""
  bits = jnp.asarray(bits)
  if not (bits.dtype == jnp.bool_ or jnp.issubdtype(bits.dtype, jnp.integer)):
    raise TypeError(f"bits: expected a bool or integer {{0, 1}} array, got dtype {bits.dtype}")
  if isinstance(epsilon, (int, float)) and not epsilon >= 0:
    raise ValueError(f"epsilon: expected a non-negative number, got {epsilon!r}")
  keep = jax.random.bernoulli(key, randomized_response_keep_probability(epsilon), bits.shape)
  b = bits.astype(bool)
  return jnp.where(keep, b, ~b).astype(bits.dtype)


# ---------------------------------------------------------------------------------------------------
# Privacy loss (density ratios).


def laplace_log_density(x, loc, scale) -> Array:
  """``log p(x)`` of ``Lap(loc, scale)``: ``−|x − loc|/b − log 2b`` (broadcasting)."""
  x, loc, scale = jnp.asarray(x), jnp.asarray(loc), jnp.asarray(scale)
  return -jnp.abs(x - loc) / scale - jnp.log(2 * scale)


def laplace_privacy_loss(x, value, neighbour_value, scale) -> Array:
  """Privacy loss ``log p(x | value) − log p(x | neighbour_value)`` of the Laplace mechanism at the output
  ``x`` (broadcasting): ``(|x − v'| − |x − v|)/b``, at most ``|v − v'|/b`` in absolute value."""
  x, v, w, b = (jnp.asarray(a) for a in (x, value, neighbour_value, scale))
  return (jnp.abs(x - w) - jnp.abs(x - v)) / b


def gaussian_privacy_loss(x, value, neighbour_value, sigma) -> Array:
  """Privacy loss ``log p(x | v) − log p(x | v')`` of the Gaussian mechanism: ``((x − v')² − (x − v)²)/2σ²``."""
  x, v, w, s = (jnp.asarray(a) for a in (x, value, neighbour_value, sigma))
  return ((x - w) ** 2 - (x - v) ** 2) / (2 * s * s)


def gaussian_delta(sigma: float, sensitivity: float, epsilon: float) -> float:
  """Smallest δ for which ``N(0, σ²)`` noise is (ε, δ)-DP at sensitivity Δ (Balle & Wang 2018, Thm. 8):
  ``Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ)``; float64 on the host."""
  s = _check_positive("sigma", sigma)
  d = _check_positive("sensitivity", sensitivity)
  if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
    raise ValueError(f"epsilon: expected a non-negative number, got {epsilon!r}")
  a, c = d / (2 * s), epsilon * s / d
  phi = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))
  # e^ε Φ(−a − c) computed in log space to stay finite for large ε
  low = phi(-a - c)
  tail = math.exp(epsilon + math.log(low)) if low > 0 else 0.0
  return max(phi(a - c) - tail, 0.0)


# ---------------------------------------------------------------------------------------------------
# Accounting.


def basic_composition(epsilon: float, delta: float, k: int) -> PrivacyParams:
  """k-fold (adaptive) composition of (ε, δ)-DP mechanisms: ``(kε, kδ)``."""
  eps = _check_positive("epsilon", epsilon, allow_inf=True)
  return PrivacyParams(eps * _check_count("k", k), min(k * _check_delta("delta", delta), 1.0))


def advanced_composition(epsilon: float, delta: float, k: int, delta_slack: float) -> PrivacyParams:
  """Advanced composition (Dwork & Roth, Thm. 3.20): k adaptive (ε, δ)-DP mechanisms are
  ``(√(2k ln(1/δ')) ε + k ε (e^ε − 1), kδ + δ')``-DP for any slack ``δ' > 0``."""
  eps = _check_positive("epsilon", epsilon)
  k = _check_count("k", k)
  ds = _check_delta("delta_slack", delta_slack, allow_zero=False)
  total = math.sqrt(2 * k * math.log(1 / ds)) * eps + k * eps * math.expm1(eps)
  return PrivacyParams(total, min(k * _check_delta("delta", delta) + ds, 1.0))


def advanced_composition_epsilon_per_query(total_epsilon: float, k: int, delta_slack: float) -> float:
  """Largest per-query ε whose k-fold advanced composition (slack δ') is at most ``total_epsilon``
  (bisection on the increasing map ε ↦ √(2k ln(1/δ')) ε + k ε (e^ε − 1))."""
  target = _check_positive("total_epsilon", total_epsilon)
  k = _check_count("k", k)
  ds = _check_delta("delta_slack", delta_slack, allow_zero=False)
  f = lambda e: math.sqrt(2 * k * math.log(1 / ds)) * e + k * e * math.expm1(e)
  lo, hi = 0.0, target  # f(e) >= e sqrt(2 ln(1/δ')) ... >= e for δ' < e^{-1/2}; widen if needed
  while f(hi) < target:
    hi *= 2
  for _ in range(200):
    mid = 0.5 * (lo + hi)
    lo, hi = (mid, hi) if f(mid) <= target else (lo, mid)
  return lo


def zcdp_of_gaussian(sigma: float, sensitivity: float) -> float:
  """ρ-zCDP of ``N(0, σ²)`` noise at L2 sensitivity Δ: ``ρ = Δ²/(2σ²)`` (composes additively)."""
  return _check_positive("sensitivity", sensitivity) ** 2 / (2 * _check_positive("sigma", sigma) ** 2)


def zcdp_to_dp(rho: float, delta: float) -> PrivacyParams:
  """ρ-zCDP implies ``(ρ + 2√(ρ ln(1/δ)), δ)``-DP for every δ > 0 (Bun & Steinke 2016, Prop. 1.3)."""
  r = _check_positive("rho", rho)
  d = _check_delta("delta", delta, allow_zero=False)
  return PrivacyParams(r + 2 * math.sqrt(r * math.log(1 / d)), d)
