"""Covariance functions r(t) of stationary, unit-variance Gaussian processes used with the Slepian IIA.

H. Bengtsson and K. Podgórski, "The Slepian model based independent interval approximation of persistency and
zero-level exceedance distributions", 2024, arXiv:2401.01805.

Each covariance is a ``Covariance``: jnp callables of t ≥ 0 for r(t), −r′(t) and 1 − r(t), the spectral moment
λ₂ = −r″(0), and the exponential decay rate of the clipped Slepian mean m(t) where known. 1 − r and −r′ are
written in cancellation-free forms (expm1, products of small factors) so that m(t) = −r′/√(λ₂(1 − r²)) stays
accurate as t → 0, where numerator and denominator both vanish like λ₂ t.

Families (T is log time for the first two; a power law t^{−θ} in real time is e^{−θT} in log time):

- ``diffusion(d)``: the diffusion equation ∂_t φ = ∇²φ from white noise in d dimensions, observed at a point;
  in log time r(T) = sech(T/2)^{d/2}, λ₂ = d/8, m decays at rate d/4. log cosh is evaluated without overflow.
- ``random_acceleration()``: x″ = white noise, in log time r(T) = (3/2)e^{−T/2} − (1/2)e^{−3T/2}, λ₂ = 3/4,
  m decays at rate 1/2 (exact persistence exponent 1/4).
- ``gaussian(scale)``: r = exp(−t²/(2ℓ²)), λ₂ = 1/ℓ²; m decays faster than any exponential.
- ``damped_cosine(omega, alpha)``: r = exp(−α t²/2) cos(ω t), λ₂ = α + ω² (non-monotone; the paper's warning).
- ``ornstein_uhlenbeck()``: r = e^{−|t|}, not differentiable (λ₂ = ∞): a simulator check only, no IIA.
- ``user_covariance(r, ...)``: any r given as a jnp function; −r′ and λ₂ by automatic differentiation.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array


class Covariance(NamedTuple):
  """A stationary unit-variance covariance. Callables map ``t: [...]`` (t ≥ 0) to ``[...]``.

  Attributes:
    name: label for reports.
    r: r(t).
    minus_dr: −r′(t).
    one_minus_r: 1 − r(t), accurate for small t.
    lambda2: λ₂ = −r″(0) (``inf`` when r is not twice differentiable at 0).
    decay: κ, the exponential decay rate of m(t) (``inf`` when m decays faster than any exponential; None when
      unknown, then estimated numerically).
  """
  name: str
  r: Callable[[Array], Array]
  minus_dr: Callable[[Array], Array]
  one_minus_r: Callable[[Array], Array]
  lambda2: float
  decay: float | None


def host_only(fn: str, **values) -> None:
  """TypeError if any of ``values`` holds a jax tracer: ``fn`` is numpy-based (evaluated on the host) and not
  differentiable; without this guard a transformation would fail with jax's TracerArrayConversionError."""
  for name, v in values.items():
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(v)):
      raise TypeError(f"{fn}: {name}: {fn} is numpy-based (evaluated on the host) and not differentiable; got a jax "
                      "tracer (call it on concrete arrays, outside jit / grad / vmap)")


def _check_pos(name: str, v, allow_inf: bool = False) -> float:
  if isinstance(v, jax.core.Tracer):
    raise TypeError(f"{name}: expected a Python number; covariance parameters are static (a Covariance is a jit "
                    "static argument), so a Covariance is not differentiable in its parameters; got a jax tracer")
  if isinstance(v, bool) or not isinstance(v, (int, float)):
    raise TypeError(f"{name}: expected a positive real number, got {type(v).__name__} {v!r}")
  v = float(v)
  if not v > 0 or (math.isinf(v) and not allow_inf) or math.isnan(v):
    raise ValueError(f"{name}: expected a positive finite number, got {v!r}")
  return v


def _log_cosh(x: Array) -> Array:
  """log cosh x for x ≥ 0: log1p(2 sinh²(x/2)) near 0 (no cancellation), x + log1p(e^{−2x}) − log 2 beyond."""
  xs = jnp.minimum(x, 1.0)
  small = jnp.log1p(2 * jnp.sinh(xs / 2) ** 2)
  big = x + jnp.log1p(jnp.exp(-2 * x)) - math.log(2.0)
  return jnp.where(x < 1.0, small, big)


def diffusion(d: int) -> Covariance:
  """Diffusion from white-noise initial data in d dimensions, in log time: r(T) = sech(T/2)^{d/2}, λ₂ = d/8."""
  if isinstance(d, bool) or not isinstance(d, int) or d < 1:
    raise ValueError(f"d: expected a positive int dimension, got {d!r}")
  return _diffusion(d)


@functools.lru_cache(maxsize=None)
def _diffusion(d: int) -> Covariance:
  a = d / 2

  def log_r(t):
    return -a * _log_cosh(jnp.abs(t) / 2)

  def r(t):
    return jnp.exp(log_r(t))

  def omr(t):
    return -jnp.expm1(log_r(t))

  def mdr(t):   # −r′ = (d/4) tanh(T/2) r
    return (a / 2) * jnp.tanh(jnp.abs(t) / 2) * r(t)

  return Covariance(f"diffusion d={d}", r, mdr, omr, d / 8, d / 4)


@functools.lru_cache(maxsize=None)
def random_acceleration() -> Covariance:
  """Random-acceleration process in log time: r(T) = (3/2)e^{−T/2} − (1/2)e^{−3T/2}, λ₂ = 3/4."""

  def r(t):
    t = jnp.abs(t)
    return 1.5 * jnp.exp(-t / 2) - 0.5 * jnp.exp(-1.5 * t)

  def omr(t):   # 1 − r = (1 − e^{−T/2})² (1 + e^{−T/2}/2): the double root at T = 0 factored out
    t = jnp.abs(t)
    return jnp.expm1(-t / 2) ** 2 * (1 + 0.5 * jnp.exp(-t / 2))

  def mdr(t):   # −r′ = (3/4) e^{−T/2} (1 − e^{−T})
    t = jnp.abs(t)
    return -0.75 * jnp.exp(-t / 2) * jnp.expm1(-t)

  return Covariance("random acceleration", r, mdr, omr, 0.75, 0.5)


def gaussian(scale: float = 1.0) -> Covariance:
  """Gaussian covariance r(t) = exp(−t²/(2ℓ²)), λ₂ = 1/ℓ²."""
  return _gaussian(_check_pos("scale", scale))


@functools.lru_cache(maxsize=None)
def _gaussian(ell: float) -> Covariance:

  def r(t):
    return jnp.exp(-(t / ell) ** 2 / 2)

  def omr(t):
    return -jnp.expm1(-(t / ell) ** 2 / 2)

  def mdr(t):
    return t / ell ** 2 * r(t)

  return Covariance(f"Gaussian ℓ={ell:g}", r, mdr, omr, 1 / ell ** 2, math.inf)


def damped_cosine(omega: float = 1.0, alpha: float = 0.25) -> Covariance:
  """Damped cosine r(t) = exp(−α t²/2) cos(ω t), λ₂ = α + ω² (non-monotone; the paper's example is ω = 1,
  α = 1/4, r = e^{−t²/8} cos t, λ₂ = 1.25)."""
  return _damped_cosine(_check_pos("omega", omega), _check_pos("alpha", alpha))


@functools.lru_cache(maxsize=None)
def _damped_cosine(w: float, al: float) -> Covariance:

  def r(t):
    return jnp.exp(-al * t ** 2 / 2) * jnp.cos(w * t)

  def omr(t):   # 1 − e^{−αt²/2} cos ωt = −expm1(−αt²/2) + e^{−αt²/2} · 2 sin²(ωt/2)
    return -jnp.expm1(-al * t ** 2 / 2) + jnp.exp(-al * t ** 2 / 2) * 2 * jnp.sin(w * t / 2) ** 2

  def mdr(t):
    return jnp.exp(-al * t ** 2 / 2) * (w * jnp.sin(w * t) + al * t * jnp.cos(w * t))

  return Covariance(f"damped cosine ω={w:g} α={al:g}", r, mdr, omr, al + w ** 2, None)


def ornstein_uhlenbeck(rate: float = 1.0) -> Covariance:
  """Ornstein–Uhlenbeck covariance r(t) = e^{−rate |t|}: not differentiable, λ₂ = ∞ (simulation checks only)."""
  return _ornstein_uhlenbeck(_check_pos("rate", rate))


@functools.lru_cache(maxsize=None)
def _ornstein_uhlenbeck(k: float) -> Covariance:

  def r(t):
    return jnp.exp(-k * jnp.abs(t))

  def omr(t):
    return -jnp.expm1(-k * jnp.abs(t))

  def mdr(t):
    return k * r(t)

  return Covariance(f"Ornstein–Uhlenbeck rate={k:g}", r, mdr, omr, math.inf, None)


def user_covariance(r: Callable[[Array], Array], *, lambda2: float | None = None,
                    one_minus_r: Callable[[Array], Array] | None = None, decay: float | None = None,
                    name: str = "user") -> Covariance:
  """A covariance from a user-supplied r.

  Args:
    r: jnp-traceable function of a scalar t ≥ 0 (applied elementwise through ``vmap``), with r(0) = 1.
    lambda2: λ₂ = −r″(0); by default from automatic differentiation at t = 0 (r must then be written smooth
      at 0, e.g. in t², not |t|).
    one_minus_r: optional cancellation-free 1 − r(t). Without it 1 − r(t) is evaluated directly and m(t) is
      interpolated linearly to m(0) = 1 for t√λ₂ < 1e-4 (see ``slepian_mean``).
    decay: exponential decay rate of m if known (``inf`` for faster than exponential).
    name: label.
  """
  if not callable(r):
    raise TypeError(f"r: expected a callable r(t), got {type(r).__name__}")
  if not isinstance(name, str):
    raise TypeError(f"user_covariance: name: expected a str, got {type(name).__name__}")
  try:
    r0 = jax.jit(r)(jnp.asarray(0.0))
  except Exception as e:  # noqa: BLE001  (any failure of the user's function)
    raise TypeError(f"user_covariance: r: expected a jnp-traceable function of a scalar t, but r(0.0) under jit "
                    f"raised {type(e).__name__}: {e}") from e
  if jnp.shape(r0) != () or not jnp.issubdtype(jnp.result_type(r0), jnp.floating):
    raise ValueError(f"user_covariance: r: expected a real scalar r(t) for a scalar t, got shape {jnp.shape(r0)} "
                     f"dtype {jnp.result_type(r0)}")
  r0 = float(r0)
  if not abs(r0 - 1.0) < 1e-9:
    raise ValueError(f"r: expected unit variance r(0) = 1, got r(0) = {r0!r}")
  if lambda2 is None:
    lam = -float(jax.grad(jax.grad(r))(jnp.asarray(0.0)))
    if not (math.isfinite(lam) and lam > 0):
      raise ValueError(f"r: automatic differentiation gave λ₂ = −r″(0) = {lam!r}; expected a positive finite value "
                       "(pass lambda2= explicitly)")
  else:
    lam = _check_pos("lambda2", lambda2)
  if decay is not None:
    decay = _check_pos("decay", decay, allow_inf=True)
  if one_minus_r is not None and not callable(one_minus_r):
    raise TypeError(f"one_minus_r: expected a callable or None, got {type(one_minus_r).__name__}")
  rv = jax.vmap(r)
  dr = jax.vmap(jax.grad(r))

  def r_arr(t):
    t = jnp.asarray(t)
    return rv(t.ravel()).reshape(t.shape)

  def mdr(t):
    t = jnp.asarray(t)
    return -dr(t.ravel()).reshape(t.shape)

  if one_minus_r is None:
    omr = lambda t: 1 - r_arr(t)  # noqa: E731
    omr.direct = True
  else:
    omr = one_minus_r
  return Covariance(name, r_arr, mdr, omr, lam, decay)
