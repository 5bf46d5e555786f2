"""Models with a fold (saddle-node) bifurcation, driven by parameter ramps or held constant (nulls).

Paper: C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted territories",
Theoretical Ecology 6:255–264 (2013), arXiv:1305.6700 — the "charted" core: a fold where the dominant
eigenvalue goes to 0 and critical slowing down precedes the shift.

- May (1977) grazing model, an Itô SDE integrated by Euler–Maruyama (``theory.common.sde``):
      dx = [r x (1 − x/K) − c x² / (x² + h²)] dt + σ dW.
  Equilibria solve (r/K) x³ − r x² + (r h²/K + c) x − r h² = 0; along a branch c(x) = r (1 − x/K)(x + h²/x),
  and the folds are the critical points of c(x): 2x³ − K x² + K h² = 0 (r = 1, K = 10, h = 1: upper branch
  lost at c ≈ 2.6044, x ≈ 4.78; lower branch at c ≈ 1.787).
- Ricker map with Holling type-II harvesting (the ``ewstools`` example):
      x_{t+1} = x_t exp(r (1 − x_t/k) + ξ_t) − F x_t² / (x_t² + h²),  ξ_t ~ N(0, σ²), clipped at 0.
- Individual-based birth–death model (Boettiger & Hastings 2012, the saddle-node IBM): a population of n
  individuals with birth rate b(n) = e K n² / (n² + h²) and death rate d(n) = e n + a (harvest a, only while
  n > 0), simulated exactly by Gillespie's direct method under ``lax.while_loop``. Its mean-field ODE
  dn/dt = b(n) − d(n) has a fold where a(n) = b(n) − e n is maximal: 2 K h² n = (n² + h²)² (e = 0.5,
  K = 1000, h = 200: a_c ≈ 202.1 at n ≈ 360).

Inputs: the simulators check their per-step parameter arrays (``c``, ``F``, ``a``): concrete values with NaN
/ ±inf raise ``ValueError`` naming the argument and the index; under ``jit`` a ``checkify`` debug check and
the unchecked output is NaN everywhere (``ibm_simulate``, whose counts are integers: -1 everywhere, also
for a negative harvest). ``may_simulate`` / ``ricker_simulate`` are differentiable pathwise (given the key)
in the ramp and ``x0``; ``ibm_simulate`` returns integer counts, so differentiating it in ``a`` raises
``TypeError``. The equilibria and folds are host (numpy float64) computations: a traced argument raises
``TypeError`` (they are neither traceable nor differentiable).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import check_finite, is_concrete, no_grad
from theory.common import sde

Array = jax.Array
_PKG = "theory.early_warning"


class Fold(NamedTuple):
  """A fold point: bifurcation parameter value and the state where the branch ends."""
  parameter: float
  state: float


def _host_real(name: str, v, fn: str) -> float:
  """A concrete finite real number for a host (numpy float64) computation."""
  if isinstance(v, jax.core.Tracer):
    raise TypeError(f"{fn}: {name}: computed on the host in numpy float64, not traceable or differentiable "
                    f"(not differentiable under jax.grad, not usable under jit); got a traced value")
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) and \
      not (isinstance(v, (np.ndarray, jax.Array)) and np.ndim(v) == 0):
    raise TypeError(f"{fn}: {name}: expected a real number, got {type(v).__name__} {v!r}")
  if not math.isfinite(float(v)):
    raise ValueError(f"{fn}: {name}: expected a finite number, got {v!r}")
  return float(v)


def _pos(name: str, v, fn: str = _PKG) -> float:
  if isinstance(v, jax.core.Tracer):
    _host_real(name, v, fn)
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
    raise TypeError(f"{fn}: {name}: expected a positive real number, got {type(v).__name__} {v!r}")
  if not (math.isfinite(float(v)) and float(v) > 0):
    raise ValueError(f"{fn}: {name}: expected a finite number > 0, got {v!r}")
  return float(v)


def _ramp(name: str, v, fn: str, min_len: int = 1) -> Array:
  if isinstance(v, bool) or not jnp.issubdtype(jnp.result_type(v), jnp.number) or \
      jnp.issubdtype(jnp.result_type(v), jnp.complexfloating):
    raise TypeError(f"{fn}: {name}: expected a real per-step array, got {v!r}")
  arr = jnp.asarray(v, jnp.result_type(float))
  if arr.ndim != 1 or arr.shape[0] < min_len:
    raise ValueError(f"{fn}: {name}: expected a 1-D per-step array of length >= {min_len}, got shape {arr.shape}")
  check_finite(v if is_concrete(v) else arr, name, fn)
  return arr


def _nan_unless_finite(out: Array, ramp: Array) -> Array:
  """The unchecked-jit policy: NaN everywhere when the (traced) ramp holds a non-finite value."""
  if is_concrete(ramp):
    return out
  return jnp.where(jnp.all(jnp.isfinite(ramp)), out, jnp.asarray(jnp.nan, out.dtype))


def _need(p, keys: tuple[str, ...], fn: str) -> None:
  if not isinstance(p, dict):
    raise TypeError(f"{fn}: p: expected a dict of parameters with keys {keys}, got {type(p).__name__}")
  missing = [k for k in keys if k not in p]
  if missing:
    raise ValueError(f"{fn}: p: expected keys {keys}, missing {missing}")


# ---------------------------------------------------------------------------------------------------
# May's grazing model.


def may_drift(x: Array, p: dict) -> Array:
  """Drift r x (1 − x/K) − c x² / (x² + h²) for one step's parameters ``p`` (keys r, K, h, c, sigma)."""
  _need(p, ("r", "K", "h", "c"), f"{_PKG}.may_drift")
  return p["r"] * x * (1 - x / p["K"]) - p["c"] * x ** 2 / (x ** 2 + p["h"] ** 2)


def may_diffusion(x: Array, p: dict) -> Array:
  """Additive noise amplitude σ (key ``sigma`` of ``p``), broadcast to ``x``'s shape."""
  _need(p, ("sigma",), f"{_PKG}.may_diffusion")
  return jnp.broadcast_to(p["sigma"], jnp.shape(x))


def may_simulate(key: Array, c, *, r: float = 1.0, K: float = 10.0, h: float = 1.0, sigma: float = 0.15,
                 dt: float = 0.1, record_every: int = 10, x0=None, n_paths: int | None = None) -> Array:
  """May's grazing SDE with a per-step grazing rate ``c: [n_steps]`` (a ramp or a constant null).

  Euler–Maruyama with step ``dt``, recorded every ``record_every`` steps, state clipped at 0 (extinction is
  absorbing for the deterministic part). ``x0`` defaults to the upper equilibrium at ``c[0]``.

  Returns:
    ``[n_paths, n_steps // record_every + 1]`` (or ``[n_steps // record_every + 1]``); NaN everywhere for a
    traced ``c`` holding NaN / inf (concrete: ``ValueError`` naming ``c`` and the index).
  """
  fn = f"{_PKG}.may_simulate"
  c = _ramp("c", c, fn)
  r, K, h = _pos("r", r, fn), _pos("K", K, fn), _pos("h", h, fn)
  if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)) or \
      not (math.isfinite(float(sigma)) and float(sigma) >= 0):
    raise ValueError(f"{fn}: sigma: expected a finite number >= 0, got {sigma!r}")
  sigma = float(sigma)
  if x0 is None:
    if not is_concrete(c):
      raise ValueError(f"{fn}: x0: required when c is traced (the default, the upper equilibrium at c[0], is "
                       "computed on the host)")
    x0 = may_equilibria(float(c[0]), r=r, K=K, h=h)[-1]
  n = c.shape[0]
  params = dict(r=jnp.full(n, r), K=jnp.full(n, K), h=jnp.full(n, h), c=c, sigma=jnp.full(n, sigma))
  out = sde.euler_maruyama(key, may_drift, may_diffusion, x0, params, dt=dt, record_every=record_every,
                           n_paths=n_paths, lower=0.0)
  return _nan_unless_finite(out, c)


def may_equilibria(c: float, *, r: float = 1.0, K: float = 10.0, h: float = 1.0) -> np.ndarray:
  """Positive equilibria of May's model at grazing rate ``c`` (ascending; host numpy, float64)."""
  fn = f"{_PKG}.may_equilibria"
  c = _host_real("c", c, fn)
  r, K, h = _pos("r", r, fn), _pos("K", K, fn), _pos("h", h, fn)
  roots = np.roots([r / K, -r, r * h ** 2 / K + c, -r * h ** 2])
  real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
  return real[real > 0]


def may_folds(*, r: float = 1.0, K: float = 10.0, h: float = 1.0) -> tuple[Fold, Fold]:
  """The two folds of May's model ``(lower, upper)``: c where the lower branch (as c decreases) and the upper
  branch (as c increases) end. Critical points of c(x) = r (1 − x/K)(x + h²/x): 2x³ − K x² + K h² = 0."""
  fn = f"{_PKG}.may_folds"
  r, K, h = _pos("r", r, fn), _pos("K", K, fn), _pos("h", h, fn)
  roots = np.roots([2.0, -K, 0.0, K * h ** 2])
  xs = np.sort(roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real)
  if xs.size != 2:
    raise ValueError(f"{fn}: r, K, h: the model has no fold for r={r}, K={K}, h={h} (critical points {xs})")
  cx = lambda x: r * (1 - x / K) * (x + h ** 2 / x)
  return Fold(float(cx(xs[0])), float(xs[0])), Fold(float(cx(xs[1])), float(xs[1]))


# ---------------------------------------------------------------------------------------------------
# Ricker map with harvesting.


@jax.jit
def _ricker_core(key: Array, F: Array, x0: Array, r: Array, k: Array, h: Array, sigma: Array) -> Array:
  eps = sigma * jax.random.normal(key, (F.shape[0],) + x0.shape, x0.dtype)

  def step(x, inp):
    f, e = inp
    x = jnp.maximum(x * jnp.exp(r * (1 - x / k) + e) - f * x ** 2 / (x ** 2 + h ** 2), 0.0)
    return x, x

  _, xs = jax.lax.scan(step, x0, (F, eps))
  return jnp.concatenate([x0[None], xs], 0)


def ricker_simulate(key: Array, F, *, r: float = 0.75, k: float = 10.0, h: float = 0.75, sigma: float = 0.02,
                    x0: float | None = None, n_paths: int | None = None) -> Array:
  """Ricker map with harvest rate ``F: [n_steps]`` per step; ``[n_paths, n_steps + 1]`` (or ``[n_steps + 1]``).
  ``x0`` defaults to the upper equilibrium at ``F[0]`` (required when ``F`` is traced). Differentiable
  pathwise in ``F`` and ``x0``; NaN everywhere for a traced ``F`` holding NaN / inf (concrete: ``ValueError``
  naming ``F`` and the index)."""
  fn = f"{_PKG}.ricker_simulate"
  F = _ramp("F", F, fn)
  r, k, h = _pos("r", r, fn), _pos("k", k, fn), _pos("h", h, fn)
  if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating, np.integer)) or \
      not (math.isfinite(float(sigma)) and float(sigma) >= 0):
    raise ValueError(f"{fn}: sigma: expected a finite number >= 0, got {sigma!r}")
  if n_paths is not None and (isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer))
                              or n_paths < 1):
    raise ValueError(f"{fn}: n_paths: expected None or an int >= 1, got {n_paths!r}")
  if x0 is None:
    if not is_concrete(F):
      raise ValueError(f"{fn}: x0: required when F is traced (the default equilibrium is computed on the host)")
    x0 = ricker_equilibria(float(F[0]), r=r, k=k, h=h)[-1]
  if jnp.ndim(x0) != 0:
    raise ValueError(f"{fn}: x0: expected a scalar start value, got shape {jnp.shape(x0)}")
  check_finite(x0, "x0", fn)
  n = 1 if n_paths is None else int(n_paths)
  dt = jnp.result_type(float)
  x0a = jnp.full((n,), x0, dt)
  out = _ricker_core(key, F, x0a, *(jnp.asarray(v, dt) for v in (r, k, h, float(sigma)))).T
  out = _nan_unless_finite(out, F)
  return out[0] if n_paths is None else out


def _ricker_harvest(x: np.ndarray, r: float, k: float, h: float) -> np.ndarray:
  """F at which x > 0 is a fixed point: F(x) = (e^{r(1−x/k)} − 1)(x² + h²)/x."""
  return np.expm1(r * (1 - x / k)) * (x ** 2 + h ** 2) / x


def ricker_equilibria(F: float, *, r: float = 0.75, k: float = 10.0, h: float = 0.75) -> np.ndarray:
  """Positive fixed points of the deterministic Ricker–harvest map at ``F`` (ascending; host float64, by a
  fine grid plus bisection on F(x) − F)."""
  fn = f"{_PKG}.ricker_equilibria"
  F = _host_real("F", F, fn)
  r, k, h = _pos("r", r, fn), _pos("k", k, fn), _pos("h", h, fn)
  xs = np.linspace(1e-6, k, 20001)
  g = _ricker_harvest(xs, r, k, h) - F
  out = []
  for i in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
    lo, hi = xs[i], xs[i + 1]
    for _ in range(60):
      mid = 0.5 * (lo + hi)
      if np.sign(_ricker_harvest(mid, r, k, h) - F) == np.sign(g[i]):
        lo = mid
      else:
        hi = mid
    out.append(0.5 * (lo + hi))
  return np.array(out)


def ricker_fold(*, r: float = 0.75, k: float = 10.0, h: float = 0.75) -> Fold:
  """The fold of the upper branch: the interior local maximum of F(x) on (0, k) (F → ∞ as x → 0, so the
  global maximum is not it), located on a fine grid and refined by golden-section search."""
  fn = f"{_PKG}.ricker_fold"
  r, k, h = _pos("r", r, fn), _pos("k", k, fn), _pos("h", h, fn)
  xs = np.linspace(k * 1e-4, k, 40001)
  d = np.diff(_ricker_harvest(xs, r, k, h))
  peaks = np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0]
  if peaks.size == 0:
    raise ValueError(f"{fn}: r, k, h: the Ricker-harvest map has no fold for r={r}, k={k}, h={h}")
  i = int(peaks[-1]) + 1
  lo, hi = xs[i - 1], xs[i + 1]
  g = (math.sqrt(5) - 1) / 2
  for _ in range(100):
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    if _ricker_harvest(a, r, k, h) > _ricker_harvest(b, r, k, h):
      hi = b
    else:
      lo = a
  x = 0.5 * (lo + hi)
  return Fold(float(_ricker_harvest(x, r, k, h)), float(x))


# ---------------------------------------------------------------------------------------------------
# Individual-based birth–death model, exact Gillespie.


@functools.partial(jax.jit, static_argnames=("max_events",))
def _ibm_core(key: Array, a: Array, n0: Array, dt_record: Array, e: Array, K: Array, h: Array,
              max_events: int) -> tuple[Array, Array]:
  dtype = e.dtype

  def interval(carry, inp):
    n, events = carry
    a_k, k_int = inp

    def cond(s):
      n, t, i, _ = s
      return (t < dt_record) & (i < max_events)

    def body(s):
      n, t, i, k = s
      k, k1, k2 = jax.random.split(k, 3)
      nf = n.astype(dtype)
      birth = e * K * nf ** 2 / (nf ** 2 + h ** 2)
      death = jnp.where(n > 0, e * nf + a_k, 0.0)
      total = birth + death
      wait = jnp.where(total > 0, jax.random.exponential(k1, (), dtype) / jnp.where(total > 0, total, 1.0),
                       jnp.inf)
      t_new = t + wait
      is_birth = jax.random.uniform(k2, (), dtype) * total < birth
      # an event past the recording time is discarded: by memorylessness the process restarts there
      n_new = jnp.where(t_new < dt_record, n + jnp.where(is_birth, 1, -1), n)
      return n_new, t_new, i + 1, k

    n, _, i, _ = jax.lax.while_loop(cond, body, (n, jnp.zeros((), dtype), jnp.zeros((), jnp.int32), k_int))
    return (n, events + i), n

  keys = jax.random.split(key, a.shape[0])
  (_, events), ns = jax.lax.scan(interval, (n0, jnp.zeros((), jnp.int32)), (a, keys))
  return jnp.concatenate([n0[None], ns]), events


def ibm_simulate(key: Array, a, *, e: float = 0.5, K: float = 1000.0, h: float = 200.0, n0: int = 730,
                 dt_record: float = 1.0, n_paths: int | None = None, max_events: int = 1_000_000) -> Array:
  """Exact stochastic simulation (Gillespie's direct method) of the birth–death IBM.

  The harvest ``a: [n_intervals]`` is piecewise constant, a_k on [k·dt_record, (k+1)·dt_record), so the
  simulation is exact for that piecewise-constant schedule (a linear ramp is approximated by its steps).

  Args:
    key: PRNG key.
    a: harvest per recording interval (≥ 0).
    e, K, h: birth–death parameters (rates b(n) = e K n²/(n² + h²), d(n) = e n + a).
    n0: initial population.
    dt_record: recording interval.
    n_paths: independent paths (vmapped); None returns one path.
    max_events: safety cap on events per interval (the loop stops there; raise it for large K).

  Returns:
    int32 counts ``[n_paths, n_intervals + 1]`` (or ``[n_intervals + 1]``) at times k · dt_record; -1
    everywhere for a traced ``a`` that is non-finite or negative (concrete: ``ValueError`` with the index).
    Integer-valued: differentiating with respect to ``a`` raises ``TypeError``.
  """
  fn = f"{_PKG}.ibm_simulate"
  a = _ramp("a", a, fn)
  if is_concrete(a):
    neg = np.asarray(a) < 0
    if neg.any():
      i = int(np.argmax(neg))
      raise ValueError(f"{fn}: a: expected harvest rates >= 0, got {float(a[i])} at index ({i},)")
  else:
    checkify.debug_check(jnp.all(a >= 0), f"{fn}: a: expected harvest rates >= 0")
  a = no_grad(a, f"{fn} (integer counts) in a")
  e, K, h, dt_record = _pos("e", e, fn), _pos("K", K, fn), _pos("h", h, fn), _pos("dt_record", dt_record, fn)
  if isinstance(n0, bool) or not isinstance(n0, (int, np.integer)) or n0 < 0:
    raise ValueError(f"{fn}: n0: expected an int >= 0, got {n0!r}")
  if n_paths is not None and (isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer))
                              or n_paths < 1):
    raise ValueError(f"{fn}: n_paths: expected None or an int >= 1, got {n_paths!r}")
  if isinstance(max_events, bool) or not isinstance(max_events, (int, np.integer)) or max_events < 1:
    raise ValueError(f"{fn}: max_events: expected an int >= 1, got {max_events!r}")
  n = 1 if n_paths is None else int(n_paths)
  dt = jnp.result_type(float)
  keys = jax.random.split(key, n)
  run = jax.vmap(lambda k: _ibm_core(k, a, jnp.asarray(n0, jnp.int32), jnp.asarray(dt_record, dt),
                                     jnp.asarray(e, dt), jnp.asarray(K, dt), jnp.asarray(h, dt),
                                     max_events=int(max_events))[0])
  out = run(keys)
  if not is_concrete(a):
    out = jnp.where(jnp.all(jnp.isfinite(a) & (a >= 0)), out, -1)
  return out[0] if n_paths is None else out


def ibm_fold(*, e: float = 0.5, K: float = 1000.0, h: float = 200.0) -> Fold:
  """Fold of the IBM's mean-field ODE dn/dt = e K n²/(n² + h²) − e n − a: the largest harvest a_c with an
  equilibrium, at the n solving 2 K h² n = (n² + h²)² (the larger positive root)."""
  fn = f"{_PKG}.ibm_fold"
  e, K, h = _pos("e", e, fn), _pos("K", K, fn), _pos("h", h, fn)
  roots = np.roots([1.0, 0.0, 2 * h ** 2, -2 * K * h ** 2, h ** 4])
  xs = np.sort(roots[(np.abs(roots.imag) < 1e-6 * h) & (roots.real > 0)].real)
  if xs.size == 0:
    raise ValueError(f"{fn}: e, K, h: no fold for K={K}, h={h}")
  n = xs[-1]
  return Fold(float(e * K * n ** 2 / (n ** 2 + h ** 2) - e * n), float(n))


def ibm_equilibria(a: float, *, e: float = 0.5, K: float = 1000.0, h: float = 200.0) -> np.ndarray:
  """Positive equilibria of the IBM's mean-field ODE at harvest ``a`` (ascending): roots of
  e K n² − (e n + a)(n² + h²) = 0."""
  fn = f"{_PKG}.ibm_equilibria"
  a = _host_real("a", a, fn)
  e, K, h = _pos("e", e, fn), _pos("K", K, fn), _pos("h", h, fn)
  roots = np.roots([-e, e * K - a, -e * h ** 2, -a * h ** 2])
  real = np.sort(roots[np.abs(roots.imag) < 1e-6].real)
  return real[real > 0]
