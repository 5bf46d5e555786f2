"""Shared pieces for diffusion and flow models (papers 12 DEIS, 24 stochastic interpolants, 29 RADD).

* :class:`VPSchedule`: variance-preserving noise schedules x_t = √ᾱ(t) x_0 + √(1−ᾱ(t)) ε, linear
  (Song et al. 2021, "Score-Based Generative Modeling through Stochastic Differential Equations",
  arXiv:2011.13456, Eq. 33: log ᾱ(t) = −½ t² (β₁ − β₀) − t β₀) and cosine (Nichol & Dhariwal 2021,
  "Improved Denoising Diffusion Probabilistic Models", arXiv:2102.09672, Eq. 17), in continuous time
  or as a discrete chain of ``num_steps`` steps (log ᾱ piecewise linear between the integer steps, as
  DEIS's ``DiscreteVPSDE``). Gives ᾱ, α = √ᾱ, σ = √(1−ᾱ), the log-SNR λ = log(ᾱ/(1−ᾱ)),
  ρ = σ/α = exp(−λ/2) (DEIS, Zhang & Chen 2023, arXiv:2204.13902, Sec. 4), their t-derivatives and
  the inverse map ρ → t.
* :func:`time_grid`: decreasing time grids t_max = t_0 > ... > t_N = t_min: uniform in t^{1/κ}
  (κ = 1 uniform, κ = 2 "quadratic"), uniform in log ρ, and the EDM grid uniform in ρ^{1/κ}
  (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models",
  arXiv:2206.00364, Eq. 5, κ = 7).
* :func:`integrate` (Euler, Heun, RK4 over a given time grid, ``lax.scan``) and
  :func:`euler_maruyama` (SDE), for any direction of time.
* :func:`sinusoidal_embedding` and :class:`TimeMLP`, a small Flax MLP f(x, t) for scores, noise
  predictors or velocities on low-dimensional data.

Shapes: ``x: [B, D]`` (any leading batch dims for the steppers), ``t`` a scalar or ``[B]``.
Dtypes follow the inputs: call under a scoped ``jax.enable_x64(True)`` and pass float64 arrays for
float64 results.

Bad arguments (unknown names, non-positive counts, grids that are not strictly monotone, end points
outside 0 < t_min < t_max <= 1, a state that is not floating, a field whose output does not match the
state) raise ``ValueError``/``TypeError`` naming the function and the argument. Value checks of grids
run when the grid is concrete; under ``jit`` a traced grid is used as given. Everything here is
differentiable (schedules, grids in t_min/t_max, the steppers in the state, the field's parameters and
the grid) except the discrete chain's d log ᾱ/dt, which is piecewise constant in t and raises
``TypeError`` when differentiated in t (:func:`kernels.common.checks.no_grad`).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key, is_concrete, no_grad

Array = jax.Array

__all__ = ["VPSchedule", "GRIDS", "time_grid", "integrate", "euler_maruyama", "STEPPERS",
           "sinusoidal_embedding", "TimeMLP"]


# ---------------------------------------------------------------------------------------------------
# Argument checks. ``check_grid``, ``check_field_output`` and ``real_scalar`` are shared with the diffusion
# packages (models.deis, models.interpolants): public, but internal to them (not in ``__all__``).


def _check_float_array(x, name: str, fn: str, *, min_ndim: int = 0) -> Array:
  if not hasattr(x, "dtype") or not hasattr(x, "shape"):
    raise TypeError(f"{fn}: {name} expected a float array, got {type(x).__name__}")
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} expected a floating dtype, got {x.dtype}")
  if x.ndim < min_ndim:
    raise ValueError(f"{fn}: {name} expected at least {min_ndim} dims, got shape {tuple(x.shape)}")
  return jnp.asarray(x)


def check_grid(ts, fn: str) -> Array:
  """A 1-D float grid of >= 2 points, strictly monotone when concrete (integer grids become floats)."""
  if isinstance(ts, (list, tuple)) or isinstance(ts, np.ndarray) or not hasattr(ts, "dtype"):
    ts = jnp.asarray(ts)
  if ts.ndim != 1 or ts.shape[0] < 2:
    raise ValueError(f"{fn}: ts expected a 1-D grid of >= 2 points, got shape {tuple(ts.shape)}")
  if not jnp.issubdtype(ts.dtype, jnp.floating):
    if not jnp.issubdtype(ts.dtype, jnp.integer):
      raise TypeError(f"{fn}: ts expected a real grid, got dtype {ts.dtype}")
    ts = ts.astype(jnp.asarray(0.0).dtype)
  if is_concrete(ts):
    a = np.asarray(ts, np.float64)
    if not np.all(np.isfinite(a)):
      raise ValueError(f"{fn}: ts expected finite times, got {a.tolist()}")
    d = np.diff(a)
    if not (np.all(d > 0) or np.all(d < 0)):
      i = int(np.argmax(d == 0)) if np.any(d == 0) else int(np.argmax(np.sign(d) != np.sign(d[0])))
      raise ValueError(f"{fn}: ts expected a strictly monotone grid, got ts[{i}]={a[i]!r}, "
                       f"ts[{i + 1}]={a[i + 1]!r}")
  return jnp.asarray(ts)


def check_field_output(f, x, t, name: str, fn: str) -> None:
  """``f(x, t)`` must return the structure and shapes of ``x`` (checked abstractly, no evaluation)."""
  if not callable(f):
    raise TypeError(f"{fn}: {name} expected a callable (x, t) -> dx/dt, got {type(f).__name__}")
  out = jax.eval_shape(f, x, t)
  want = jax.tree.map(lambda a: tuple(a.shape), x)
  got = jax.tree.map(lambda a: tuple(a.shape), out)
  if jax.tree.structure(out) != jax.tree.structure(x) or want != got:
    raise ValueError(f"{fn}: {name} expected an output shaped like x {want}, got {got}")


def real_scalar(v, name: str, fn: str) -> float | None:
  """The float value of a real scalar (None when traced); ValueError/TypeError naming ``name`` otherwise."""
  if isinstance(v, bool) or not (isinstance(v, numbers.Real) or hasattr(v, "dtype")):
    raise TypeError(f"{fn}: {name} expected a real scalar, got {type(v).__name__}")
  if hasattr(v, "dtype"):
    if jnp.ndim(v) != 0 or not (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer)):
      raise ValueError(f"{fn}: {name} expected a real scalar, got shape {jnp.shape(v)} dtype {v.dtype}")
    if not is_concrete(v):
      return None
  return float(v)


# ---------------------------------------------------------------------------------------------------
# Noise schedules.


@dataclasses.dataclass(frozen=True)
class VPSchedule:
  """A variance-preserving schedule ᾱ(t), t ∈ [0, 1], ᾱ(0) = 1 (hashable: usable as a static arg).

  Attributes:
    kind: ``"linear"`` (log ᾱ = −½ t²(β₁−β₀) − t β₀) or ``"cosine"``
      (ᾱ = f(t)/f(0), f(t) = cos²(((t + s)/(1 + s))·π/2); ᾱ(1) = 0, so keep t_max < 1).
    beta_min, beta_max: β₀, β₁ of the linear schedule (score_sde defaults 0.1 and 20).
    cosine_s: the offset s of the cosine schedule (0.008).
    num_steps: 0 for continuous time; N > 0 for a discrete chain on t_n = n/N, n = 0..N, with
      log ᾱ linear between the t_n. Discrete linear: β_n = linspace(β₀/N, β₁/N, N) (DDPM),
      ᾱ_n = ∏_{m≤n} (1 − β_m). Discrete cosine: β_n = min(1 − f(t_n)/f(t_{n−1}), 0.999) (Nichol &
      Dhariwal's clipping), ᾱ_n = ∏ (1 − β_m).
  """
  kind: str = "linear"
  beta_min: float = 0.1
  beta_max: float = 20.0
  cosine_s: float = 0.008
  num_steps: int = 0

  def __post_init__(self):
    if self.kind not in ("linear", "cosine"):
      raise ValueError(f"VPSchedule.kind: expected 'linear' or 'cosine', got {self.kind!r}")
    for f in ("beta_min", "beta_max", "cosine_s"):
      v = getattr(self, f)
      if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"VPSchedule.{f}: expected a finite float, got {v!r}")
    if not (0.0 <= self.beta_min <= self.beta_max) or self.beta_max <= 0:
      raise ValueError(f"VPSchedule.beta_min/beta_max: expected 0 <= beta_min <= beta_max, beta_max > 0, "
                       f"got {self.beta_min!r}, {self.beta_max!r}")
    if not self.cosine_s > 0:
      raise ValueError(f"VPSchedule.cosine_s: expected a positive float, got {self.cosine_s!r}")
    if not isinstance(self.num_steps, int) or isinstance(self.num_steps, bool) or self.num_steps < 0:
      raise ValueError(f"VPSchedule.num_steps: expected an int >= 0 (0 = continuous), got {self.num_steps!r}")
    if self.kind == "linear" and self.num_steps and not self.beta_max / self.num_steps < 1.0:
      raise ValueError(f"VPSchedule.num_steps: the discrete linear chain needs beta_max / num_steps < 1 (a "
                       f"per-step β below 1), got beta_max={self.beta_max!r}, num_steps={self.num_steps!r}")

  # -- continuous forms ---------------------------------------------------------------------------

  def _cos_u(self, t):
    return (t + self.cosine_s) / (1.0 + self.cosine_s) * (math.pi / 2)

  def _cont_log_alpha_bar(self, t):
    if self.kind == "linear":
      return -0.5 * t * t * (self.beta_max - self.beta_min) - t * self.beta_min
    u0 = self.cosine_s / (1.0 + self.cosine_s) * (math.pi / 2)
    return 2.0 * jnp.log(jnp.cos(self._cos_u(t))) - 2.0 * math.log(math.cos(u0))

  def _cont_d_log_alpha_bar(self, t):
    if self.kind == "linear":
      return -(self.beta_min + t * (self.beta_max - self.beta_min))
    return -jnp.tan(self._cos_u(t)) * (math.pi / (1.0 + self.cosine_s))

  def _cont_t_from_log_alpha_bar(self, la):
    if self.kind == "linear":
      db = self.beta_max - self.beta_min
      if db == 0:
        return -la / self.beta_min
      # root of ½ db t² + β₀ t + la = 0, written to avoid cancellation when la is small
      return (-2.0 * la) / (self.beta_min + jnp.sqrt(self.beta_min ** 2 - 2.0 * db * la))
    u0 = self.cosine_s / (1.0 + self.cosine_s) * (math.pi / 2)
    u = jnp.arccos(jnp.exp(0.5 * la) * math.cos(u0))
    return u * (2.0 * (1.0 + self.cosine_s) / math.pi) - self.cosine_s

  # -- discrete chain -----------------------------------------------------------------------------

  def discrete_log_alpha_bars(self) -> Array:
    """``[N + 1]`` log ᾱ at t_n = n/N (index 0 is t = 0, value 0); only for ``num_steps > 0``."""
    n = self.num_steps
    if n == 0:
      raise ValueError("VPSchedule.discrete_log_alpha_bars: needs num_steps > 0")
    t = jnp.arange(n + 1) / n
    if self.kind == "linear":
      betas = jnp.linspace(self.beta_min / n, self.beta_max / n, n)
    else:
      f = jnp.cos(self._cos_u(t)) ** 2
      betas = jnp.minimum(1.0 - f[1:] / f[:-1], 0.999)
    return jnp.concatenate([jnp.zeros((1,), betas.dtype), jnp.cumsum(jnp.log1p(-betas))])

  # -- public -------------------------------------------------------------------------------------

  def log_alpha_bar(self, t) -> Array:
    """log ᾱ(t); ``t``: any shape."""
    t = jnp.asarray(t)
    t = t if jnp.issubdtype(t.dtype, jnp.floating) else t.astype(float)
    if self.num_steps == 0:
      return self._cont_log_alpha_bar(t)
    la = self.discrete_log_alpha_bars().astype(t.dtype)
    grid = jnp.arange(self.num_steps + 1, dtype=t.dtype) / self.num_steps
    return jnp.interp(t, grid, la)

  def d_log_alpha_bar(self, t) -> Array:
    """d log ᾱ/dt (= −β(t) for the linear schedule; piecewise constant for a discrete chain, whose
    derivative in t raises ``TypeError`` instead of returning a silent zero)."""
    t = jnp.asarray(t)
    t = t if jnp.issubdtype(t.dtype, jnp.floating) else t.astype(float)
    if self.num_steps == 0:
      return self._cont_d_log_alpha_bar(t)
    n = self.num_steps
    la = self.discrete_log_alpha_bars().astype(t.dtype)
    t = no_grad(t, "VPSchedule.d_log_alpha_bar (discrete chain, piecewise constant in t)")
    k = jnp.clip(jnp.floor(t * n).astype(jnp.int32), 0, n - 1)
    return (la[k + 1] - la[k]) * n

  def alpha_bar(self, t) -> Array:
    """ᾱ(t) (the code's "alpha" in DEIS: the squared mean coefficient)."""
    return jnp.exp(self.log_alpha_bar(t))

  def alpha(self, t) -> Array:
    """α(t) = √ᾱ(t), the mean coefficient."""
    return jnp.exp(0.5 * self.log_alpha_bar(t))

  def sigma(self, t) -> Array:
    """σ(t) = √(1 − ᾱ(t)), the noise coefficient (via expm1: accurate for small t)."""
    return jnp.sqrt(-jnp.expm1(self.log_alpha_bar(t)))

  def log_snr(self, t) -> Array:
    """λ(t) = log(ᾱ/(1 − ᾱ))."""
    la = self.log_alpha_bar(t)
    return la - jnp.log(-jnp.expm1(la))

  def d_log_snr(self, t) -> Array:
    """dλ/dt = (d log ᾱ/dt) / (1 − ᾱ)."""
    return self.d_log_alpha_bar(t) / (-jnp.expm1(self.log_alpha_bar(t)))

  def rho(self, t) -> Array:
    """ρ(t) = σ/α = √((1 − ᾱ)/ᾱ) (DEIS's time variable; the EDM noise level σ_EDM)."""
    la = self.log_alpha_bar(t)
    return jnp.sqrt(jnp.expm1(-la))

  def d_rho(self, t) -> Array:
    """dρ/dt = −(d log ᾱ/dt) / (2 ᾱ ρ)."""
    la = self.log_alpha_bar(t)
    return -self.d_log_alpha_bar(t) * jnp.exp(-la) / (2.0 * jnp.sqrt(jnp.expm1(-la)))

  def t_from_log_alpha_bar(self, la) -> Array:
    """Inverse of :meth:`log_alpha_bar` (closed form for continuous schedules, piecewise linear for
    discrete chains)."""
    la = jnp.asarray(la)
    if self.num_steps == 0:
      return self._cont_t_from_log_alpha_bar(la)
    grid_la = self.discrete_log_alpha_bars().astype(la.dtype)
    grid = jnp.arange(self.num_steps + 1, dtype=la.dtype) / self.num_steps
    return jnp.interp(-la, -grid_la, grid)

  def t_from_rho(self, rho) -> Array:
    """Inverse of :meth:`rho`: ᾱ = 1/(1 + ρ²), then the schedule's inverse."""
    rho = jnp.asarray(rho)
    return self.t_from_log_alpha_bar(-jnp.log1p(rho * rho))

  def t_from_log_snr(self, lam) -> Array:
    """Inverse of :meth:`log_snr`: log ᾱ = −softplus(−λ)."""
    return self.t_from_log_alpha_bar(-jax.nn.softplus(-jnp.asarray(lam)))

  def marginal(self, key: Array, x0: Array, t) -> tuple[Array, Array]:
    """Samples x_t = α(t) x_0 + σ(t) ε; ``x0: [B, ...]``, ``t: [B]`` or scalar -> ``(x_t, ε)``
    (reparameterised: differentiable in ``x0`` and ``t`` for a fixed key)."""
    x0 = _check_float_array(x0, "x0", "VPSchedule.marginal", min_ndim=1)
    check_key(key, "key", "VPSchedule.marginal")
    t = jnp.asarray(t)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x0.shape[0]):
      raise ValueError(f"VPSchedule.marginal: t expected a scalar or [B={x0.shape[0]}], got shape {t.shape}")
    eps = jax.random.normal(key, x0.shape, x0.dtype)
    t = jnp.asarray(t, x0.dtype)
    shape = t.shape + (1,) * (x0.ndim - t.ndim)
    return self.alpha(t).reshape(shape) * x0 + self.sigma(t).reshape(shape) * eps, eps


# ---------------------------------------------------------------------------------------------------
# Time grids.

GRIDS = ("uniform_t", "quadratic_t", "power_t", "log_rho", "edm")


def time_grid(schedule: VPSchedule, num_steps: int, kind: str = "quadratic_t", *, t_min: float = 1e-3,
              t_max: float = 1.0, kappa: float | None = None, dtype: Any = None) -> Array:
  """A decreasing grid ``[num_steps + 1]`` from t_max down to t_min (DEIS ``get_rev_ts``).

  Args:
    schedule: the noise schedule (needed for the ρ-based grids).
    num_steps: N, the number of intervals.
    kind: ``uniform_t`` (κ = 1), ``quadratic_t`` (κ = 2) or ``power_t``: uniform in t^{1/κ};
      ``log_rho``: uniform in log ρ; ``edm``: ρ_i = (ρ_max^{1/κ} + i/N (ρ_min^{1/κ} − ρ_max^{1/κ}))^κ
      (κ = 7 by default).
    t_min, t_max: end points, 0 < t_min < t_max <= 1 (floats, or scalar arrays: the grid is
      differentiable in them; their range is checked when they are concrete).
    kappa: the exponent for ``power_t`` (required) and ``edm`` (default 7), > 0.
    dtype: float dtype of the result (default: the default float dtype).
  """
  if not isinstance(schedule, VPSchedule):
    raise TypeError(f"time_grid: schedule expected a VPSchedule, got {type(schedule).__name__}")
  if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
    raise ValueError(f"time_grid: num_steps expected a positive int, got {num_steps!r}")
  if kind not in GRIDS:
    raise ValueError(f"time_grid: kind expected one of {GRIDS}, got {kind!r}")
  lo, hi = real_scalar(t_min, "t_min", "time_grid"), real_scalar(t_max, "t_max", "time_grid")
  if lo is not None and hi is not None and not (0.0 < lo < hi <= 1.0):
    raise ValueError(f"time_grid: expected 0 < t_min < t_max <= 1, got t_min={t_min!r}, t_max={t_max!r}")
  if kind == "power_t" and kappa is None:
    raise ValueError("time_grid: kind='power_t' needs kappa > 0, got None")
  if kappa is not None:
    k_val = real_scalar(kappa, "kappa", "time_grid")
    if k_val is not None and not (k_val > 0 and math.isfinite(k_val)):
      raise ValueError(f"time_grid: kappa expected a finite float > 0, got {kappa!r}")
  dtype = dtype or jnp.asarray(0.0).dtype
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"time_grid: dtype expected a float dtype, got {dtype!r}")
  u = jnp.linspace(0.0, 1.0, num_steps + 1, dtype=dtype)
  if kind in ("uniform_t", "quadratic_t", "power_t"):
    k = {"uniform_t": 1.0, "quadratic_t": 2.0}.get(kind, kappa)
    a, b = t_max ** (1.0 / k), t_min ** (1.0 / k)
    ts = (a + u * (b - a)) ** k
  else:
    r_max = schedule.rho(jnp.asarray(t_max, dtype))
    r_min = schedule.rho(jnp.asarray(t_min, dtype))
    if kind == "log_rho":
      rhos = jnp.exp(jnp.log(r_max) + u * (jnp.log(r_min) - jnp.log(r_max)))
    else:
      k = 7.0 if kappa is None else kappa
      rhos = (r_max ** (1.0 / k) + u * (r_min ** (1.0 / k) - r_max ** (1.0 / k))) ** k
    ts = schedule.t_from_rho(rhos)
  # pin the end points exactly (the ρ round trip moves them by rounding)
  return ts.at[0].set(t_max).at[-1].set(t_min)


# ---------------------------------------------------------------------------------------------------
# ODE / SDE steppers.

STEPPERS = ("euler", "heun", "rk4")


def _ode_step(method: str, f: Callable[[Array, Array], Array], x: Array, t0: Array, t1: Array) -> Array:
  h = t1 - t0
  if method == "euler":
    return x + h * f(x, t0)
  if method == "heun":
    k1 = f(x, t0)
    k2 = f(x + h * k1, t1)
    return x + 0.5 * h * (k1 + k2)
  k1 = f(x, t0)
  k2 = f(x + 0.5 * h * k1, t0 + 0.5 * h)
  k3 = f(x + 0.5 * h * k2, t0 + 0.5 * h)
  k4 = f(x + h * k3, t1)
  return x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _check_state(x, fn: str):
  leaves = jax.tree.leaves(x)
  if not leaves:
    raise ValueError(f"{fn}: x expected an array (or a tree of arrays), got an empty tree")
  for leaf in leaves:
    _check_float_array(leaf, "x", fn)


def _same_dtypes(new, old):
  """Keeps the carry's dtypes (a float64 grid must not promote a float32 state inside the scan)."""
  return jax.tree.map(lambda a, b: a.astype(b.dtype), new, old)


def integrate(f: Callable[[Array, Array], Array], x: Array, ts: Array, method: str = "rk4", *,
              return_path: bool = False) -> Array | tuple[Array, Array]:
  """Solves dx/dt = f(x, t) along the grid ``ts`` (increasing or decreasing) with ``lax.scan``.

  Args:
    f: the vector field, ``(x: [...], t: scalar) -> [...]`` (the shape of x).
    x: the floating state at ``ts[0]`` (an array, or a tree of arrays).
    ts: ``[N + 1]`` strictly monotone time grid (checked when concrete; a traced grid is stepped as
      given).
    method: ``euler`` (1 evaluation per step), ``heun`` (2) or ``rk4`` (4).
    return_path: also return the states at every grid point, ``[N + 1, ...]``.

  Returns:
    the state at ``ts[-1]`` (and the path), in x's dtype; differentiable in x, ts and whatever f
    closes over.
  """
  if method not in STEPPERS:
    raise ValueError(f"integrate: method expected one of {STEPPERS}, got {method!r}")
  _check_state(x, "integrate")
  ts = check_grid(ts, "integrate")
  check_field_output(f, x, ts[0], "f", "integrate")

  def body(x, tt):
    x = _same_dtypes(_ode_step(method, f, x, tt[0], tt[1]), x)
    return x, (x if return_path else None)

  out, path = jax.lax.scan(body, x, jnp.stack([ts[:-1], ts[1:]], axis=-1))
  if return_path:
    return out, jax.tree.map(lambda a, p: jnp.concatenate([a[None], p], axis=0), x, path)
  return out


def euler_maruyama(drift: Callable[[Array, Array], Array], diffusion: Callable[[Array], Array], x: Array,
                   ts: Array, key: Array, *, return_path: bool = False) -> Array | tuple[Array, Array]:
  """Euler–Maruyama for dx = b(x, t) dt + g(t) dW along ``ts`` (either direction; the noise scales
  with √|Δt|).

  Args:
    drift: ``(x, t) -> [...]`` (the shape of x).
    diffusion: ``t -> scalar`` (or broadcastable to x) g(t).
    x: the floating state at ``ts[0]``, an array.
    ts: ``[N + 1]`` strictly monotone time grid (checked when concrete).
    key: PRNG key, split once per step.
    return_path: also return ``[N + 1, ...]`` states.

  For a fixed key the result is a smooth function of x, ts and the parameters of drift and diffusion
  (the Gaussian increments are reparameterised), so it is differentiable.
  """
  x = _check_float_array(x, "x", "euler_maruyama")
  ts = check_grid(ts, "euler_maruyama")
  check_key(key, "key", "euler_maruyama")
  check_field_output(drift, x, ts[0], "drift", "euler_maruyama")
  if not callable(diffusion):
    raise TypeError(f"euler_maruyama: diffusion expected a callable t -> g(t), got {type(diffusion).__name__}")
  g_shape = jax.eval_shape(diffusion, ts[0]).shape
  try:
    ok = np.broadcast_shapes(g_shape, x.shape) == tuple(x.shape)
  except ValueError:
    ok = False
  if not ok:
    raise ValueError(f"euler_maruyama: diffusion expected an output broadcastable to x {tuple(x.shape)}, got "
                     f"{g_shape}")
  keys = jax.random.split(key, ts.shape[0] - 1)

  def body(x, inp):
    t0, t1, k = inp
    h = t1 - t0
    xi = jax.random.normal(k, x.shape, x.dtype)
    x = (x + h * drift(x, t0) + diffusion(t0) * jnp.sqrt(jnp.abs(h)) * xi).astype(x.dtype)
    return x, (x if return_path else None)

  out, path = jax.lax.scan(body, x, (ts[:-1], ts[1:], keys))
  if return_path:
    return out, jnp.concatenate([x[None], path], axis=0)
  return out


# ---------------------------------------------------------------------------------------------------
# Networks.


def sinusoidal_embedding(t: Array, dim: int, *, max_period: float = 10_000.0, scale: float = 1000.0) -> Array:
  """Transformer-style time features: ``t: [B]`` -> ``[B, dim]`` = [cos(s t ω_k), sin(s t ω_k)],
  ω_k = max_period^{−k/(dim/2)}, s = ``scale`` (t ∈ [0, 1] is stretched to the DDPM step range).

  Computed in float32, or float64 for float64 ``t`` (then differentiable in t to float64 accuracy)."""
  if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2 or dim % 2:
    raise ValueError(f"sinusoidal_embedding: dim expected an even int >= 2, got {dim!r}")
  for name, v in (("max_period", max_period), ("scale", scale)):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
      raise ValueError(f"sinusoidal_embedding: {name} expected a finite float > 0, got {v!r}")
  t = jnp.asarray(t)
  if not (jnp.issubdtype(t.dtype, jnp.floating) or jnp.issubdtype(t.dtype, jnp.integer)):
    raise TypeError(f"sinusoidal_embedding: t expected a real (float or int) array, got {t.dtype}")
  acc = jnp.promote_types(t.dtype, jnp.float32) if jnp.issubdtype(t.dtype, jnp.floating) else jnp.float32
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=acc) / half)
  arg = scale * t[..., None].astype(acc) * freqs
  return jnp.concatenate([jnp.cos(arg), jnp.sin(arg)], axis=-1)


class TimeMLP(nn.Module):
  """A small time-conditioned MLP f(x, t) -> [B, D] (noise predictor, score or velocity field).

  ``x: [B, D]``, ``t: [B]`` (or a scalar, broadcast). The time features (:func:`sinusoidal_embedding`
  then a 2-layer MLP) are added to every hidden layer; SiLU activations; the last layer is
  zero-initialised when ``zero_out`` (the untrained field is 0). RNG streams: ``params`` only.

  Attributes:
    hidden: width of the hidden layers.
    depth: number of hidden layers.
    emb_dim: size of the sinusoidal time features.
    out_dim: output size (None: the input size D).
    time_scale: multiplies t inside the embedding.
    zero_out: zero-initialise the output layer.
    dtype: compute dtype (None: from the inputs); ``param_dtype`` float32.
  """
  hidden: int = 128
  depth: int = 3
  emb_dim: int = 64
  out_dim: int | None = None
  time_scale: float = 1000.0
  zero_out: bool = False
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array, t: Array) -> Array:
    for f, lo in (("hidden", 1), ("depth", 0), ("emb_dim", 2)):
      v = getattr(self, f)
      if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise ValueError(f"TimeMLP: {f} expected an int >= {lo}, got {v!r}")
    if self.emb_dim % 2:
      raise ValueError(f"TimeMLP: emb_dim expected an even int, got {self.emb_dim!r}")
    if self.out_dim is not None and (not isinstance(self.out_dim, int) or self.out_dim < 1):
      raise ValueError(f"TimeMLP: out_dim expected None or a positive int, got {self.out_dim!r}")
    if not hasattr(x, "ndim") or x.ndim != 2:
      raise ValueError(f"TimeMLP: x expected [B, D], got shape {getattr(x, 'shape', type(x).__name__)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
      raise TypeError(f"TimeMLP: x expected a floating dtype, got {x.dtype}")
    t = jnp.asarray(t)
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, x.shape[0])):
      raise ValueError(f"TimeMLP: t expected a scalar or [B={x.shape[0]}], got shape {t.shape}")
    t = jnp.broadcast_to(t, x.shape[:1])
    dense = lambda n, **kw: nn.Dense(n, dtype=self.dtype, param_dtype=self.param_dtype, **kw)
    emb = sinusoidal_embedding(t, self.emb_dim, scale=self.time_scale).astype(x.dtype)
    emb = dense(self.hidden)(nn.silu(dense(self.hidden)(emb)))
    h = dense(self.hidden)(x)
    for _ in range(self.depth):
      h = nn.silu(h + emb)
      h = dense(self.hidden)(h)
    h = nn.silu(h)
    init = nn.initializers.zeros if self.zero_out else nn.initializers.lecun_normal()
    return dense(self.out_dim or x.shape[-1], kernel_init=init)(h)
