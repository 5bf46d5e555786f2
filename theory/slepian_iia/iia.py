"""The Slepian-model independent interval approximation (IIA) of zero-crossing intervals.

H. Bengtsson and K. Podgórski, "The Slepian model based independent interval approximation of persistency and
zero-level exceedance distributions", 2024, arXiv:2401.01805.

For a stationary Gaussian process X with covariance r, r(0) = 1, λ₂ = −r″(0) < ∞:

- Rice formula: zero crossings occur at rate √λ₂/π, the mean interval is μ = π/√λ₂ (``rice_rate``,
  ``mean_interval``).
- Clipped covariance A(t) = E[sign X(0) sign X(t)] = (2/π) arcsin r(t) (``clipped_covariance``).
- Slepian model at an up-crossing: X₀(t) = R(−r′(t))/λ₂ + Δ(t), R Rayleigh, Δ Gaussian with variance
  1 − r² − r′²/λ₂. The mean of the clipped Slepian process is
  m(t) = E[sign X₀(t)] = −r′(t)/√(λ₂(1 − r(t)²)) = −(1/√λ₂) d/dt arcsin r(t), m(0+) = 1 (``slepian_mean``).
  Matching it to the mean of a switch process started with a switch at 0 is the classical IIA
  (A′ = −(2/μ) m).
- Validity: the matched interval law is a probability law when m is non-increasing from 1 to 0, i.e. arcsin r
  convex (``validity``). Then h = −m′ is a density with ĥ = 1 − s m̂, and the IIA interval Laplace transform is
  ψ̂ = (1 − s m̂)/(1 + s m̂) = ĥ/(2 − ĥ) = Σ_{k≥1} 2^{−k} ĥ^k: the excursion length is the geometric sum
  T = H₁ + … + H_N, N ~ Geometric(1/2) on {1, 2, …}, P(H > t) = m(t) (``iia_law``, ``sample_iia``).
  E[H] = ∫m = μ/2, E[T] = μ.
- Persistence exponent θ_IIA: the root of ĥ(−θ) = 2, i.e. θ ∫₀^∞ e^{θt} m(t) dt = 1, with θ below the decay
  rate of m (``persistence_exponent``).
- Persistence probability by the Palm relation: P₀(t) = P(no zero in [0, t]) = (1/μ) ∫_t^∞ P(T > s) ds
  (``IIALaw.persistence``).

Everything is computed in float64 (scoped with ``jax.enable_x64(True)``); the law of T is computed on a grid by
FFT (the geometric sum ψ = p/(2 − p̂) of the discretised H law) with a grid long enough that the wrapped-around
mass is below ~1e-13.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from theory.slepian_iia.covariances import Covariance, host_only

Array = jax.Array

_SMALL_T = 1e-4   # t√λ₂ below which a user r without a stable 1 − r is interpolated linearly to m(0) = 1


def _check_cov(cov, need_smooth: bool = True, traced_lambda2: bool = False) -> Covariance:
  if not isinstance(cov, Covariance):
    raise TypeError(f"cov: expected a theory.slepian_iia.Covariance, got {type(cov).__name__}")
  if isinstance(cov.lambda2, jax.core.Tracer):
    if traced_lambda2:
      return cov
    raise TypeError(f"cov: lambda2 is a jax tracer; a Covariance is a jit static argument here, so this function "
                    f"is not differentiable in the covariance's parameters ({cov.name})")
  if need_smooth and not math.isfinite(cov.lambda2):
    raise ValueError(f"cov: the IIA needs a differentiable process (λ₂ = −r″(0) < ∞); {cov.name} has λ₂ = "
                     f"{cov.lambda2}")
  return cov


def _check_t(name: str, t) -> None:
  """Real times t >= 0: ValueError when concrete (NaN included); a ``checkify`` check when traced."""
  if isinstance(t, jax.core.Tracer):
    if not (jnp.issubdtype(t.dtype, jnp.floating) or jnp.issubdtype(t.dtype, jnp.integer)):
      raise TypeError(f"{name}: expected real times, got dtype {t.dtype}")
    checkify.debug_check(jnp.all(t >= 0), f"{name}: expected times t >= 0")
    return
  a = np.asarray(t)
  if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
    raise TypeError(f"{name}: expected real times, got dtype {a.dtype}")
  if not np.all(a >= 0):
    raise ValueError(f"{name}: expected times t >= 0, got minimum {a.min() if a.size else a!r}")


def rice_rate(cov: Covariance) -> float:
  """Expected number of zero crossings per unit time, √λ₂/π (Rice formula).

  A Python float; a jax scalar, differentiable in λ₂, when ``cov.lambda2`` is a jax tracer.
  """
  _check_cov(cov, traced_lambda2=True)
  if isinstance(cov.lambda2, jax.core.Tracer):
    return jnp.sqrt(cov.lambda2) / math.pi
  return math.sqrt(cov.lambda2) / math.pi


def mean_interval(cov: Covariance) -> float:
  """Mean length between consecutive zeros, μ = π/√λ₂ (a jax scalar, differentiable, for a traced λ₂)."""
  _check_cov(cov, traced_lambda2=True)
  if isinstance(cov.lambda2, jax.core.Tracer):
    return math.pi / jnp.sqrt(cov.lambda2)
  return math.pi / math.sqrt(cov.lambda2)


def clipped_covariance(cov: Covariance, t) -> Array:
  """A(t) = E[sign X(0) sign X(t)] = (2/π) arcsin r(t), ``t: [...]`` -> ``[...]`` (float64; differentiable in t > 0).

  t >= 0 (ValueError when concrete; a ``checkify`` check under jit/grad, unchecked r is symmetric in t).
  """
  _check_cov(cov, need_smooth=False)
  _check_t("t", t)
  with jax.enable_x64(True):
    return _clipped(cov, jnp.asarray(t, jnp.float64))


@functools.partial(jax.jit, static_argnums=0)
def _clipped(cov, t):
  return 2 / jnp.pi * jnp.arcsin(jnp.clip(cov.r(t), -1.0, 1.0))


@functools.partial(jax.jit, static_argnums=0)
def _m(cov: Covariance, t: Array) -> Array:
  lam = cov.lambda2
  pos = t > 0
  ts = jnp.where(pos, t, 1.0)

  def direct(u):
    omr = cov.one_minus_r(u)
    return cov.minus_dr(u) / jnp.sqrt(lam * omr * (2 - omr))   # 1 − r² = (1 − r)(1 + r)

  m = direct(ts)
  if getattr(cov.one_minus_r, "direct", False):
    t0 = _SMALL_T / math.sqrt(lam)
    m0 = direct(jnp.asarray(t0, t.dtype))
    m = jnp.where(ts < t0, 1 - (1 - m0) * ts / t0, m)
  return jnp.where(pos, m, 1.0)


def slepian_mean(cov: Covariance, t) -> Array:
  """Mean of the clipped Slepian process, m(t) = −r′(t)/√(λ₂(1 − r(t)²)), with m(0) = m(0+) = 1.

  Uses the covariance's cancellation-free 1 − r, so m is accurate to float64 rounding as t → 0.

  Args:
    cov: a differentiable covariance (λ₂ < ∞).
    t: ``[...]`` times ≥ 0 (ValueError when concrete; a ``checkify`` check under jit/grad).

  Returns:
    ``[...]`` float64, differentiable in t for t > 0.
  """
  _check_cov(cov)
  _check_t("t", t)
  with jax.enable_x64(True):
    return _m(cov, jnp.asarray(t, jnp.float64))


class Validity(NamedTuple):
  """Result of the IIA validity check on a grid ``t: [n]``.

  valid: m non-increasing (up to ``tol``) and ≥ 0 on the grid, i.e. h = −m′ is a probability density.
  min_m: minimum of m; first_increase: first grid time where m increases by more than tol (nan if none);
  first_negative: first grid time where m < 0, decided by the sign of −r′ (exact, no tolerance: it catches
  violations far below rounding of m, e.g. in the e^{−30} tail of a slowly oscillating covariance; nan if none);
  max_increase: largest increase of m between grid points; m: ``[n]`` the values; t: ``[n]`` the grid.
  """
  valid: bool
  min_m: float
  first_increase: float
  first_negative: float
  max_increase: float
  m: np.ndarray
  t: np.ndarray


def validity(cov: Covariance, t_max: float | None = None, n_grid: int = 20001, tol: float = 1e-12) -> Validity:
  """Checks the paper's sufficient condition for the IIA to give a proper excursion law: m(t) non-increasing
  from m(0+) = 1 towards 0 (equivalently arcsin r convex on (0, ∞); with r → 0 it also needs r ≥ 0, so every
  covariance that oscillates below zero fails).

  Args:
    cov: a differentiable covariance.
    t_max: end of the grid (default 20 μ).
    n_grid: number of grid points (≥ 3).
    tol: rounding tolerance on increases and negativity (finite, >= 0).

  Host-side (numpy): not differentiable (TypeError on jax tracers).
  """
  host_only("validity", t_max=t_max, tol=tol)
  _check_cov(cov)
  if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (math.isfinite(tol) and tol >= 0):
    raise ValueError(f"tol: expected a finite number >= 0, got {tol!r}")
  if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 3:
    raise ValueError(f"n_grid: expected an int >= 3, got {n_grid!r}")
  t_max = 20 * mean_interval(cov) if t_max is None else t_max
  if isinstance(t_max, bool) or not isinstance(t_max, (int, float)) or not (t_max > 0 and math.isfinite(t_max)):
    raise ValueError(f"t_max: expected a positive finite number, got {t_max!r}")
  t = np.linspace(0.0, float(t_max), n_grid)
  m = np.asarray(slepian_mean(cov, t))
  with jax.enable_x64(True):
    mdr = np.asarray(cov.minus_dr(jnp.asarray(t[1:], jnp.float64)))   # m(t) has the sign of −r′(t)
  inc = np.diff(m)
  bad = np.nonzero(inc > tol)[0]
  neg = np.nonzero(mdr < 0)[0]
  first = float(t[bad[0]]) if bad.size else float("nan")
  first_neg = float(t[1:][neg[0]]) if neg.size else float("nan")
  valid = bool(bad.size == 0 and neg.size == 0 and m.min() >= -tol)
  return Validity(valid, float(m.min()), first, first_neg, float(max(inc.max(), 0.0)), m, t)


# ---------------------------------------------------------------------------------------------------
# Persistence exponent.


def _decay_rate(cov: Covariance, t_end: float) -> float:
  """κ: the given decay rate of m, else the log-slope of m over the last unit of the grid."""
  if cov.decay is not None:
    return float(cov.decay)
  with jax.enable_x64(True):
    a, b = np.asarray(_m(cov, jnp.asarray([t_end - 1.0, t_end], jnp.float64)))
  if not (a > 0 and b > 0):
    return math.inf
  return float(np.log(a / b))


def _grid_end(cov: Covariance, level: float = 1e-15) -> float:
  """Smallest t = μ·2^k with m(t) < level (m evaluated in float64)."""
  mu = mean_interval(cov)
  t = mu
  with jax.enable_x64(True):
    for _ in range(40):
      if abs(float(_m(cov, jnp.asarray(t, jnp.float64)))) < level:
        return t
      t *= 2
  raise ValueError(f"cov: m(t) of {cov.name} does not fall below {level} before t = {t:.3g}")


@functools.partial(jax.jit, static_argnums=(0, 1))
def _theta_root(cov: Covariance, n: int, t_end: Array, kappa: Array) -> Array:
  t = jnp.linspace(0.0, t_end, n)
  dt = t[1] - t[0]
  m = _m(cov, t)

  def g(theta):
    f = jnp.exp(theta * t) * m
    integral = dt * (jnp.sum(f) - 0.5 * (f[0] + f[-1]))                 # trapezoid on [0, t_end]
    tail = jnp.where(jnp.isfinite(kappa), f[-1] / jnp.maximum(kappa - theta, 1e-300), 0.0)   # exp tail beyond
    return theta * (integral + tail) - 1.0

  hi0 = jnp.where(jnp.isfinite(kappa), kappa, 10.0 * math.sqrt(cov.lambda2))   # no finite κ: m decays fast

  def body(_, lohi):
    lo, hi = lohi
    mid = 0.5 * (lo + hi)
    up = g(mid) > 0
    return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

  lo, hi = jax.lax.fori_loop(0, 64, body, (jnp.asarray(0.0, t.dtype), hi0))
  return 0.5 * (lo + hi)


def persistence_exponent(cov: Covariance, n_grid: int = 100001) -> float:
  """The IIA persistence exponent θ: the root of θ ∫₀^∞ e^{θt} m(t) dt = 1 in (0, κ), κ the decay rate of m.

  The integral is a trapezoid rule on [0, t_end] (m(t_end) < 1e-15) plus the exponential tail
  m(t_end) e^{θ t_end}/(κ − θ) when m decays at a finite rate κ; the root is found by bisection (64 halvings).
  Needs a valid IIA (``validity``): raises ValueError otherwise.
  """
  _check_cov(cov)
  if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 1001:
    raise ValueError(f"n_grid: expected an int >= 1001, got {n_grid!r}")
  v = validity(cov)
  if not v.valid:
    raise ValueError(f"cov: the IIA is not valid for {cov.name} (m is not non-increasing: min m = {v.min_m:.3g}, "
                     f"first increase at t = {v.first_increase:.3g})")
  t_end = _grid_end(cov)
  kappa = _decay_rate(cov, t_end)
  with jax.enable_x64(True):
    if math.isfinite(kappa):
      # the trapezoid must resolve e^{θt} m up to t_end; keep the e^{κ t_end} growth representable
      t_end = min(t_end, 600.0 / kappa)
    th = _theta_root(cov, n_grid, jnp.asarray(t_end, jnp.float64), jnp.asarray(kappa, jnp.float64))
    return float(th)


# ---------------------------------------------------------------------------------------------------
# The IIA excursion law.


class IIALaw(NamedTuple):
  """The IIA law of the interval T between zeros, on the grid t_k = k dt, k = 0..n−1.

  t: ``[n]``; survival: ``[n]`` P(T > t_k); persistence: ``[n]`` P₀(t_k) = (1/μ)∫_{t_k}^∞ P(T > s) ds (Palm);
  h_survival: ``[n]`` m(t_k) = P(H > t_k); mean: E[T] of the discretised law (≈ μ); mu: π/√λ₂; theta: θ_IIA;
  dt: grid step.
  """
  t: np.ndarray
  survival: np.ndarray
  persistence: np.ndarray
  h_survival: np.ndarray
  mean: float
  mu: float
  theta: float
  dt: float

  def survival_at(self, t) -> np.ndarray:
    """P(T > t) interpolated on the grid (exponential extrapolation at rate θ beyond it)."""
    return _interp_tail(np.asarray(t, np.float64), self.t, self.survival, self.theta)

  def persistence_at(self, t) -> np.ndarray:
    """P₀(t) = P(no zero in [0, t]) interpolated on the grid."""
    return _interp_tail(np.asarray(t, np.float64), self.t, self.persistence, self.theta)


def _interp_tail(t, grid, values, theta):
  inside = np.interp(t, grid, values)
  out = values[-1] * np.exp(-theta * np.maximum(t - grid[-1], 0.0))
  return np.where(t <= grid[-1], inside, out)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _law_fft(cov: Covariance, n: int, dt: Array):
  # H rounded to the nearest grid point: P(H_d = k dt) = m((k − ½)dt) − m((k + ½)dt), P(H_d = 0) = 1 − m(dt/2)
  k = jnp.arange(n + 1, dtype=dt.dtype)
  mh = _m(cov, (k + 0.5) * dt)                                # m at half points [n + 1]
  p = jnp.concatenate([1 - mh[:1], mh[:-1] - mh[1:]])[:n]     # [n]
  L = 2 * n
  ph = jnp.fft.rfft(p, n=L)
  q = jnp.fft.irfft(ph / (2 - ph), n=L)[:n]                   # Σ_k 2^{−k} p^{*k}: pmf of T on the grid
  surv = 1 - jnp.cumsum(q)
  surv = jnp.maximum(surv, 0.0)
  return p, q, surv, _m(cov, k[:n] * dt)


def iia_law(cov: Covariance, dt: float | None = None, t_max: float | None = None) -> IIALaw:
  """The IIA interval law T = H₁ + … + H_N (N ~ Geometric(1/2), P(H > t) = m(t)) on a grid.

  The law of H is discretised by rounding to the nearest grid point and compounded exactly in Fourier space
  (ψ̂ = p̂/(2 − p̂)), on a zero-padded grid of length 2n so the circular convolution does not wrap.

  Args:
    cov: a differentiable covariance whose m is non-increasing (raises ValueError otherwise).
    dt: grid step (default μ/2000).
    t_max: grid end (default 34/θ_IIA, where P(T > t_max) ≈ e^{−34} ≈ 1e-15).

  Host-side (numpy arrays out): not differentiable (TypeError on jax tracers).
  """
  host_only("iia_law", dt=dt, t_max=t_max)
  _check_cov(cov)
  for name, v in (("dt", dt), ("t_max", t_max)):   # checked before the (costly) exponent
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v))):
      raise ValueError(f"{name}: expected a positive finite number, got {v!r}")
  theta = persistence_exponent(cov)
  mu = mean_interval(cov)
  dt = mu / 2000 if dt is None else dt
  t_max = 34.0 / theta if t_max is None else t_max
  n = int(math.ceil(t_max / dt)) + 1
  if n > 2 ** 24:
    raise ValueError(f"t_max/dt: the grid would have {n} points (> 2^24); increase dt or decrease t_max")
  with jax.enable_x64(True):
    p, q, surv, m = _law_fft(cov, n, jnp.asarray(dt, jnp.float64))
    p, q, surv, m = (np.asarray(a) for a in (p, q, surv, m))
  t = np.arange(n) * dt
  # P(T_d > t_k) = P(T > t_k + dt/2) for the rounded law; shift back by half a step
  surv_t = np.interp(t, t + dt / 2, surv, left=1.0)
  tail = surv[-1] / theta
  # P(T > t_k + dt/2) = P(T_d > t_k) = surv[k]: trapezoid on the half-shifted grid, exponential tail beyond
  integ = dt * (np.cumsum(surv[::-1])[::-1] - surv / 2) + tail
  persistence = np.interp(t, t + dt / 2, integ / mu, left=1.0)
  mean = float(dt * np.sum(np.arange(n) * q))
  return IIALaw(t, surv_t, persistence, m, mean, mu, theta, float(dt))


# ---------------------------------------------------------------------------------------------------
# Sampling.


@functools.partial(jax.jit, static_argnums=(0, 2, 3))
def _sample(cov: Covariance, key: Array, n: int, n_grid: int, t_end: Array, kappa: Array) -> Array:
  t = jnp.linspace(0.0, t_end, n_grid)
  m = _m(cov, t)
  beyond_scale = 1.0 / kappa

  def draw_h(k):
    u = jax.random.uniform(k, (n,), t.dtype, minval=1e-300)
    # H = m^{-1}(U): m is non-increasing, so interpolate t against m reversed; exponential tail beyond the grid
    h = jnp.interp(u, m[::-1], t[::-1])
    return jnp.where(u < m[-1], t_end + jnp.log(m[-1] / u) * beyond_scale, h)

  def cond(state):
    k, _, active, _ = state
    return (k < 64) & jnp.any(active)                           # P(N > 64) = 2^{−64}

  def body(state):
    k, total, active, key = state
    key, k_h, k_b = jax.random.split(key, 3)
    total = total + jnp.where(active, draw_h(k_h), 0.0)
    active = active & jax.random.bernoulli(k_b, 0.5, (n,))      # N ~ Geometric(1/2): continue with prob 1/2
    return k + 1, total, active, key

  init = (0, jnp.zeros((n,), t.dtype), jnp.ones((n,), bool), key)
  return jax.lax.while_loop(cond, body, init)[1]


def sample_iia(key: Array, cov: Covariance, n: int, n_grid: int = 200001) -> Array:
  """Draws ``n`` IIA excursion lengths T = H₁ + … + H_N with N ~ Geometric(1/2), H = m^{−1}(U), U uniform.

  m^{−1} is tabulated on ``n_grid`` points of [0, t_end] (m(t_end) < 1e-15); returns ``[n]`` float64.
  """
  _check_cov(cov)
  if isinstance(n, bool) or not isinstance(n, int) or n < 1:
    raise ValueError(f"n: expected a positive int, got {n!r}")
  if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 3:
    raise ValueError(f"n_grid: expected an int >= 3, got {n_grid!r}")
  v = validity(cov)
  if not v.valid:
    raise ValueError(f"cov: the IIA is not valid for {cov.name}: m is not a survival function "
                     f"(min m = {v.min_m:.3g}, first increase at t = {v.first_increase:.3g})")
  t_end = _grid_end(cov)
  kappa = _decay_rate(cov, t_end)
  with jax.enable_x64(True):
    return _sample(cov, key, n, n_grid, jnp.asarray(t_end, jnp.float64),
                   jnp.asarray(kappa if math.isfinite(kappa) else 1e300, jnp.float64))


def switch_laplace(psi_hat: Array, mu: float, s: Array) -> Array:
  """Laplace transform of the clipped covariance of a stationary ±1 switching process with i.i.d. intervals of
  Laplace transform ``psi_hat`` (values at ``s: [...]``) and mean μ: Â(s) = 1/s − (2/(μ s²))(1 − ψ̂)/(1 + ψ̂).

  psi_hat and s: numeric arrays of one shape (real or complex); mu > 0 and s ≠ 0 are checked when concrete.
  Differentiable in all three.
  """
  arrs = {}
  for name, v in (("psi_hat", psi_hat), ("mu", mu), ("s", s)):
    if isinstance(v, (bool, str, bytes)):
      raise TypeError(f"switch_laplace: {name}: expected a number or array, got {v!r}")
    try:
      arrs[name] = jnp.asarray(v)
    except TypeError as e:
      raise TypeError(f"switch_laplace: {name}: expected a number or array, got {type(v).__name__}") from e
    if not jnp.issubdtype(arrs[name].dtype, jnp.number):
      raise TypeError(f"switch_laplace: {name}: expected numeric values, got dtype {arrs[name].dtype}")
  mu_arr, s = arrs["mu"], arrs["s"]
  if arrs["psi_hat"].shape != s.shape:
    raise ValueError(f"switch_laplace: psi_hat, s: expected psi_hat to hold the values at s (one shape), got "
                     f"{arrs['psi_hat'].shape} and {s.shape}")
  if mu_arr.ndim != 0 or jnp.issubdtype(mu_arr.dtype, jnp.complexfloating):
    raise ValueError(f"switch_laplace: mu: expected a real scalar mean interval, got shape {mu_arr.shape} dtype "
                     f"{mu_arr.dtype}")
  if not isinstance(mu, jax.core.Tracer) and not (math.isfinite(float(mu_arr)) and float(mu_arr) > 0):
    raise ValueError(f"switch_laplace: mu: expected a positive finite mean interval, got {float(mu_arr)!r}")
  if not isinstance(s, jax.core.Tracer) and np.any(np.asarray(s) == 0):
    raise ValueError("switch_laplace: s: expected nonzero Laplace arguments (Â has a pole at s = 0), got a 0")
  return 1 / s - 2 / (mu * s ** 2) * (1 - psi_hat) / (1 + psi_hat)
