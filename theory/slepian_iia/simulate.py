"""Simulation side of the Slepian IIA: exact Gaussian paths, zero-crossing intervals, empirical survival, tail
exponents, clipped covariances, persistence curves and ±1 switching processes.

H. Bengtsson and K. Podgórski, "The Slepian model based independent interval approximation of persistency and
zero-level exceedance distributions", 2024, arXiv:2401.01805 (the simulated exceedance distributions the IIA is
compared with).

Paths are sampled exactly on a grid by circulant embedding (``theory.common.gaussian_processes``). Zero crossings
are located by linear interpolation between grid points with a sign change; a grid misses pairs of crossings
inside one step, so keep dt·√λ₂ ≲ 0.02 and compare the crossing rate with Rice's √λ₂/π. Estimates carry
standard errors computed from the variation *between* independent paths (intervals along one path are
dependent), as ratio estimators Σ_p a_p / Σ_p b_p with the delta-method variance.

Everything here is host-side (numpy in and out, jit-compiled kernels inside): the functions raise TypeError on jax
tracers (their outputs are samples, counts or piecewise-constant statistics, not differentiable), and paths with
NaN / inf raise ValueError naming the first bad index.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite
from theory.common.gaussian_processes import circulant_embedding_sample
from theory.slepian_iia.covariances import Covariance, host_only

Array = jax.Array


class Estimate(NamedTuple):
  """A Monte Carlo estimate: ``mean`` and its standard error ``se`` (same shape)."""
  mean: np.ndarray
  se: np.ndarray


class Intervals(NamedTuple):
  """Complete zero-crossing intervals of ``P`` paths, NaN-padded.

  lengths: ``[P, K]`` interval lengths (NaN beyond ``counts``); positive: ``[P, K]`` True for excursions above
  zero; counts: ``[P]`` number of complete intervals; crossings: ``[P]`` number of crossings; duration: total
  time of each path.
  """
  lengths: np.ndarray
  positive: np.ndarray
  counts: np.ndarray
  crossings: np.ndarray
  duration: float


def _check_paths(name: str, x, fn: str, min_paths: int = 1) -> np.ndarray:
  a = np.asarray(x)
  if a.ndim != 2 or a.shape[1] < 3 or a.shape[0] < min_paths:
    raise ValueError(f"{name}: expected paths of shape [P, n] with n >= 3 and P >= {min_paths}, got shape {a.shape}")
  if not np.issubdtype(a.dtype, np.floating):
    raise TypeError(f"{name}: expected floating paths, got dtype {a.dtype}")
  check_finite(a, name, fn)
  return a


def _check_iv(iv, fn: str, need_intervals: bool = False) -> None:
  if not isinstance(iv, Intervals):
    raise TypeError(f"{fn}: iv: expected an Intervals (from crossing_intervals), got {type(iv).__name__}")
  host_only(fn, iv=iv)
  if np.ndim(iv.lengths) != 2 or np.shape(iv.counts) != np.shape(iv.lengths)[:1]:
    raise ValueError(f"{fn}: iv: expected lengths [P, K] and counts [P], got {np.shape(iv.lengths)} and "
                     f"{np.shape(iv.counts)}")
  if need_intervals and not np.sum(iv.counts) > 0:
    raise ValueError(f"{fn}: iv: no complete intervals (every count is 0); simulate longer paths")


def _check_times(name: str, t, fn: str) -> np.ndarray:
  host_only(fn, **{name: t})
  a = np.asarray(t)
  if a.ndim > 1 or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
    raise ValueError(f"{fn}: {name}: expected a real scalar or 1-D array of times, got shape {a.shape} dtype {a.dtype}")
  a = np.atleast_1d(a.astype(np.float64))
  check_finite(a, name, fn)
  return a


def _check_pos(name: str, v) -> float:
  if isinstance(v, jax.core.Tracer):
    raise TypeError(f"{name}: expected a Python number; this function is numpy-based (evaluated on the host) and "
                    "not differentiable; got a jax tracer")
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)):
    raise TypeError(f"{name}: expected a positive real number, got {type(v).__name__} {v!r}")
  if not (math.isfinite(float(v)) and float(v) > 0):
    raise ValueError(f"{name}: expected a positive finite number, got {v!r}")
  return float(v)


def simulate_paths(key: Array, cov: Covariance, dt: float, n: int, n_paths: int) -> Array:
  """Exact paths of the stationary Gaussian process with covariance ``cov`` on t_k = k dt: ``[n_paths, n]``
  float64 (circulant embedding of r(0), r(dt), …, r((n − 1)dt)). A sampler: not differentiable in dt
  (TypeError on a jax tracer)."""
  if not isinstance(cov, Covariance):
    raise TypeError(f"cov: expected a theory.slepian_iia.Covariance, got {type(cov).__name__}")
  dt = _check_pos("dt", dt)
  if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
    raise ValueError(f"simulate_paths: n: expected an int >= 2 grid points, got {n!r}")
  with jax.enable_x64(True):
    c = cov.r(jnp.arange(n, dtype=jnp.float64) * dt)
    return circulant_embedding_sample(key, c, n_paths)


@functools.partial(jax.jit, static_argnums=())
def _intervals(x: Array, dt: Array):
  n = x.shape[-1]
  pos = x > 0
  cross = pos[:, 1:] != pos[:, :-1]                                              # [P, n − 1]
  k = jnp.arange(n - 1, dtype=x.dtype)
  frac = x[:, :-1] / (x[:, :-1] - x[:, 1:])
  tc = (k + jnp.where(cross, frac, 0.0)) * dt                                    # crossing time in the step
  slot = jnp.cumsum(cross, axis=1) - 1
  idx = jnp.where(cross, slot, n - 1)                                            # n − 1: dropped
  rows = jnp.arange(x.shape[0])[:, None]
  times = jnp.full(x.shape[:1] + (n - 1,), jnp.nan, x.dtype).at[rows, idx].set(tc, mode="drop")
  up = jnp.zeros(x.shape[:1] + (n - 1,), bool).at[rows, idx].set(pos[:, 1:], mode="drop")
  lengths = times[:, 1:] - times[:, :-1]                                         # NaN past the last crossing
  return lengths, up[:, :-1], jnp.sum(cross, axis=1)


def crossing_intervals(x, dt: float) -> Intervals:
  """Complete intervals between consecutive zero crossings of each path (crossings by linear interpolation).

  Args:
    x: ``[P, n]`` finite paths on the grid t_k = k dt (ValueError on NaN / inf).
    dt: grid step.
  """
  host_only("crossing_intervals", x=x, dt=dt)
  x = _check_paths("x", x, "crossing_intervals")
  dt = _check_pos("dt", dt)
  with jax.enable_x64(True):
    lengths, up, nc = _intervals(jnp.asarray(x, jnp.float64), jnp.asarray(dt, jnp.float64))
    lengths, up, nc = np.asarray(lengths), np.asarray(up), np.asarray(nc)
  counts = np.maximum(nc - 1, 0)
  keep = max(int(counts.max()), 1)
  return Intervals(lengths[:, :keep], up[:, :keep], counts, nc, float((x.shape[1] - 1) * dt))


def concat_intervals(parts) -> Intervals:
  """Joins the Intervals of disjoint path sets (rows stacked; the interval axis NaN-padded to a common length).

  The parts must share their duration (the same grid); ValueError otherwise or on an empty list.
  """
  parts = list(parts)
  if not parts or not all(isinstance(iv, Intervals) for iv in parts):
    raise TypeError(f"concat_intervals: parts: expected a non-empty list of Intervals, got {parts!r:.80}")
  for iv in parts:
    _check_iv(iv, "concat_intervals")
  durations = {float(iv.duration) for iv in parts}
  if len(durations) != 1:
    raise ValueError(f"concat_intervals: parts: expected one common duration, got {sorted(durations)}")
  k = max(iv.lengths.shape[1] for iv in parts)

  def pad(a, value):
    return np.pad(a, ((0, 0), (0, k - a.shape[1])), constant_values=value)

  return Intervals(np.concatenate([pad(iv.lengths, np.nan) for iv in parts]),
                   np.concatenate([pad(iv.positive, False) for iv in parts]),
                   np.concatenate([iv.counts for iv in parts]), np.concatenate([iv.crossings for iv in parts]),
                   parts[0].duration)


def simulate_intervals(key: Array, cov: Covariance, dt: float, n: int, n_paths: int, chunk: int = 8) -> Intervals:
  """Zero-crossing intervals of ``n_paths`` exact paths of ``cov`` on t_k = k dt, simulated ``chunk`` paths at a
  time so that memory stays at a few paths' FFTs (path chunk c uses ``jax.random.fold_in(key, c)``, c the index of
  its first path). Same errors as ``simulate_paths`` / ``crossing_intervals``; ValueError on chunk < 1."""
  if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
    raise ValueError(f"simulate_intervals: chunk: expected an int >= 1, got {chunk!r}")
  if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
    raise ValueError(f"simulate_intervals: n_paths: expected an int >= 1, got {n_paths!r}")
  parts = []
  for c in range(0, n_paths, chunk):
    x = simulate_paths(jax.random.fold_in(key, c), cov, dt, n, min(chunk, n_paths - c))
    parts.append(crossing_intervals(np.asarray(x), dt))
    del x
  return concat_intervals(parts)


def _ratio(a: np.ndarray, b: np.ndarray) -> Estimate:
  """Σa/Σb over paths (axis 0) with the delta-method SE from between-path variation."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  p = a.shape[0]
  r = a.sum(0) / b.sum(0)
  if p < 2:
    return Estimate(r, np.full_like(r, np.nan))
  resid = a - r * b
  se = np.sqrt(np.sum(resid ** 2, axis=0) / (p * (p - 1))) / np.mean(b, axis=0)
  return Estimate(r, se)


def crossing_rate(iv: Intervals) -> Estimate:
  """Zero crossings per unit time (compare with Rice's √λ₂/π), SE between paths."""
  _check_iv(iv, "crossing_rate")
  if not (isinstance(iv.duration, (int, float)) and iv.duration > 0):
    raise ValueError(f"crossing_rate: iv: expected a positive duration, got {iv.duration!r}")
  e = _ratio(iv.crossings[:, None].astype(np.float64), np.full((iv.crossings.shape[0], 1), iv.duration))
  return Estimate(e.mean[0], e.se[0])


def mean_length(iv: Intervals) -> Estimate:
  """Mean interval length (compare with μ = π/√λ₂), SE between paths. ValueError if iv has no interval."""
  _check_iv(iv, "mean_length", need_intervals=True)
  s = np.nansum(iv.lengths, axis=1)
  e = _ratio(s[:, None], iv.counts[:, None].astype(np.float64))
  return Estimate(e.mean[0], e.se[0])


def empirical_survival(iv: Intervals, t) -> Estimate:
  """P(T > t) from the pooled intervals, ``t: [m]`` -> Estimate of ``[m]`` (SE between paths).

  t: finite times; ValueError if iv has no complete interval.
  """
  _check_iv(iv, "empirical_survival", need_intervals=True)
  t = _check_times("t", t, "empirical_survival")
  L = iv.lengths
  exceed = np.stack([np.sum(L > s, axis=1) for s in t], axis=1)                 # [P, m]
  return _ratio(exceed, np.repeat(iv.counts[:, None], t.size, axis=1))


def tail_exponent(iv: Intervals, t_min: float, t_max: float = math.inf) -> Estimate:
  """Exponential tail rate of the interval law on [t_min, t_max]: the censored-exponential MLE
  #{t_min < T ≤ t_max} / Σ (min(T, t_max) − t_min)₊ over intervals with T > t_min (SE between paths).

  t_min: finite, >= 0; t_max > t_min (inf allowed). ValueError if no interval exceeds t_min (zero exposure).
  """
  _check_iv(iv, "tail_exponent", need_intervals=True)
  host_only("tail_exponent", t_min=t_min, t_max=t_max)
  for name, v in (("t_min", t_min), ("t_max", t_max)):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
      raise TypeError(f"tail_exponent: {name}: expected a real number, got {type(v).__name__}")
  if not (math.isfinite(t_min) and t_min >= 0):
    raise ValueError(f"tail_exponent: t_min: expected a finite number >= 0, got {t_min!r}")
  if not t_max > t_min:
    raise ValueError(f"tail_exponent: t_max: expected t_max > t_min = {t_min!r}, got {t_max!r}")
  t_min = float(t_min)
  L = np.where(np.isnan(iv.lengths), -np.inf, iv.lengths)
  events = np.sum((L > t_min) & (L <= t_max), axis=1)
  exposure = np.sum(np.clip(np.minimum(L, t_max) - t_min, 0.0, None), axis=1)
  if not exposure.sum() > 0:
    raise ValueError(f"tail_exponent: t_min: no interval is longer than t_min = {t_min!r} (zero exposure)")
  e = _ratio(events[:, None], exposure[:, None])
  return Estimate(e.mean[0], e.se[0])


def palm_persistence(iv: Intervals, t) -> Estimate:
  """Persistence P₀(t) = P(no zero in [0, t]) from the intervals by the Palm relation
  P₀(t) = (1/μ) ∫_t^∞ P(T > s) ds = E(T − t)₊ / E T, estimated as Σ(T − t)₊ / ΣT (SE between paths); ``t: [m]``.
  Ignores the incomplete intervals at the path ends (a relative bias of order μ / duration). t: finite times;
  ValueError if iv has no complete interval."""
  _check_iv(iv, "palm_persistence", need_intervals=True)
  t = _check_times("t", t, "palm_persistence")
  L = np.where(np.isnan(iv.lengths), 0.0, iv.lengths)
  num = np.stack([np.sum(np.maximum(L - s, 0.0), axis=1) for s in t], axis=1)   # [P, m]
  den = np.repeat(L.sum(1)[:, None], t.size, axis=1)
  return _ratio(num, den)


@functools.partial(jax.jit, static_argnums=(1,))
def _clip_cov(s: Array, max_lag: int) -> Array:
  n = s.shape[-1]
  L = 1 << (2 * n - 1).bit_length()
  f = jnp.fft.rfft(s, n=L, axis=-1)
  ac = jnp.fft.irfft(f * jnp.conj(f), n=L, axis=-1)[:, :max_lag + 1]
  return ac / (n - jnp.arange(max_lag + 1))


def empirical_clipped_covariance(x, max_lag: int) -> Estimate:
  """Time-averaged E[sign X(s) sign X(s + k dt)] for k = 0..max_lag of stationary paths ``x: [P, n]``;
  returns Estimate of ``[max_lag + 1]`` (mean over paths, SE between paths; needs P ≥ 2)."""
  host_only("empirical_clipped_covariance", x=x)
  x = _check_paths("x", x, "empirical_clipped_covariance", min_paths=2)
  if isinstance(max_lag, bool) or not isinstance(max_lag, int) or not 0 <= max_lag < x.shape[1]:
    raise ValueError(f"max_lag: expected an int in [0, {x.shape[1]}), got {max_lag!r}")
  with jax.enable_x64(True):
    a = np.asarray(_clip_cov(jnp.sign(jnp.asarray(x, jnp.float64)), max_lag))
  return Estimate(a.mean(0), a.std(0, ddof=1) / math.sqrt(a.shape[0]))


@jax.jit
def _persist(x: Array, bridge: Array) -> Array:
  same = (x[:, 1:] > 0) == (x[:, :-1] > 0)
  # probability that a Brownian bridge between same-sign endpoints does not touch 0: 1 − exp(−2 x_k x_{k+1}/(v dt))
  stay = jnp.where(bridge > 0, -jnp.expm1(-2 * x[:, 1:] * x[:, :-1] / jnp.where(bridge > 0, bridge, 1.0)), 1.0)
  w = jnp.where(same, stay, 0.0)
  w = jnp.concatenate([jnp.ones_like(x[:, :1]), jnp.cumprod(w, axis=1)], axis=1)
  return w


def persistence_curve(x, bridge_variance: float | None = None) -> Estimate:
  """P(no zero in [t_0, t_k]) for stationary paths ``x: [P, n]`` started at t_0 (one window per path).

  Args:
    x: ``[P, n]`` paths.
    bridge_variance: for rough processes (e.g. Ornstein–Uhlenbeck), σ² dt, the variance of the Brownian
      increment over one step: each step between same-sign points is then weighted by the probability that a
      Brownian bridge between them does not hit 0, 1 − exp(−2 x_k x_{k+1}/(σ² dt)), which removes the O(√dt)
      bias of monitoring on the grid. None: plain sign monitoring (smooth processes).

  Returns:
    Estimate of ``[n]`` (mean over paths, SE between paths; needs P ≥ 2).
  """
  host_only("persistence_curve", x=x, bridge_variance=bridge_variance)
  x = _check_paths("x", x, "persistence_curve", min_paths=2)
  b = 0.0 if bridge_variance is None else _check_pos("bridge_variance", bridge_variance)
  with jax.enable_x64(True):
    w = np.asarray(_persist(jnp.asarray(x, jnp.float64), jnp.asarray(b, jnp.float64)))
  return Estimate(w.mean(0), w.std(0, ddof=1) / math.sqrt(w.shape[0]))


@functools.partial(jax.jit, static_argnums=(2,))
def _switch(lengths: Array, dt: Array, n: int) -> Array:
  ends = jnp.cumsum(lengths, axis=1)                                             # switch times [P, K]
  t = jnp.arange(n, dtype=lengths.dtype) * dt
  count = jax.vmap(lambda e: jnp.searchsorted(e, t, side="right"))(ends)          # switches in (0, t]
  return jnp.where(count % 2 == 0, 1.0, -1.0)


def switching_path(lengths, dt: float, n: int) -> Array:
  """±1 switch process started with a switch at 0 (value +1 on the first interval), on t_k = k dt.

  Args:
    lengths: ``[P, K]`` consecutive interval lengths of each path (their sum must exceed (n − 1) dt).
    dt: grid step; n: number of grid points.

  Returns:
    ``[P, n]`` float64 of ±1 (piecewise constant in lengths and dt: not differentiable, TypeError on tracers).
  """
  host_only("switching_path", lengths=lengths, dt=dt)
  a = np.asarray(lengths, np.float64)
  if a.ndim != 2:
    raise ValueError(f"lengths: expected shape [P, K], got {a.shape}")
  if np.any(a < 0) or not np.all(np.isfinite(a)):
    raise ValueError("lengths: expected finite non-negative interval lengths")
  dt = _check_pos("dt", dt)
  if isinstance(n, bool) or not isinstance(n, int) or n < 1:
    raise ValueError(f"n: expected a positive int, got {n!r}")
  short = a.sum(1).min()
  if short <= (n - 1) * dt:
    raise ValueError(f"lengths: the intervals of some path end at {short:.4g} before the grid end {(n - 1) * dt:.4g};"
                     " pass more intervals")
  with jax.enable_x64(True):
    return _switch(jnp.asarray(a), jnp.asarray(dt, jnp.float64), n)
