"""Differential-privacy noise mechanisms and privacy accounting shared by the zoo's privacy papers.

Used by paper 05 (``theory/adaptive_holdout``: Dwork, Feldman, Hardt, Pitassi, Reingold, Roth,
"Preserving Statistical Validity in Adaptive Data Analysis", STOC 2015, arXiv:1411.2664) and by papers 10
(``theory/dp_continual``, continual observation) and 31 (``theory/dp_sequential``, private sequential learning);
their validation helpers (``check_positive``, ``check_delta``, ``ops_for``, ...) are public for those packages and
kept out of ``__all__``.

Mechanisms (jit-able, explicit keys; ``value`` may have any shape ``[...]``):

- Laplace mechanism: ``value + Lap(Δ/ε)`` is ε-DP for a query of L1 sensitivity Δ (Dwork, McSherry,
  Nissim, Smith 2006). Its privacy loss ``log p(x | v) / p(x | v')`` is ``(|x − v'| − |x − v|)/b``,
  bounded by ``|v − v'|/b ≤ ε`` (``laplace_privacy_loss``).
- Gaussian mechanism: ``value + N(0, σ²)``; the classical calibration ``σ = Δ √(2 ln(1.25/δ)) / ε``
  (ε < 1; Dwork & Roth 2014, Thm. A.1), the exact δ(ε) curve of Balle & Wang (ICML 2018, Thm. 8)
  ``δ = Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ)``, and zero-concentrated DP ``ρ = Δ²/(2σ²)`` (Bun &
  Steinke 2016, Prop. 1.6) with the conversion ``ε = ρ + 2√(ρ ln(1/δ))`` (their Prop. 1.3).
- Randomized response on bits: keep with probability ``e^ε/(1 + e^ε)``, flip otherwise (ε-DP).

Accounting: basic composition ``(kε, kδ)`` and advanced composition
``(√(2k ln(1/δ')) ε + k ε (e^ε − 1), kδ + δ')`` (Dwork, Rothblum, Vadhan 2010; Dwork & Roth Thm. 3.20),
and the inverse: the per-query ε that keeps k compositions within a total ε.

Inputs. The calibrations and accounting functions take Python numbers and return Python floats (float64
on the host), or 0-d JAX floating arrays and return JAX arrays: then they are jit-able and
differentiable (the bisection of ``advanced_composition_epsilon_per_query`` runs in ``lax`` loops and is
differentiated by the implicit-function theorem). Every argument is validated and errors name the
function and the argument; ranges (ε > 0, δ in (0, 1), ...) are checked for every concrete value and
not for traced ones (inside ``jit``/``grad`` an out-of-range value gives NaN or a meaningless number).
``randomized_response`` returns bits: differentiating it raises a ``TypeError``.
"""
from __future__ import annotations

import math
import types
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from kernels.common.checks import no_grad

Array = jax.Array

__all__ = [
    "PrivacyParams", "laplace_noise", "gaussian_noise", "laplace_scale", "laplace_mechanism", "gaussian_sigma",
    "gaussian_mechanism", "randomized_response_keep_probability", "randomized_response", "laplace_log_density",
    "laplace_privacy_loss", "gaussian_privacy_loss", "gaussian_delta", "basic_composition", "advanced_composition",
    "advanced_composition_epsilon_per_query", "zcdp_of_gaussian", "zcdp_to_dp",
]


class PrivacyParams(NamedTuple):
  """An (ε, δ) differential-privacy guarantee (``inf`` = no guarantee)."""
  epsilon: float
  delta: float


# ---------------------------------------------------------------------------------------------------
# Input validation (shared with theory/adaptive_holdout, theory/dp_continual, theory/dp_sequential).
# These helpers are public for the privacy packages of the zoo and kept out of ``__all__`` (not user API).


def at(fn: str | None, name: str) -> str:
  """The prefix of an error message: ``"fn: name"`` (just ``name`` when ``fn`` is None)."""
  return f"{fn}: {name}" if fn else name


def is_traced(x: Any) -> bool:
  """True for an abstract value inside a transformation (``jit``, ``grad``, ``vmap``)."""
  return isinstance(x, jax.core.Tracer)


def check_real(name: str, value, fn: str | None, ok: Callable[[float], bool], expected: str):
  """A real scalar: a Python / numpy number (returned as a Python float) or a 0-d JAX array (returned as a
  floating JAX array, range-checked when concrete). ``ok(v)`` says whether the value is in range."""
  if isinstance(value, (bool, np.bool_)):
    raise TypeError(f"{at(fn, name)}: expected {expected}, got bool {value!r}")
  if isinstance(value, jax.Array):
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
      raise TypeError(f"{at(fn, name)}: expected {expected}, got an array of dtype {value.dtype}")
    if value.ndim != 0:
      raise ValueError(f"{at(fn, name)}: expected a scalar ({expected}), got shape {value.shape}")
    if not jnp.issubdtype(value.dtype, jnp.floating):
      value = value.astype(jnp.result_type(float))
    if not is_traced(value) and not ok(float(value)):
      raise ValueError(f"{at(fn, name)}: expected {expected}, got {float(value)!r}")
    return value
  if not isinstance(value, (int, float, np.integer, np.floating)):
    raise TypeError(f"{at(fn, name)}: expected {expected}, got {type(value).__name__} {value!r}")
  v = float(value)
  if not ok(v):
    raise ValueError(f"{at(fn, name)}: expected {expected}, got {value!r}")
  return v


def check_positive(name: str, value, allow_inf: bool = False, fn: str | None = None):
  """A real scalar > 0 (finite unless ``allow_inf``): see :func:`check_real`."""
  return check_real(name, value, fn, (lambda v: v > 0) if allow_inf else (lambda v: 0 < v < math.inf),
               "a positive number (inf allowed)" if allow_inf else "a positive finite number")


def check_nonneg(name: str, value, allow_inf: bool = False, fn: str | None = None):
  """A real scalar >= 0 (finite unless ``allow_inf``): see :func:`check_real`."""
  return check_real(name, value, fn, (lambda v: v >= 0) if allow_inf else (lambda v: 0 <= v < math.inf),
               "a non-negative number (inf allowed)" if allow_inf else "a finite non-negative number")


def check_delta(name: str, value, allow_zero: bool = True, fn: str | None = None):
  """A privacy δ: a real scalar in ``[0, 1)`` (``(0, 1)`` unless ``allow_zero``): see :func:`check_real`."""
  return check_real(name, value, fn, (lambda v: 0 <= v < 1) if allow_zero else (lambda v: 0 < v < 1),
               "a number in [0, 1)" if allow_zero else "a number in (0, 1)")


def check_count(name: str, value, fn: str | None = None) -> int:
  """A positive Python / numpy int (not bool), returned as ``int``."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
    raise TypeError(f"{at(fn, name)}: expected a positive int, got {type(value).__name__} {value!r}")
  if value < 1:
    raise ValueError(f"{at(fn, name)}: expected a positive int, got {value}")
  return int(value)


def _check_scale_array(name: str, scale, fn: str | None = None):
  """A noise scale: a finite number >= 0 or a 0-d JAX array (traced values are not range-checked)."""
  return check_nonneg(name, scale, fn=fn)


def _check_shape(shape, fn: str) -> tuple[int, ...]:
  if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
    shape = (shape,)
  if (not isinstance(shape, (tuple, list))
      or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in shape)):
    raise TypeError(f"{fn}: shape: expected a tuple of non-negative ints, got {shape!r}")
  return tuple(int(d) for d in shape)


def _check_float_dtype(dtype, fn: str):
  try:
    dt = jnp.dtype(dtype)
  except TypeError as e:
    raise TypeError(f"{fn}: dtype: expected a floating dtype, got {dtype!r}") from e
  if not jnp.issubdtype(dt, jnp.floating):
    raise TypeError(f"{fn}: dtype: expected a floating dtype, got {dt}")
  return dt


def real_array(name: str, value, fn: str) -> Array:
  """``jnp.asarray(value)`` for a real (float or int, not bool) array; a ``TypeError`` naming it otherwise."""
  if not isinstance(value, jax.Array):
    kind = np.asarray(value).dtype.kind if not isinstance(value, (int, float)) else "f"
    if kind not in "iuf":
      raise TypeError(f"{fn}: {name}: expected real (float or int) values, got dtype {np.asarray(value).dtype}")
  a = jnp.asarray(value)
  if a.dtype == jnp.bool_ or not (jnp.issubdtype(a.dtype, jnp.floating) or jnp.issubdtype(a.dtype, jnp.integer)):
    raise TypeError(f"{fn}: {name}: expected real (float or int) values, got dtype {a.dtype}")
  return a


def _broadcast(fn: str, **arrays) -> list[Array]:
  """Real arrays (``real_array``), checked to broadcast together (an error names them)."""
  out = [real_array(k, a, fn) for k, a in arrays.items()]
  try:
    jnp.broadcast_shapes(*(a.shape for a in out))
  except ValueError:
    shapes = ", ".join(f"{k} {tuple(a.shape)}" for k, a in zip(arrays, out))
    raise ValueError(f"{fn}: {', '.join(arrays)}: shapes do not broadcast: {shapes}") from None
  return out


def _check_positive_array(name: str, value, fn: str) -> Array:
  """A positive scale given as a number or an array (concrete values must be finite and > 0)."""
  a = real_array(name, value, fn)
  if not is_traced(a):
    v = np.asarray(a, np.float64)
    if v.size and not (np.all(v > 0) and np.all(np.isfinite(v))):
      raise ValueError(f"{fn}: {name}: expected finite values > 0, got minimum {v.min()!r}")
  return a


# Math on Python floats (host, float64) or on JAX arrays, with the same names: one formula serves both.
HOST = types.SimpleNamespace(
    sqrt=math.sqrt, log=math.log, exp=math.exp, expm1=math.expm1, log1p=math.log1p, floor=math.floor,
    minimum=min, maximum=max, isinf=math.isinf, where=lambda c, a, b: a if c else b,
    ndtr=lambda z: 0.5 * math.erfc(-z / math.sqrt(2)))
JAX = types.SimpleNamespace(
    sqrt=jnp.sqrt, log=jnp.log, exp=jnp.exp, expm1=jnp.expm1, log1p=jnp.log1p, floor=jnp.floor,
    minimum=jnp.minimum, maximum=jnp.maximum, isinf=jnp.isinf, where=jnp.where, ndtr=ndtr)


def ops_for(*values):
  """``JAX`` if any value is a JAX array (concrete or traced), else ``HOST``."""
  return JAX if any(isinstance(v, jax.Array) for v in values) else HOST


def increasing_root(f: Callable, target, lo, hi, iters: int = 200, widen: bool = True):
  """For JAX scalars: the root x of the increasing ``f(x) = target`` (bracket ``[lo, hi]``, ``hi`` doubled
  until ``f(hi) >= target`` when ``widen``), by bisection in ``lax`` loops on stop-gradient values."""
  target, lo, hi = (jax.lax.stop_gradient(jnp.asarray(v)) for v in (target, lo, hi))
  if widen:
    hi = jax.lax.while_loop(lambda h: (f(h) < target) & jnp.isfinite(h), lambda h: 2 * h, hi)

  def body(_, lh):
    lo, hi = lh
    mid = 0.5 * (lo + hi)
    up = f(mid) <= target
    return jnp.where(up, mid, lo), jnp.where(up, hi, mid)

  lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
  return lo, hi


def implicit_root(root: Array, residual: Callable[..., Array], *params) -> Array:
  """``root`` (a stop-gradient solution of ``residual(x, *params) = 0``) with the derivative of the implicit
  function: one Newton step ``x − r(x)/r'(x)`` whose value is ``root`` (r(root) ≈ 0) and whose derivative
  with respect to ``params`` is ``−(∂r/∂θ)/(∂r/∂x)`` (``r'`` is evaluated at stop-gradient parameters, so
  no second derivative is traced)."""
  root = jax.lax.stop_gradient(root)
  fixed = [jax.lax.stop_gradient(p) for p in params]
  slope = jax.grad(residual)(root, *fixed)
  return root - residual(root, *params) / slope


# ---------------------------------------------------------------------------------------------------
# Noise and mechanisms.


def laplace_noise(key: Array, scale, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Array:
  """Samples of ``Lap(scale)`` (density ``exp(−|x|/b) / 2b``): ``[*shape]``. ``scale = 0`` gives zeros.
  ``scale * Lap(1)``: differentiable in ``scale``."""
  fn = "laplace_noise"
  scale = _check_scale_array("scale", scale, fn)
  shape, dtype = _check_shape(shape, fn), _check_float_dtype(dtype, fn)
  return jnp.asarray(scale, dtype) * jax.random.laplace(key, shape, dtype)


def gaussian_noise(key: Array, sigma, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Array:
  """Samples of ``N(0, sigma²)``: ``[*shape]``. ``sigma = 0`` gives zeros; differentiable in ``sigma``."""
  fn = "gaussian_noise"
  sigma = _check_scale_array("sigma", sigma, fn)
  shape, dtype = _check_shape(shape, fn), _check_float_dtype(dtype, fn)
  return jnp.asarray(sigma, dtype) * jax.random.normal(key, shape, dtype)


def laplace_scale(sensitivity, epsilon):
  """The Laplace mechanism's scale ``b = Δ/ε`` for an ε-DP release of an L1-sensitivity-Δ query."""
  fn = "laplace_scale"
  return check_positive("sensitivity", sensitivity, fn=fn) / check_positive("epsilon", epsilon, fn=fn)


def _value(value, fn: str) -> Array:
  return real_array("value", value, fn)


def laplace_mechanism(key: Array, value, sensitivity, epsilon) -> Array:
  """ε-DP release ``value + Lap(Δ/ε)`` of a query with L1 sensitivity Δ; ``value: [...]`` (int values are
  released in float32)."""
  value = _value(value, "laplace_mechanism")
  dtype = value.dtype if jnp.issubdtype(value.dtype, jnp.floating) else jnp.float32
  return value + laplace_noise(key, laplace_scale(sensitivity, epsilon), value.shape, dtype)


def gaussian_sigma(sensitivity, epsilon, delta):
  """Classical calibration ``σ = Δ √(2 ln(1.25/δ)) / ε`` giving (ε, δ)-DP for ε in (0, 1)."""
  fn = "gaussian_sigma"
  eps = check_positive("epsilon", epsilon, fn=fn)
  if not is_traced(eps) and float(eps) >= 1:
    raise ValueError(f"{fn}: epsilon: the classical Gaussian calibration needs epsilon < 1, got {epsilon!r} "
                     "(use gaussian_delta or zCDP accounting for larger epsilon)")
  d = check_delta("delta", delta, allow_zero=False, fn=fn)
  sens = check_positive("sensitivity", sensitivity, fn=fn)
  return sens * ops_for(eps, d, sens).sqrt(2 * ops_for(d).log(1.25 / d)) / eps


def gaussian_mechanism(key: Array, value, sensitivity, epsilon, delta) -> Array:
  """(ε, δ)-DP release ``value + N(0, σ²)`` with the classical σ (``gaussian_sigma``); ``value: [...]``."""
  value = _value(value, "gaussian_mechanism")
  dtype = value.dtype if jnp.issubdtype(value.dtype, jnp.floating) else jnp.float32
  return value + gaussian_noise(key, gaussian_sigma(sensitivity, epsilon, delta), value.shape, dtype)


def randomized_response_keep_probability(epsilon) -> Array:
  """``e^ε / (1 + e^ε)``: the probability that randomized response reports the true bit (``epsilon >= 0``,
  a number or an array; float32 for Python numbers, else the array's float dtype)."""
  fn = "randomized_response_keep_probability"
  if isinstance(epsilon, (bool, np.bool_)):
    raise TypeError(f"{fn}: epsilon: expected a real number, got bool")
  eps = real_array("epsilon", epsilon, fn)
  if not isinstance(epsilon, jax.Array):
    eps = eps.astype(jnp.float32)
  if not jnp.issubdtype(eps.dtype, jnp.floating):
    eps = eps.astype(jnp.float32)
  if not is_traced(eps):
    v = np.asarray(eps, np.float64)
    if not np.all(v >= 0):
      raise ValueError(f"{fn}: epsilon: expected non-negative values, got minimum {v.min()!r}")
  return jax.nn.sigmoid(eps)


def randomized_response(key: Array, bits, epsilon) -> Array:
  """ε-DP randomized response: each bit of ``bits: [...]`` (bool or {0, 1}) kept with probability
  ``e^ε/(1 + e^ε)`` and flipped otherwise, independently. Returns the same dtype as ``bits``. The output is
  bits: differentiating with respect to ``epsilon`` raises a ``TypeError``."""
  fn = "randomized_response"
  bits = jnp.asarray(bits)
  if not (bits.dtype == jnp.bool_ or jnp.issubdtype(bits.dtype, jnp.integer)):
    raise TypeError(f"{fn}: bits: expected a bool or integer {{0, 1}} array, got dtype {bits.dtype}")
  if isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and not epsilon >= 0:
    raise ValueError(f"{fn}: epsilon: expected a non-negative number, got {epsilon!r}")
  keep_p = randomized_response_keep_probability(epsilon)
  keep = jax.random.bernoulli(key, no_grad(keep_p, f"theory.common.privacy.{fn}"), bits.shape)
  b = bits.astype(bool)
  return jnp.where(keep, b, ~b).astype(bits.dtype)


# ---------------------------------------------------------------------------------------------------
# Privacy loss (density ratios).


def laplace_log_density(x, loc, scale) -> Array:
  """``log p(x)`` of ``Lap(loc, scale)``: ``−|x − loc|/b − log 2b`` (broadcasting; ``scale > 0``)."""
  fn = "laplace_log_density"
  x, loc, scale = _broadcast(fn, x=x, loc=loc, scale=_check_positive_array("scale", scale, fn))
  return -jnp.abs(x - loc) / scale - jnp.log(2 * scale)


def laplace_privacy_loss(x, value, neighbour_value, scale) -> Array:
  """Privacy loss ``log p(x | value) − log p(x | neighbour_value)`` of the Laplace mechanism at the output
  ``x`` (broadcasting): ``(|x − v'| − |x − v|)/b``, at most ``|v − v'|/b`` in absolute value."""
  fn = "laplace_privacy_loss"
  x, v, w, b = _broadcast(fn, x=x, value=value, neighbour_value=neighbour_value,
                          scale=_check_positive_array("scale", scale, fn))
  return (jnp.abs(x - w) - jnp.abs(x - v)) / b


def gaussian_privacy_loss(x, value, neighbour_value, sigma) -> Array:
  """Privacy loss ``log p(x | v) − log p(x | v')`` of the Gaussian mechanism: ``((x − v')² − (x − v)²)/2σ²``."""
  fn = "gaussian_privacy_loss"
  x, v, w, s = _broadcast(fn, x=x, value=value, neighbour_value=neighbour_value,
                          sigma=_check_positive_array("sigma", sigma, fn))
  return ((x - w) ** 2 - (x - v) ** 2) / (2 * s * s)


def gaussian_delta_value(s, d, epsilon, ops):
  """:func:`gaussian_delta` on validated ``σ = s``, ``Δ = d``, ``ε`` with the math namespace ``ops``
  (:data:`HOST` or :data:`JAX`, see :func:`ops_for`); for callers that solve for σ inside ``lax`` loops."""
  a, c = d / (2 * s), epsilon * s / d
  if ops is HOST:
    # e^ε Φ(−a − c) computed in log space to stay finite for large ε
    low = ops.ndtr(-a - c)
    tail = math.exp(epsilon + math.log(low)) if low > 0 else 0.0
  else:
    low = ndtr(-a - c)
    tail = jnp.where(low > 0, jnp.exp(epsilon + jnp.log(jnp.where(low > 0, low, 1.0))), 0.0)
  return ops.maximum(ops.ndtr(a - c) - tail, 0.0)


def gaussian_delta(sigma, sensitivity, epsilon):
  """Smallest δ for which ``N(0, σ²)`` noise is (ε, δ)-DP at sensitivity Δ (Balle & Wang 2018, Thm. 8):
  ``Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ)``; float64 on the host (JAX scalars: jit-able, differentiable)."""
  fn = "gaussian_delta"
  s = check_positive("sigma", sigma, fn=fn)
  d = check_positive("sensitivity", sensitivity, fn=fn)
  e = check_nonneg("epsilon", epsilon, fn=fn)
  return gaussian_delta_value(s, d, e, ops_for(s, d, e))


# ---------------------------------------------------------------------------------------------------
# Accounting.


def basic_composition(epsilon, delta, k: int) -> PrivacyParams:
  """k-fold (adaptive) composition of (ε, δ)-DP mechanisms: ``(kε, min(kδ, 1))``."""
  fn = "basic_composition"
  eps = check_positive("epsilon", epsilon, allow_inf=True, fn=fn)
  k = check_count("k", k, fn)
  d = check_delta("delta", delta, fn=fn)
  ops = ops_for(eps, d)
  return PrivacyParams(eps * k, ops.minimum(k * d, 1.0) if ops is HOST else jnp.minimum(jnp.asarray(k * d), 1.0))


def _advanced_total(eps, k: int, ds, ops):
  return ops.sqrt(2 * k * ops.log(1 / ds)) * eps + k * eps * ops.expm1(eps)


def advanced_composition(epsilon, delta, k: int, delta_slack) -> PrivacyParams:
  """Advanced composition (Dwork & Roth, Thm. 3.20): k adaptive (ε, δ)-DP mechanisms are
  ``(√(2k ln(1/δ')) ε + k ε (e^ε − 1), kδ + δ')``-DP for any slack ``δ' > 0``."""
  fn = "advanced_composition"
  eps = check_positive("epsilon", epsilon, fn=fn)
  k = check_count("k", k, fn)
  ds = check_delta("delta_slack", delta_slack, allow_zero=False, fn=fn)
  d = check_delta("delta", delta, fn=fn)
  ops = ops_for(eps, ds, d)
  return PrivacyParams(_advanced_total(eps, k, ds, ops), ops.minimum(k * d + ds, 1.0))


def advanced_composition_epsilon_per_query(total_epsilon, k: int, delta_slack):
  """Largest per-query ε whose k-fold advanced composition (slack δ') is at most ``total_epsilon``
  (bisection on the increasing map ε ↦ √(2k ln(1/δ')) ε + k ε (e^ε − 1)). JAX scalars: the bisection
  runs in ``lax`` loops and the derivative is that of the implicit function (exact, not through the loop)."""
  fn = "advanced_composition_epsilon_per_query"
  target = check_positive("total_epsilon", total_epsilon, fn=fn)
  k = check_count("k", k, fn)
  ds = check_delta("delta_slack", delta_slack, allow_zero=False, fn=fn)
  if ops_for(target, ds) is JAX:
    target, ds = jnp.asarray(target), jnp.asarray(ds)
    d0 = jax.lax.stop_gradient(ds)
    lo, _ = increasing_root(lambda e: _advanced_total(e, k, d0, jnp), target, jnp.zeros_like(target), target)
    return implicit_root(lo, lambda e, t, d: _advanced_total(e, k, d, jnp) - t, target, ds)
  f = lambda e: _advanced_total(e, k, ds, HOST)
  lo, hi = 0.0, target  # f(e) >= e sqrt(2 ln(1/δ')) ... >= e for δ' < e^{-1/2}; widen if needed
  while f(hi) < target:
    hi *= 2
  for _ in range(200):
    mid = 0.5 * (lo + hi)
    lo, hi = (mid, hi) if f(mid) <= target else (lo, mid)
  return lo


def zcdp_of_gaussian(sigma, sensitivity):
  """ρ-zCDP of ``N(0, σ²)`` noise at L2 sensitivity Δ: ``ρ = Δ²/(2σ²)`` (composes additively)."""
  fn = "zcdp_of_gaussian"
  return check_positive("sensitivity", sensitivity, fn=fn) ** 2 / (2 * check_positive("sigma", sigma, fn=fn) ** 2)


def zcdp_to_dp(rho, delta) -> PrivacyParams:
  """ρ-zCDP implies ``(ρ + 2√(ρ ln(1/δ)), δ)``-DP for every δ > 0 (Bun & Steinke 2016, Prop. 1.3)."""
  fn = "zcdp_to_dp"
  r = check_positive("rho", rho, fn=fn)
  d = check_delta("delta", delta, allow_zero=False, fn=fn)
  ops = ops_for(r, d)
  return PrivacyParams(r + 2 * ops.sqrt(r * ops.log(1 / d)), d)
