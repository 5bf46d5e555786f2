"""Model-based early warning: OU null vs linearised saddle-node (LSN) by maximum likelihood.

Paper: C. Boettiger, N. Ross, A. Hastings, "Early warning signals: the charted and uncharted territories",
Theoretical Ecology 6:255–264 (2013), arXiv:1305.6700 — the recommended likelihood approach of
C. Boettiger and A. Hastings, "Quantifying limits to detection of early warning for critical transitions",
J. R. Soc. Interface 9:2527 (2012).

Models (time t measured from the first observation):

- OU null:  dX = R₀(θ − X) dt + σ dB.  Exact transition over Δt: Gaussian with mean θ + (x − θ)e^{−R₀Δt}
  and variance σ²(1 − e^{−2R₀Δt}) / (2R₀)  (:func:`ou_loglik`).
- LSN:  dX = 2√R(t)(√R(t) + θ − X) dt + σ√(√R(t) + θ) dB,  R(t) = R₀ + m t  (m < 0: approaching the fold at
  t = −R₀/m). The transition is Gaussian with moments from the linear ODEs

      dμ/dt = 2√R (√R + θ − μ),      dV/dt = −4√R V + σ² (√R + θ),

  i.e. the generic rule dV/dt = −2aV + s² for dX = a(b − X)dt + s dB. (The reference R code of the 2012
  paper used −2√R V, which does not reduce to OU.) We integrate them by splitting each observation interval
  into ``substeps`` pieces with R frozen at the piece's midpoint and propagating the OU moments exactly on
  each piece. At m = 0 every piece is the same OU and the composition is exactly the OU transition (the
  semigroup property), so LSN(m = 0) reproduces OU's likelihood to rounding (:func:`lsn_loglik`); for m ≠ 0
  the error is O(substep²).

Both are fitted by Nelder–Mead (:func:`nelder_mead`, a fixed number of iterations under ``lax.fori_loop``, so
fits ``vmap`` over replicates). The LSN search starts at the OU optimum mapped to LSN coordinates with m = 0
(R₀ = (R_OU/2)², θ = θ_OU − √R₀, σ = σ_OU / √(θ_OU)), which has exactly the OU log-likelihood, so the
statistic LR = 2(ℓ_LSN − ℓ_OU) is never negative. The parametric bootstrap (:func:`bootstrap_lr`) simulates
from both fitted models, refits both to every replicate and gives the null and test LR distributions whose
ROC curve measures how well the data can tell the two apart.

Inputs: shapes, lengths and options are checked at the boundary (``ValueError`` / ``TypeError`` naming the
argument). Non-finite data follow the package's NaN policy (see :mod:`theory.early_warning.indicators`):
concrete ``x`` / ``times`` with NaN or ±inf raise ``ValueError`` with the index; under ``jit`` a ``checkify``
debug check, and the unchecked log-likelihoods, fits and bootstrap statistics are NaN. The likelihoods,
the LSN moments, the closed-form OU fit and the LSN simulator are differentiable; the Nelder–Mead fits
(:func:`fit_models`, :func:`bootstrap_lr`) are not (an optimiser's output after a fixed number of
comparison-driven steps: differentiating raises ``TypeError``; differentiate the likelihoods instead).
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from kernels.common.checks import check_finite, is_concrete, no_grad

Array = jax.Array
_PKG = "theory.early_warning"
_BAD = 1e30   # objective value of infeasible parameters (finite, so simplex arithmetic stays finite)


class OUParams(NamedTuple):
  """OU parameters, each ``[...]``: rate R₀ > 0, mean θ, noise σ > 0."""
  R0: Array
  theta: Array
  sigma: Array


class LSNParams(NamedTuple):
  """LSN parameters, each ``[...]``: R₀ > 0, slope m, θ, σ > 0."""
  R0: Array
  m: Array
  theta: Array
  sigma: Array


class Fit(NamedTuple):
  """Maximum-likelihood fits of both models to one series and the likelihood-ratio statistic."""
  ou: OUParams
  ou_loglik: Array
  lsn: LSNParams
  lsn_loglik: Array
  lr: Array


class Bootstrap(NamedTuple):
  """Parametric bootstrap: ``observed`` LR, ``null_lr: [n_boot]`` (data from the fitted OU),
  ``test_lr: [n_boot]`` (data from the fitted LSN), and the fit to the observed series."""
  observed: Array
  null_lr: Array
  test_lr: Array
  fit: Fit


# ---------------------------------------------------------------------------------------------------
# Likelihoods.


def _gauss_logpdf(x: Array, mean: Array, var: Array) -> Array:
  return -0.5 * (jnp.log(2 * jnp.pi * var) + (x - mean) ** 2 / var)


def _ou_moments(x: Array, dt: Array, rate: Array, level: Array, noise: Array) -> tuple[Array, Array]:
  """Mean and variance after time ``dt`` of dX = rate (level − X) dt + noise dB started at ``x``."""
  a = jnp.exp(-rate * dt)
  return level + (x - level) * a, noise ** 2 * (-jnp.expm1(-2 * rate * dt)) / (2 * rate)


def _check_params(fn: str, params, cls, scalar: bool = True) -> tuple:
  fields = cls._fields
  if not isinstance(params, tuple) or len(params) != len(fields):
    raise TypeError(f"{fn}: params: expected {cls.__name__}({', '.join(fields)}), got {type(params).__name__} "
                    f"{params!r}")
  out = []
  for name, v in zip(fields, params):
    dt = jnp.result_type(v)
    if isinstance(v, bool) or not jnp.issubdtype(dt, jnp.number) or jnp.issubdtype(dt, jnp.complexfloating):
      raise TypeError(f"{fn}: params.{name}: expected a real number, got {v!r}")
    if scalar and jnp.ndim(v) != 0:
      raise ValueError(f"{fn}: params.{name}: expected a scalar (vmap for several), got shape {jnp.shape(v)}")
    out.append(v)
  return cls(*out)


def _check_real(fn: str, name: str, v) -> None:
  dt = jnp.result_type(v)
  if isinstance(v, bool) or dt == jnp.bool_ or not jnp.issubdtype(dt, jnp.number) or \
      jnp.issubdtype(dt, jnp.complexfloating):
    raise TypeError(f"{fn}: {name}: expected real values, got dtype {dt}")


def _check_x(fn: str, x, min_len: int) -> Array:
  """``x: [N]`` real, N >= ``min_len``, finite (concrete: ValueError with the index; traced: a debug check)."""
  _check_real(fn, "x", x)
  if jnp.ndim(x) != 1 or jnp.shape(x)[0] < min_len:
    raise ValueError(f"{fn}: x: expected a 1-D series [N] with N >= {min_len} (vmap for several), got shape "
                     f"{jnp.shape(x)}")
  check_finite(x, "x", fn)
  return jnp.asarray(x, jnp.promote_types(jnp.result_type(x), jnp.result_type(float)))


def _check_series_times(fn: str, x, times, min_len: int = 2) -> tuple[Array, Array]:
  """``x: [N]`` real (N >= min_len) and ``times: [N]``, both finite (concrete: ValueError with the index;
  traced: a debug check; the callers return NaN for non-finite data)."""
  _check_real(fn, "times", times)
  _check_x(fn, x, min_len)
  if jnp.shape(times) != jnp.shape(x):
    raise ValueError(f"{fn}: times: expected shape {jnp.shape(x)} (one time per observation, from x), got "
                     f"{jnp.shape(times)}")
  check_finite(times, "times", fn)
  dt = jnp.promote_types(jnp.result_type(x, times), jnp.result_type(float))
  return jnp.asarray(x, dt), jnp.asarray(times, dt)


def _nan_if_bad(value, *data):
  """NaN where any traced ``data`` array holds a non-finite value (concrete data were checked)."""
  if all(is_concrete(d) for d in data):
    return value
  bad = jnp.zeros((), bool)
  for d in data:
    bad = bad | jnp.any(~jnp.isfinite(d))
  return jax.tree.map(lambda v: jnp.where(bad, jnp.asarray(jnp.nan, v.dtype), v)
                      if jnp.issubdtype(v.dtype, jnp.inexact) else v, value)


def ou_loglik(params: OUParams, x: Array, times: Array) -> Array:
  """Conditional log-likelihood Σ_i log p(x_{i+1} | x_i) of the OU model; ``x, times: [N]`` → scalar.

  −inf for infeasible parameters (R₀ ≤ 0 or σ ≤ 0); NaN for non-finite data under ``jit`` (concrete data
  with NaN / inf raise ``ValueError`` naming ``x`` or ``times`` and the index). Differentiable in the
  parameters and the data."""
  fn = f"{_PKG}.ou_loglik"
  params = _check_params(fn, params, OUParams)
  x, times = _check_series_times(fn, x, times)
  return _nan_if_bad(_ou_loglik(params, x, times), x, times)


def _ou_loglik(params: OUParams, x: Array, times: Array) -> Array:
  dt = jnp.diff(times)
  mean, var = _ou_moments(x[:-1], dt, params.R0, params.theta, params.sigma)
  ll = jnp.sum(_gauss_logpdf(x[1:], mean, var))
  ok = (params.R0 > 0) & (params.sigma > 0)
  return jnp.where(ok, ll, -jnp.inf)


def _check_substeps(fn: str, substeps) -> int:
  if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
    raise ValueError(f"{fn}: substeps: expected an int >= 1, got {substeps!r}")
  return int(substeps)


def lsn_transition(params: LSNParams, x: Array, t0: Array, t1: Array, substeps: int) -> tuple[Array, Array]:
  """Mean and variance of X(t1) given X(t0) = x under the LSN model (midpoint-frozen R on ``substeps``
  pieces, OU moments exact on each): ``x, t0, t1: [...]`` (broadcast) → ``([...], [...])``. Elementwise, so
  a non-finite input gives NaN only where it enters; differentiable."""
  fn = f"{_PKG}.lsn_transition"
  params = _check_params(fn, params, LSNParams, scalar=False)
  substeps = _check_substeps(fn, substeps)
  for name, v in (("x", x), ("t0", t0), ("t1", t1)):
    _check_real(fn, name, v)
  try:
    jnp.broadcast_shapes(jnp.shape(x), jnp.shape(t0), jnp.shape(t1), *(jnp.shape(v) for v in params))
  except ValueError:
    raise ValueError(f"{fn}: x, t0, t1: expected shapes that broadcast (with the params'), got {jnp.shape(x)}, "
                     f"{jnp.shape(t0)}, {jnp.shape(t1)}") from None
  dt = jnp.promote_types(jnp.result_type(x, t0, t1), jnp.result_type(float))
  return _lsn_transition(params, jnp.asarray(x, dt), jnp.asarray(t0, dt), jnp.asarray(t1, dt), substeps)


def _lsn_transition(params: LSNParams, x: Array, t0: Array, t1: Array, substeps: int) -> tuple[Array, Array]:
  h = (t1 - t0) / substeps
  mu, var = x, jnp.zeros_like(x)
  for j in range(substeps):   # unrolled: substeps is small and static
    tm = t0 + (j + 0.5) * h
    sr = jnp.sqrt(jnp.maximum(params.R0 + params.m * tm, 0.0))
    level = sr + params.theta
    a = jnp.exp(-2 * sr * h)
    # OU moments on the piece: rate 2√R, level √R + θ, noise² σ²(√R + θ)
    mu = level + (mu - level) * a
    var = a ** 2 * var + params.sigma ** 2 * level * (-jnp.expm1(-4 * sr * h)) / (4 * sr)
  return mu, var


def lsn_feasible(params: LSNParams, times: Array) -> Array:
  """R(t) > 0 and √R(t) + θ > 0 on the whole observation range (both are monotone in t, so the end points
  suffice), and σ > 0; ``times: [N]`` → a bool scalar (False for NaN parameters)."""
  fn = f"{_PKG}.lsn_feasible"
  params = _check_params(fn, params, LSNParams, scalar=False)
  if jnp.ndim(times) != 1 or jnp.shape(times)[0] < 1:
    raise ValueError(f"{fn}: times: expected a 1-D array [N] with N >= 1, got shape {jnp.shape(times)}")
  return _lsn_feasible(params, jnp.asarray(times, jnp.promote_types(jnp.result_type(times), jnp.float32)))


def _lsn_feasible(params: LSNParams, times: Array) -> Array:
  t = times - times[0]
  r_end = params.R0 + params.m * t[-1]
  ok = (params.R0 > 0) & (r_end > 0) & (params.sigma > 0)
  level_min = jnp.minimum(jnp.sqrt(jnp.maximum(params.R0, 0.0)), jnp.sqrt(jnp.maximum(r_end, 0.0))) + params.theta
  return ok & (level_min > 0)


def lsn_loglik(params: LSNParams, x: Array, times: Array, substeps: int = 4) -> Array:
  """Conditional log-likelihood of the LSN model; ``x, times: [N]`` → scalar (−inf where infeasible; NaN
  data: as :func:`ou_loglik`). Differentiable in the parameters and the data."""
  fn = f"{_PKG}.lsn_loglik"
  params = _check_params(fn, params, LSNParams)
  substeps = _check_substeps(fn, substeps)
  x, times = _check_series_times(fn, x, times)
  return _nan_if_bad(_lsn_loglik(params, x, times, substeps), x, times)


def _lsn_loglik(params: LSNParams, x: Array, times: Array, substeps: int = 4) -> Array:
  t = times - times[0]
  mean, var = _lsn_transition(params, x[:-1], t[:-1], t[1:], substeps)
  ll = jnp.sum(_gauss_logpdf(x[1:], mean, var))
  return jnp.where(_lsn_feasible(params, times), ll, -jnp.inf)


# ---------------------------------------------------------------------------------------------------
# Nelder–Mead.


def nelder_mead(f: Callable[[Array], Array], x0: Array, step: Array, n_iter: int = 400) -> tuple[Array, Array]:
  """Minimises ``f: [d] -> scalar`` from the simplex x0, x0 + step_i e_i by Nelder–Mead (reflection 1,
  expansion 2, contraction ½, shrink ½) for exactly ``n_iter`` iterations; jit/vmap friendly. Each iteration
  evaluates all candidate points (reflection, expansion, both contractions, the shrunk simplex) in one
  vmapped call, so ``f`` is traced once. Non-finite values count as a very large objective.
  Returns ``(x_best [d], f_best)``. Differentiable in ``x0``, ``step`` and what ``f`` closes over: the
  derivative of the computed iterate (the branch taken at each step is locally constant), not of the
  exact minimiser."""
  fn = f"{_PKG}.nelder_mead"
  if not callable(f):
    raise TypeError(f"{fn}: f: expected a callable [d] -> scalar, got {type(f).__name__}")
  x0 = jnp.asarray(x0)
  if x0.ndim != 1 or x0.shape[0] < 1 or not jnp.issubdtype(x0.dtype, jnp.floating):
    raise ValueError(f"{fn}: x0: expected a 1-D float array [d] with d >= 1, got shape {x0.shape} dtype "
                     f"{x0.dtype}")
  step = jnp.asarray(step, x0.dtype)
  if step.shape != x0.shape:
    raise ValueError(f"{fn}: step: expected shape {x0.shape} (one step per coordinate, from x0), got {step.shape}")
  if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
    raise ValueError(f"{fn}: n_iter: expected an int >= 0, got {n_iter!r}")
  out = jax.eval_shape(f, x0)
  if not hasattr(out, "shape") or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
    raise ValueError(f"{fn}: f: expected a real scalar output for an x0-shaped input, got {out}")
  check_finite(x0, "x0", fn)
  check_finite(step, "step", fn)
  return _nelder_mead(f, x0, step, int(n_iter))


def _nelder_mead(f: Callable[[Array], Array], x0: Array, step: Array, n_iter: int) -> tuple[Array, Array]:
  def fv(x):
    v = f(x)
    return jnp.where(jnp.isfinite(v), v, _BAD)

  simplex = jnp.concatenate([x0[None], x0[None] + jnp.diag(step)], 0)   # [d+1, d]
  values = jax.vmap(fv)(simplex)

  def it(_, state):
    s, v = state
    order = jnp.argsort(v)
    s, v = s[order], v[order]
    centroid = jnp.mean(s[:-1], 0)
    worst = s[-1]
    cand = jnp.concatenate([jnp.stack([centroid + (centroid - worst), centroid + 2 * (centroid - worst),
                                       centroid + 0.5 * (centroid - worst), centroid + 0.5 * (worst - centroid)]),
                            s[0] + 0.5 * (s[1:] - s[0])], 0)
    fc_all = jax.vmap(fv)(cand)
    xr, xe, xoc, xic = cand[0], cand[1], cand[2], cand[3]
    fr, fe, foc, fic = fc_all[0], fc_all[1], fc_all[2], fc_all[3]
    take_e = (fr < v[0]) & (fe < fr)
    take_r = (fr < v[-2]) & ~take_e
    outside = fr < v[-1]
    take_oc = ~take_e & ~take_r & outside & (foc <= fr)
    take_ic = ~take_e & ~take_r & ~outside & (fic < v[-1])
    new_x = jnp.where(take_e, xe, jnp.where(take_r, xr, jnp.where(take_oc, xoc, xic)))
    new_f = jnp.where(take_e, fe, jnp.where(take_r, fr, jnp.where(take_oc, foc, fic)))
    keep = take_e | take_r | take_oc | take_ic
    s_new = jnp.where(keep, s.at[-1].set(new_x), jnp.concatenate([s[:1], cand[4:]], 0))
    v_new = jnp.where(keep, v.at[-1].set(new_f), jnp.concatenate([v[:1], fc_all[4:]], 0))
    return s_new, v_new

  s, v = jax.lax.fori_loop(0, n_iter, it, (simplex, values))
  best = jnp.argmin(v)
  return s[best], v[best]


# ---------------------------------------------------------------------------------------------------
# Fits.


def ou_ar1_mle(x: Array, dt: float) -> tuple[OUParams, Array]:
  """Closed-form conditional MLE of the OU model on a regular grid (the AR(1) regression
  x_{i+1} = c + φ x_i + ε, φ = e^{−R₀Δt}, θ = c/(1 − φ), σ² = s²·2R₀/(1 − φ²) with s² the mean squared
  residual); needs 0 < φ < 1 (NaN parameters otherwise). ``x: [N]`` (N >= 3), ``dt`` > 0 finite. Returns
  ``(params, loglik)``; differentiable in ``x`` and ``dt``; non-finite ``x``: the package's NaN policy."""
  fn = f"{_PKG}.ou_ar1_mle"
  if isinstance(dt, bool) or not jnp.issubdtype(jnp.result_type(dt), jnp.number) or jnp.ndim(dt) != 0:
    raise TypeError(f"{fn}: dt: expected a real scalar > 0, got {dt!r}")
  if is_concrete(dt):
    if not (np.isfinite(float(dt)) and float(dt) > 0):
      raise ValueError(f"{fn}: dt: expected a finite number > 0, got {dt!r}")
  else:
    checkify.debug_check(jnp.isfinite(dt) & (dt > 0), f"{fn}: dt: expected a finite number > 0, got {{d}}", d=dt)
  x = _check_x(fn, x, min_len=3)
  bad_dt = None if is_concrete(dt) else ~(jnp.isfinite(dt) & (dt > 0))
  out = _nan_if_bad(_ou_ar1_mle(x, jnp.asarray(dt, x.dtype)), x)
  if bad_dt is not None:
    out = jax.tree.map(lambda v: jnp.where(bad_dt, jnp.nan, v), out)
  return out


def _ou_ar1_mle(x: Array, dt: Array) -> tuple[OUParams, Array]:
  a, b = x[:-1], x[1:]
  ma, mb = a.mean(), b.mean()
  phi = jnp.sum((a - ma) * (b - mb)) / jnp.sum((a - ma) ** 2)
  c = mb - phi * ma
  s2 = jnp.mean((b - c - phi * a) ** 2)
  R0 = -jnp.log(phi) / dt
  p = OUParams(R0=R0, theta=c / (1 - phi), sigma=jnp.sqrt(s2 * 2 * R0 / (1 - phi ** 2)))
  return p, _ou_loglik(p, x, jnp.arange(x.shape[0], dtype=x.dtype) * dt)


def _ou_start(x: Array, times: Array) -> Array:
  dt = jnp.mean(jnp.diff(times))
  sd = jnp.std(x) + 1e-12
  r0 = 1.0 / dt    # deliberately crude: lag-1 correlation e^{-1}; the optimiser does the rest
  return jnp.stack([jnp.log(r0), jnp.mean(x), jnp.log(sd * jnp.sqrt(2 * r0))])


@functools.partial(jax.jit, static_argnames=("n_iter", "substeps"))
def _fit(x: Array, times: Array, n_iter: int, substeps: int) -> Fit:
  def ou_obj(u):
    return -_ou_loglik(OUParams(jnp.exp(u[0]), u[1], jnp.exp(u[2])), x, times)

  u0 = _ou_start(x, times)
  u_ou, f_ou = _nelder_mead(ou_obj, u0, jnp.array([0.5, 0.5 * jnp.std(x), 0.5], x.dtype), n_iter)
  ou = OUParams(jnp.exp(u_ou[0]), u_ou[1], jnp.exp(u_ou[2]))
  span = times[-1] - times[0]
  # LSN coordinates: (log R0, m·span/R0 (relative change of R over the data), theta, log sigma)
  sr0 = ou.R0 / 2
  theta0 = ou.theta - sr0
  sig0 = ou.sigma / jnp.sqrt(jnp.maximum(ou.theta, 1e-12))

  def unpack(v):
    R0 = jnp.exp(v[0])
    return LSNParams(R0=R0, m=v[1] * R0 / span, theta=v[2], sigma=jnp.exp(v[3]))

  def lsn_obj(v):
    return -_lsn_loglik(unpack(v), x, times, substeps)

  v0 = jnp.stack([2 * jnp.log(sr0), jnp.zeros((), x.dtype), theta0, jnp.log(sig0)])
  step = jnp.array([0.2, -0.3, 0.0, 0.1], x.dtype).at[2].set(0.1 * jnp.std(x))
  v, f_lsn = _nelder_mead(lsn_obj, v0, step, n_iter)
  # never report less than the start (m = 0 reproduces the OU optimum exactly)
  f_start = lsn_obj(v0)
  better = f_lsn <= f_start
  v = jnp.where(better, v, v0)
  f_lsn = jnp.where(better, f_lsn, f_start)
  return Fit(ou=ou, ou_loglik=-f_ou, lsn=unpack(v), lsn_loglik=-f_lsn, lr=2 * (f_ou - f_lsn))


def _check_xt(x, times, fn: str) -> tuple[Array, Array]:
  """``x: [..., N]`` (N >= 4) and ``times: [N]`` (default 0..N−1, strictly increasing when concrete), finite."""
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(x.dtype, jnp.integer):
    raise TypeError(f"{fn}: x: expected real values, got dtype {x.dtype}")
  x = x.astype(jnp.result_type(float))
  if x.ndim < 1 or x.shape[-1] < 4:
    raise ValueError(f"{fn}: x: expected shape [..., N] with N >= 4, got {x.shape}")
  n = x.shape[-1]
  if times is None:
    times = jnp.arange(n, dtype=x.dtype)
  _check_real(fn, "times", times)
  times = jnp.asarray(times, x.dtype)
  if times.shape != (n,):
    raise ValueError(f"{fn}: times: expected shape [{n}] (one time per observation, from x), got {times.shape}")
  check_finite(x, "x", fn)
  check_finite(times, "times", fn)
  if is_concrete(times):
    steps = np.diff(np.asarray(times))
    if not np.all(steps > 0):
      i = int(np.argmax(~(steps > 0)))
      raise ValueError(f"{fn}: times: expected strictly increasing observation times, got times[{i + 1}] = "
                       f"{float(times[i + 1])} after times[{i}] = {float(times[i])}")
  return x, times


def _check_iters(fn: str, n_iter, substeps) -> tuple[int, int]:
  if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
    raise ValueError(f"{fn}: n_iter: expected an int >= 1, got {n_iter!r}")
  return int(n_iter), _check_substeps(fn, substeps)


def _fit_batch(x: Array, times: Array, n_iter: int, substeps: int) -> Fit:
  f = functools.partial(_fit, times=times, n_iter=n_iter, substeps=substeps)
  for _ in range(x.ndim - 1):
    f = jax.vmap(f)
  return f(x)


def fit_models(x, times=None, *, n_iter: int = 400, substeps: int = 4) -> Fit:
  """Fits OU and LSN by maximum likelihood to ``x: [..., N]`` observed at ``times: [N]`` (default 0..N−1);
  leading axes are independent series (vmapped). The LSN noise term needs a positive level √R + θ, i.e.
  series with a positive mean (populations, biomass); shift other data first.

  Non-finite data: ``ValueError`` naming ``x`` / ``times`` and the index (concrete); under ``jit`` every
  field of an affected series' fit is NaN. Not differentiable (Nelder–Mead's comparisons): ``jax.grad``
  raises ``TypeError``; differentiate :func:`ou_loglik` / :func:`lsn_loglik` at the fitted parameters."""
  fn = f"{_PKG}.fit_models"
  x, times = _check_xt(x, times, fn)
  n_iter, substeps = _check_iters(fn, n_iter, substeps)
  what = f"{fn} (a Nelder–Mead fit)"
  x, times = no_grad(x, f"{what} in x"), no_grad(times, f"{what} in times")
  fit = _fit_batch(x, times, n_iter, substeps)
  if is_concrete(x) and is_concrete(times):
    return fit
  bad = jnp.any(~jnp.isfinite(x), -1) | jnp.any(~jnp.isfinite(times))
  return jax.tree.map(lambda v: jnp.where(bad, jnp.asarray(jnp.nan, v.dtype), v), fit)


@functools.partial(jax.jit, static_argnames=("n_paths", "substeps"))
def _lsn_sim(key: Array, params: LSNParams, times: Array, x0: Array, n_paths: int, substeps: int) -> Array:
  t = times - times[0]
  eps = jax.random.normal(key, (t.shape[0] - 1, n_paths), x0.dtype)

  def step(x, inp):
    t0, t1, e = inp
    mu, var = _lsn_transition(params, x, t0, t1, substeps)
    x = mu + jnp.sqrt(var) * e
    return x, x

  xs0 = jnp.broadcast_to(x0, (n_paths,))
  _, xs = jax.lax.scan(step, xs0, (t[:-1], t[1:], eps))
  return jnp.concatenate([xs0[None], xs], 0).T


def lsn_simulate(key: Array, params: LSNParams, times, x0, n_paths: int, *, substeps: int = 4) -> Array:
  """Paths of the LSN model drawn from its Gaussian transition (the same moments as :func:`lsn_loglik`):
  ``[n_paths, N]`` at ``times: [N]`` starting from ``x0``.

  Concrete ``params`` must be feasible on the time range (``ValueError`` naming ``params``), ``times`` and
  ``x0`` finite (``ValueError`` with the index). Traced: ``checkify`` debug checks, and the unchecked
  paths are NaN for infeasible parameters or non-finite inputs. Differentiable (pathwise, given the key)
  in ``params`` and ``x0``."""
  fn = f"{_PKG}.lsn_simulate"
  params = _check_params(fn, params, LSNParams)
  _check_real(fn, "times", times)
  times = jnp.asarray(times, jnp.promote_types(jnp.result_type(times), jnp.result_type(float)))
  if times.ndim != 1 or times.shape[0] < 2:
    raise ValueError(f"{fn}: times: expected a 1-D array of >= 2 times, got shape {times.shape}")
  if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
    raise ValueError(f"{fn}: n_paths: expected an int >= 1, got {n_paths!r}")
  substeps = _check_substeps(fn, substeps)
  _check_real(fn, "x0", x0)
  if jnp.ndim(x0) != 0:
    raise ValueError(f"{fn}: x0: expected a scalar start value, got shape {jnp.shape(x0)}")
  check_finite(times, "times", fn)
  check_finite(x0, "x0", fn)
  params = LSNParams(*(jnp.asarray(p, times.dtype) for p in params))
  feasible = _lsn_feasible(params, times)
  if all(is_concrete(v) for v in params) and is_concrete(times):
    if not bool(feasible):
      raise ValueError(f"{fn}: params: infeasible LSN parameters on this time range (need R(t) > 0, √R + θ > 0, "
                       f"σ > 0): {params}")
  else:
    checkify.debug_check(feasible, f"{fn}: params: infeasible LSN parameters on this time range")
  x0 = jnp.asarray(x0, times.dtype)
  paths = _lsn_sim(key, params, times, x0, int(n_paths), substeps)
  ok = feasible & jnp.all(jnp.isfinite(times)) & jnp.isfinite(x0)
  return paths if is_concrete(ok) else jnp.where(ok, paths, jnp.nan)


def bootstrap_lr(key: Array, x, times=None, *, n_boot: int = 200, n_iter: int = 400, substeps: int = 4) -> Bootstrap:
  """Parametric bootstrap of the LR statistic for one series ``x: [N]``.

  Fits both models, simulates ``n_boot`` series from the fitted OU (exactly, with
  ``theory.common.gaussian_processes.ou_exact``; regular ``times`` only) and ``n_boot`` from the fitted LSN
  (:func:`lsn_simulate`), all starting at x[0], refits both models to each, and returns the LR values.
  ``roc(null_lr, test_lr)`` then measures how distinguishable the two models are at this data size.

  Runs on the host (float conversions between the stages): ``x`` must be concrete (not under ``jit``);
  not differentiable (``jax.grad`` raises ``TypeError``). Non-finite data raise ``ValueError`` with the index.
  """
  from theory.common.gaussian_processes import ou_exact
  fn = f"{_PKG}.bootstrap_lr"
  x = no_grad(x, f"{fn} (a bootstrap of Nelder–Mead fits) in x")
  if not is_concrete(x) or (times is not None and not is_concrete(times)):
    raise TypeError(f"{fn}: x, times: expected concrete arrays (the bootstrap runs on the host between its "
                    "jitted stages); call it outside jit / vmap")
  x, times = _check_xt(x, times, fn)
  if x.ndim != 1:
    raise ValueError(f"{fn}: x: expected a single series [N], got shape {x.shape}")
  if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
    raise ValueError(f"{fn}: n_boot: expected an int >= 1, got {n_boot!r}")
  n_iter, substeps = _check_iters(fn, n_iter, substeps)
  dts = np.diff(np.asarray(times, np.float64))
  if not np.allclose(dts, dts[0], rtol=1e-9):
    raise ValueError(f"{fn}: times: the bootstrap's exact OU simulation needs a regular grid")
  fit = _fit_batch(x, times, n_iter, substeps)
  k_ou, k_lsn = jax.random.split(key)
  n_steps = x.shape[0] - 1
  null_x = ou_exact(k_ou, theta=float(fit.ou.R0), sigma=float(fit.ou.sigma), mu=float(fit.ou.theta),
                    dt=float(dts[0]), n_steps=n_steps, x0=float(x[0]), n_paths=int(n_boot))
  test_x = lsn_simulate(k_lsn, fit.lsn, times, x[0], int(n_boot), substeps=substeps)
  null_fit = _fit_batch(null_x.astype(x.dtype), times, n_iter, substeps)
  test_fit = _fit_batch(test_x, times, n_iter, substeps)
  return Bootstrap(observed=fit.lr, null_lr=null_fit.lr, test_lr=test_fit.lr, fit=fit)
