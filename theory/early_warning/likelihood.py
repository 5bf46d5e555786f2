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
"""
from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
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


def ou_loglik(params: OUParams, x: Array, times: Array) -> Array:
  """Conditional log-likelihood Σ_i log p(x_{i+1} | x_i) of the OU model; ``x, times: [N]`` → scalar."""
  dt = jnp.diff(times)
  mean, var = _ou_moments(x[:-1], dt, params.R0, params.theta, params.sigma)
  ll = jnp.sum(_gauss_logpdf(x[1:], mean, var))
  ok = (params.R0 > 0) & (params.sigma > 0)
  return jnp.where(ok, ll, -jnp.inf)


def lsn_transition(params: LSNParams, x: Array, t0: Array, t1: Array, substeps: int) -> tuple[Array, Array]:
  """Mean and variance of X(t1) given X(t0) = x under the LSN model (midpoint-frozen R on ``substeps``
  pieces, OU moments exact on each): ``x, t0, t1: [...]`` → ``([...], [...])``."""
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
  suffice), and σ > 0."""
  t = times - times[0]
  r_end = params.R0 + params.m * t[-1]
  ok = (params.R0 > 0) & (r_end > 0) & (params.sigma > 0)
  level_min = jnp.minimum(jnp.sqrt(jnp.maximum(params.R0, 0.0)), jnp.sqrt(jnp.maximum(r_end, 0.0))) + params.theta
  return ok & (level_min > 0)


def lsn_loglik(params: LSNParams, x: Array, times: Array, substeps: int = 4) -> Array:
  """Conditional log-likelihood of the LSN model; ``x, times: [N]`` → scalar (−inf where infeasible)."""
  t = times - times[0]
  mean, var = lsn_transition(params, x[:-1], t[:-1], t[1:], substeps)
  ll = jnp.sum(_gauss_logpdf(x[1:], mean, var))
  return jnp.where(lsn_feasible(params, times), ll, -jnp.inf)


# ---------------------------------------------------------------------------------------------------
# Nelder–Mead.


def nelder_mead(f: Callable[[Array], Array], x0: Array, step: Array, n_iter: int = 400) -> tuple[Array, Array]:
  """Minimises ``f: [d] -> scalar`` from the simplex x0, x0 + step_i e_i by Nelder–Mead (reflection 1,
  expansion 2, contraction ½, shrink ½) for exactly ``n_iter`` iterations; jit/vmap friendly. Each iteration
  evaluates all candidate points (reflection, expansion, both contractions, the shrunk simplex) in one
  vmapped call, so ``f`` is traced once. Non-finite values count as a very large objective.
  Returns ``(x_best [d], f_best)``."""
  d = x0.shape[0]

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
  residual); needs 0 < φ < 1. Returns ``(params, loglik)``."""
  a, b = x[:-1], x[1:]
  ma, mb = a.mean(), b.mean()
  phi = jnp.sum((a - ma) * (b - mb)) / jnp.sum((a - ma) ** 2)
  c = mb - phi * ma
  s2 = jnp.mean((b - c - phi * a) ** 2)
  R0 = -jnp.log(phi) / dt
  p = OUParams(R0=R0, theta=c / (1 - phi), sigma=jnp.sqrt(s2 * 2 * R0 / (1 - phi ** 2)))
  return p, ou_loglik(p, x, jnp.arange(x.shape[0], dtype=x.dtype) * dt)


def _ou_start(x: Array, times: Array) -> Array:
  dt = jnp.mean(jnp.diff(times))
  sd = jnp.std(x) + 1e-12
  r0 = 1.0 / dt    # deliberately crude: lag-1 correlation e^{-1}; the optimiser does the rest
  return jnp.stack([jnp.log(r0), jnp.mean(x), jnp.log(sd * jnp.sqrt(2 * r0))])


@functools.partial(jax.jit, static_argnames=("n_iter", "substeps"))
def _fit(x: Array, times: Array, n_iter: int, substeps: int) -> Fit:
  def ou_obj(u):
    return -ou_loglik(OUParams(jnp.exp(u[0]), u[1], jnp.exp(u[2])), x, times)

  u0 = _ou_start(x, times)
  u_ou, f_ou = nelder_mead(ou_obj, u0, jnp.array([0.5, 0.5 * jnp.std(x), 0.5], x.dtype), n_iter)
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
    return -lsn_loglik(unpack(v), x, times, substeps)

  v0 = jnp.stack([2 * jnp.log(sr0), jnp.zeros((), x.dtype), theta0, jnp.log(sig0)])
  step = jnp.array([0.2, -0.3, 0.0, 0.1], x.dtype).at[2].set(0.1 * jnp.std(x))
  v, f_lsn = nelder_mead(lsn_obj, v0, step, n_iter)
  # never report less than the start (m = 0 reproduces the OU optimum exactly)
  f_start = lsn_obj(v0)
  better = f_lsn <= f_start
  v = jnp.where(better, v, v0)
  f_lsn = jnp.where(better, f_lsn, f_start)
  return Fit(ou=ou, ou_loglik=-f_ou, lsn=unpack(v), lsn_loglik=-f_lsn, lr=2 * (f_ou - f_lsn))


def _check_xt(x, times) -> tuple[Array, Array]:
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.floating) and not jnp.issubdtype(x.dtype, jnp.integer):
    raise TypeError(f"x: expected real values, got dtype {x.dtype}")
  x = x.astype(jnp.result_type(float))
  if x.ndim < 1 or x.shape[-1] < 4:
    raise ValueError(f"x: expected shape [..., N] with N >= 4, got {x.shape}")
  n = x.shape[-1]
  if times is None:
    times = jnp.arange(n, dtype=x.dtype)
  times = jnp.asarray(times, x.dtype)
  if times.shape != (n,):
    raise ValueError(f"times: expected shape [{n}] (one time per observation), got {times.shape}")
  if not isinstance(times, jax.core.Tracer) and not bool(jnp.all(jnp.diff(times) > 0)):
    raise ValueError("times: expected strictly increasing observation times")
  return x, times


def fit_models(x, times=None, *, n_iter: int = 400, substeps: int = 4) -> Fit:
  """Fits OU and LSN by maximum likelihood to ``x: [..., N]`` observed at ``times: [N]`` (default 0..N−1);
  leading axes are independent series (vmapped). The LSN noise term needs a positive level √R + θ, i.e.
  series with a positive mean (populations, biomass); shift other data first."""
  x, times = _check_xt(x, times)
  for name, v in (("n_iter", n_iter), ("substeps", substeps)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
  f = functools.partial(_fit, times=times, n_iter=int(n_iter), substeps=int(substeps))
  for _ in range(x.ndim - 1):
    f = jax.vmap(f)
  return f(x)


@functools.partial(jax.jit, static_argnames=("n_paths", "substeps"))
def _lsn_sim(key: Array, params: LSNParams, times: Array, x0: Array, n_paths: int, substeps: int) -> Array:
  t = times - times[0]
  eps = jax.random.normal(key, (t.shape[0] - 1, n_paths), x0.dtype)

  def step(x, inp):
    t0, t1, e = inp
    mu, var = lsn_transition(params, x, t0, t1, substeps)
    x = mu + jnp.sqrt(var) * e
    return x, x

  xs0 = jnp.broadcast_to(x0, (n_paths,))
  _, xs = jax.lax.scan(step, xs0, (t[:-1], t[1:], eps))
  return jnp.concatenate([xs0[None], xs], 0).T


def lsn_simulate(key: Array, params: LSNParams, times, x0, n_paths: int, *, substeps: int = 4) -> Array:
  """Paths of the LSN model drawn from its Gaussian transition (the same moments as :func:`lsn_loglik`):
  ``[n_paths, N]`` at ``times: [N]`` starting from ``x0``."""
  times = jnp.asarray(times, jnp.result_type(float))
  if times.ndim != 1 or times.shape[0] < 2:
    raise ValueError(f"times: expected a 1-D array of >= 2 times, got shape {times.shape}")
  if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
    raise ValueError(f"n_paths: expected an int >= 1, got {n_paths!r}")
  if not bool(lsn_feasible(LSNParams(*(jnp.asarray(p, times.dtype) for p in params)), times)):
    raise ValueError(f"params: infeasible LSN parameters on this time range (need R(t) > 0, √R + θ > 0, σ > 0): "
                     f"{params}")
  params = LSNParams(*(jnp.asarray(p, times.dtype) for p in params))
  return _lsn_sim(key, params, times, jnp.asarray(x0, times.dtype), int(n_paths), int(substeps))


def bootstrap_lr(key: Array, x, times=None, *, n_boot: int = 200, n_iter: int = 400, substeps: int = 4) -> Bootstrap:
  """Parametric bootstrap of the LR statistic for one series ``x: [N]``.

  Fits both models, simulates ``n_boot`` series from the fitted OU (exactly, with
  ``theory.common.gaussian_processes.ou_exact``; regular ``times`` only) and ``n_boot`` from the fitted LSN
  (:func:`lsn_simulate`), all starting at x[0], refits both models to each, and returns the LR values.
  ``roc(null_lr, test_lr)`` then measures how distinguishable the two models are at this data size.
  """
  from theory.common.gaussian_processes import ou_exact
  x, times = _check_xt(x, times)
  if x.ndim != 1:
    raise ValueError(f"x: expected a single series [N], got shape {x.shape}")
  dts = np.diff(np.asarray(times, np.float64))
  if not np.allclose(dts, dts[0], rtol=1e-9):
    raise ValueError("times: the bootstrap's exact OU simulation needs a regular grid")
  fit = fit_models(x, times, n_iter=n_iter, substeps=substeps)
  k_ou, k_lsn = jax.random.split(key)
  n_steps = x.shape[0] - 1
  null_x = ou_exact(k_ou, theta=float(fit.ou.R0), sigma=float(fit.ou.sigma), mu=float(fit.ou.theta),
                    dt=float(dts[0]), n_steps=n_steps, x0=float(x[0]), n_paths=int(n_boot))
  test_x = lsn_simulate(k_lsn, fit.lsn, times, x[0], int(n_boot), substeps=substeps)
  null_fit = fit_models(null_x.astype(x.dtype), times, n_iter=n_iter, substeps=substeps)
  test_fit = fit_models(test_x, times, n_iter=n_iter, substeps=substeps)
  return Bootstrap(observed=fit.lr, null_lr=null_fit.lr, test_lr=test_fit.lr, fit=fit)
