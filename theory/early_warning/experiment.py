"""The experiments of paper 20 (Boettiger, Ross, Hastings, "Early warning signals: the charted and uncharted
territories", Theoretical Ecology 2013, arXiv:1305.6700) on May's grazing model (r = 1, K = 10, h = 1).

* ``ramp_data``: replicates with the grazing rate ramped toward the fold and constant-parameter nulls;
* ``shift_data`` + ``selection_windows``: runs at constant parameters, the first crossing of the unstable
  equilibrium, and the windows the prosecutor's fallacy selects (ending just before the shift) beside
  comparison windows from runs that never shifted;
* ``textbook_tau_pvalue``: the independence p-value of Kendall's τ that overlapping windows invalidate.

Host-side (numpy out) experiment drivers around the jit-compiled simulators; no derivatives.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from theory.early_warning.models import may_equilibria, may_simulate

_PKG = "theory.early_warning"


def _pos_int(v, name: str, fn: str, minimum: int = 1) -> int:
  if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
    raise ValueError(f"{fn}: {name}: expected an int >= {minimum}, got {v!r}")
  return int(v)


def ramp_data(key: jax.Array, n_rec: int, reps: int, *, c0: float = 1.8, c1: float = 2.55, sigma: float = 0.15,
              dt: float = 0.1, record_every: int = 10) -> tuple[np.ndarray, np.ndarray]:
  """``reps`` paths ``[reps, n_rec]`` with c ramped linearly c0 → c1 over ``n_rec · record_every`` Euler steps,
  and ``reps`` null paths at constant c = c0 (``key`` split into the two), recorded every ``record_every``
  steps (the last recorded sample dropped so both have ``n_rec``)."""
  fn = f"{_PKG}.ramp_data"
  n_rec, reps = _pos_int(n_rec, "n_rec", fn, 2), _pos_int(reps, "reps", fn)
  n_steps = n_rec * _pos_int(record_every, "record_every", fn)
  k_ramp, k_null = jax.random.split(key)
  c = jnp.linspace(c0, c1, n_steps)
  kw = dict(sigma=sigma, dt=dt, record_every=record_every, n_paths=reps)
  ramp = np.asarray(may_simulate(k_ramp, c, **kw))[:, :-1]
  null = np.asarray(may_simulate(k_null, jnp.full(n_steps, c0), **kw))[:, :-1]
  return ramp, null


def shift_data(key: jax.Array, n_rec: int, reps: int, *, c: float = 2.4, sigma: float = 0.4, dt: float = 0.1,
               record_every: int = 10) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
  """``reps`` paths at constant c (bistable) with noise-induced escapes.

  Returns ``(xs [reps, n_rec + 1], threshold, shifted [reps] bool, first [reps] int)``: the unstable
  equilibrium (crossing it is the shift), whether each run crossed it and the first sample below it (-1
  if never)."""
  fn = f"{_PKG}.shift_data"
  n_rec, reps = _pos_int(n_rec, "n_rec", fn), _pos_int(reps, "reps", fn)
  eq = may_equilibria(c)
  if eq.size < 3:
    raise ValueError(f"{fn}: c: expected a bistable grazing rate (three positive equilibria), got {c!r}")
  xs = np.asarray(may_simulate(key, jnp.full(n_rec * _pos_int(record_every, "record_every", fn), c), sigma=sigma,
                               dt=dt, record_every=record_every, n_paths=reps))
  thr = float(eq[1])
  below = xs < thr
  shifted = below.any(1)
  first = np.where(shifted, below.argmax(1), -1)
  return xs, thr, shifted, first


def selection_windows(xs, shifted, first, length: int, gap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Selected windows: the ``length`` samples ending ``gap`` samples before the crossing, of the runs that
  shifted late enough (``first >= length + gap + 1``); comparison windows: ``length`` samples ending at a
  uniform time (``numpy`` generator ``seed``) in the runs that never shifted. ``xs: [R, T]``,
  ``shifted: [R]`` bool, ``first: [R]`` int -> ``([n_sel, length], [n_cmp, length])``."""
  fn = f"{_PKG}.selection_windows"
  xs, shifted, first = np.asarray(xs), np.asarray(shifted), np.asarray(first)
  if xs.ndim != 2 or shifted.shape != xs.shape[:1] or first.shape != xs.shape[:1] or shifted.dtype != np.bool_:
    raise ValueError(f"{fn}: xs, shifted, first: expected [R, T], bool [R] and int [R], got shapes {xs.shape}, "
                     f"{shifted.shape}, {first.shape} (shifted dtype {shifted.dtype})")
  length = _pos_int(length, "length", fn)
  gap = _pos_int(gap, "gap", fn, 0)
  if length >= xs.shape[1]:
    raise ValueError(f"{fn}: length: expected fewer than T = {xs.shape[1]} samples, got {length}")
  sel = np.nonzero(shifted & (first >= length + gap + 1))[0]
  stay = np.nonzero(~shifted)[0]
  ends = np.random.default_rng(seed).integers(length, xs.shape[1], size=stay.size)
  win_sel = (np.stack([xs[i, first[i] - gap - length:first[i] - gap] for i in sel]) if sel.size
             else np.zeros((0, length)))
  win_rand = np.stack([xs[i, e - length:e] for i, e in zip(stay, ends)]) if stay.size else np.zeros((0, length))
  return win_sel, win_rand


def textbook_tau_pvalue(tau, n: int) -> np.ndarray:
  """Two-sided p-value of Kendall's τ under independence for ``n`` points (normal approximation, no ties):
  z = 3τ√(n(n−1)) / √(2(2n+5)), p = erfc(|z|/√2). Wrong for rolling indicators, whose overlapping windows
  make neighbouring values dependent (the point of the ramp claim). ``tau: [...]`` -> ``[...]``."""
  fn = f"{_PKG}.textbook_tau_pvalue"
  n = _pos_int(n, "n", fn, 2)
  t = np.asarray(tau, np.float64)
  if np.any(np.abs(t[np.isfinite(t)]) > 1):
    raise ValueError(f"{fn}: tau: expected values in [-1, 1], got max |τ| = {np.nanmax(np.abs(t))}")
  z = 3 * t * math.sqrt(n * (n - 1)) / math.sqrt(2 * (2 * n + 5))
  return np.vectorize(math.erfc)(np.abs(z) / math.sqrt(2))
