"""Experiment functions of paper 21 (the claims in ``experiments/claims/sgd_noise.py`` call these).

* :func:`perceptron_sweep`: the perceptron on :func:`~models.sgd_noise.core.depleted_sign` data trained by SGD until
  every point is fitted, over a grid of temperatures and seeds (one jitted program per training-set size P):
  t*, ``||u||``, ``u_1``, ``||u_perp||`` (``u = w - w0``), the closed-form test error, censoring.
* :func:`plateau_crossing` / :func:`tc_slope`: the temperature ``T_c`` where the seed-mean ``||u||`` leaves its
  ``T -> 0`` plateau by a factor, and the log-log slope of ``T_c`` against P with a bootstrap interval over seeds.
* :func:`network_grid`: the mean-field MLP on given data (e.g. digits parity) over an ``(alpha, T)`` grid: test
  error, t*, relative weight change, censoring.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from models.sgd_noise import core as C

_PKG = "models.sgd_noise"


def _grid(fn: str, name: str, v) -> np.ndarray:
  a = np.asarray(v, np.float64)
  if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)) or not np.all(a > 0):
    raise ValueError(f"{_PKG}.{fn}: {name}: expected a non-empty 1-d grid of positive floats, got {v!r}")
  return a


def perceptron_sweep(seed: int, *, d: int, p: int, chi: float, temperatures: Sequence[float], seeds: int,
                     batch: int, alpha: float = 1.0, max_steps: int = 100_000, check_every: int = 1) -> dict:
  """SGD on the perceptron until fit, for every ``(seed, T)``: ``dt = T B`` (``T = dt / B``, h = 1).

  Seed ``s`` draws the training set (P points of :func:`depleted_sign` in d dimensions), ``w0 ~ N(0, I)`` and the
  batch key; the same data serve every T of that seed. Returns numpy arrays ``[seeds, len(temperatures)]``:
  ``steps``, ``t`` (t* = dt x steps), ``fitted`` (False = censored at ``max_steps``), ``u_norm``, ``u1``, ``u_perp``,
  ``test_error`` (:func:`perceptron_test_error` of the final u), and ``temperatures``.
  """
  fn = "perceptron_sweep"
  temps = _grid(fn, "temperatures", temperatures)
  seeds = C._int_at_least(fn, "seeds", seeds, 1)
  p = C._int_at_least(fn, "p", p, 1)
  batch = C._int_at_least(fn, "batch", batch, 1)
  if batch > p:
    raise ValueError(f"{_PKG}.{fn}: batch: expected B <= P = {p}, got {batch}")
  C._positive(fn, "alpha", alpha)
  if not np.isfinite(chi) or chi <= -1:
    raise ValueError(f"{_PKG}.{fn}: chi: expected a float > -1, got {chi!r}")
  d = C._int_at_least(fn, "d", d, 1)
  max_steps = C._int_at_least(fn, "max_steps", max_steps, 1)
  check_every = C._int_at_least(fn, "check_every", check_every, 1)
  run = _perceptron_program(d, p, batch, float(alpha), max_steps, check_every)
  out = {k: np.asarray(v) for k, v in run(jnp.uint32(seed), jnp.float32(chi), jnp.arange(seeds),
                                          jnp.asarray(temps, jnp.float32)).items()}
  out["test_error"] = np.asarray(C.perceptron_test_error(out["u1"].astype(np.float64),
                                                         out["u_perp"].astype(np.float64), float(chi)))
  out["temperatures"] = temps
  return out


@functools.lru_cache(maxsize=32)
def _perceptron_program(d, p, batch, alpha, max_steps, check_every):
  """One compiled sweep per static shape: the seed, chi, the seeds and the temperatures are traced."""

  def one(seed, chi, s, temp):
    kd, kw, kb = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), s), 3)
    x, y = C._depleted(kd, p, d, chi, jnp.float32)
    w0 = jax.random.normal(kw, (d,))
    r = C.train_until_fit(C.perceptron_apply, w0, x, y, kb, alpha=alpha, dt=temp * batch, batch=batch,
                          max_steps=max_steps, check_every=check_every)
    u = r.w - w0
    return dict(steps=r.steps, t=r.t, fitted=r.fitted, u_norm=jnp.linalg.norm(u), u1=u[0],
                u_perp=jnp.linalg.norm(u[1:]))

  return jax.jit(jax.vmap(jax.vmap(one, (None, None, None, 0)), (None, None, 0, None)))


def plateau_crossing(temperatures, curve, factor: float) -> float:
  """The first T where ``curve`` (the seed-mean ``||u||`` on an increasing T grid) reaches ``factor`` times its
  value at the smallest T (the ``T -> 0`` plateau), by linear interpolation in ``(log T, log curve)``; NaN when it
  never does on the grid."""
  fn = "plateau_crossing"
  t = _grid(fn, "temperatures", temperatures)
  c = np.asarray(curve, np.float64)
  if c.shape != t.shape or not np.all(c > 0):
    raise ValueError(f"{_PKG}.{fn}: curve: expected {t.shape} positive values, got {c!r}")
  if not np.all(np.diff(t) > 0):
    raise ValueError(f"{_PKG}.{fn}: temperatures: expected an increasing grid, got {t!r}")
  if not factor > 1:
    raise ValueError(f"{_PKG}.{fn}: factor: expected a float > 1, got {factor!r}")
  lt, lc, level = np.log(t), np.log(c), math.log(c[0] * factor)
  for i in range(1, len(t)):
    if lc[i] >= level:
      f = (level - lc[i - 1]) / (lc[i] - lc[i - 1])
      return float(math.exp(lt[i - 1] + f * (lt[i] - lt[i - 1])))
  return float("nan")


def tc_slope(ps, temperatures, u_norms, factor: float, *, n_boot: int = 1000, level: float = 0.95,
             seed: int = 0) -> dict:
  """``T_c(P)`` by :func:`plateau_crossing` of the seed-mean ``||u||``, and the least-squares slope of
  ``log T_c`` on ``log P`` with a percentile bootstrap interval (seeds resampled within each P; resamples where
  some T_c is undefined are dropped and counted).

  Args: ps ``[n_P]``; u_norms ``[n_P, seeds, n_T]``. Returns ``dict(tc=[n_P], slope, lo, hi, n_valid)`` (slope
  NaN when fewer than two T_c are defined).
  """
  fn = "tc_slope"
  ps = _grid(fn, "ps", ps)
  u = np.asarray(u_norms, np.float64)
  if u.ndim != 3 or u.shape[0] != ps.size or u.shape[2] != np.size(temperatures):
    raise ValueError(f"{_PKG}.{fn}: u_norms: expected [n_P={ps.size}, seeds, n_T={np.size(temperatures)}], "
                     f"got {u.shape}")
  tc = np.array([plateau_crossing(temperatures, u[i].mean(0), factor) for i in range(ps.size)])

  def slope(t):
    ok = np.isfinite(t)
    return float(np.polyfit(np.log(ps[ok]), np.log(t[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")

  rng = np.random.default_rng(seed)
  boots = []
  for _ in range(n_boot):
    t = np.array([plateau_crossing(temperatures, u[i][rng.integers(0, u.shape[1], u.shape[1])].mean(0), factor)
                  for i in range(ps.size)])
    if np.all(np.isfinite(t)):
      boots.append(slope(t))
  q = (1 - level) / 2
  lo, hi = (np.quantile(boots, [q, 1 - q]) if boots else (float("nan"), float("nan")))
  return dict(tc=tc, slope=slope(tc), lo=float(lo), hi=float(hi), n_valid=len(boots))


def network_grid(seed: int, x_train, y_train, x_test, y_test, *, alphas: Sequence[float],
                 temperatures: Sequence[float], seeds: int, h: int, depth: int, batch: int,
                 activation: str = "relu", max_steps: int = 20_000, check_every: int = 1) -> dict:
  """The mean-field MLP trained by SGD until fit on ``(x_train, y_train)`` for every ``(alpha, T, seed)``, with
  ``dt = T h B``. Seed ``s`` draws ``w0`` and the batch key (the data are fixed). Returns numpy arrays
  ``[len(alphas), len(temperatures), seeds]``: ``test_error`` (of ``sign(o(x))``, o the centred output),
  ``t``, ``steps``, ``fitted``, ``rel_change`` (``||w - w0|| / ||w0||`` over all layers), ``rel_change_first``
  (first layer), plus the grids.
  """
  fn = "network_grid"
  al = _grid(fn, "alphas", alphas)
  temps = _grid(fn, "temperatures", temperatures)
  seeds = C._int_at_least(fn, "seeds", seeds, 1)
  xtr, ytr = jnp.asarray(x_train, jnp.float32), jnp.asarray(y_train, jnp.float32)
  xte, yte = jnp.asarray(x_test, jnp.float32), jnp.asarray(y_test, jnp.float32)
  if xtr.ndim != 2 or xte.ndim != 2 or xte.shape[1] != xtr.shape[1]:
    raise ValueError(f"{_PKG}.{fn}: x_train, x_test: expected [P, d] and [N, d], got {xtr.shape} and {xte.shape}")
  C._int_at_least(fn, "batch", batch, 1)
  apply = lambda w, xx: C.mlp_apply(w, xx, activation)  # noqa: E731

  def one(a, temp, s):
    kw, kb = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), s))
    w0 = C.init_mlp(kw, xtr.shape[1], h, depth)
    r = C.train_until_fit(apply, w0, xtr, ytr, kb, alpha=a, dt=temp * h * batch, batch=batch,
                          max_steps=max_steps, check_every=check_every)
    o = apply(r.w, xte) - apply(w0, xte)
    sq = lambda t: sum(jnp.sum(v ** 2) for v in jax.tree.leaves(t))  # noqa: E731
    du = jax.tree.map(lambda a_, b_: a_ - b_, r.w, w0)
    return dict(test_error=jnp.mean(jnp.sign(o) != yte), t=r.t, steps=r.steps, fitted=r.fitted,
                rel_change=jnp.sqrt(sq(du) / sq(w0)),
                rel_change_first=jnp.linalg.norm(du[0]) / jnp.linalg.norm(w0[0]))

  run = jax.jit(jax.vmap(jax.vmap(jax.vmap(one, (None, None, 0)), (None, 0, None)), (0, None, None)))
  out = {k: np.asarray(v) for k, v in run(jnp.asarray(al, jnp.float32), jnp.asarray(temps, jnp.float32),
                                           jnp.arange(seeds)).items()}
  out.update(alphas=al, temperatures=temps)
  return out
