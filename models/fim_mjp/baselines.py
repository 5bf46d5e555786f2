"""Classical baselines for MJP inference from grid observations (paper 27's comparison, the notes' list).

* :func:`naive_grid_rates`: jump counts on the grid over the time spent in each state,
  ``F_ij = #{s_k = i, s_{k+1} = j} / sum_{k: s_k = i} dt_k`` (biased when ``dt`` is large: it misses the
  jumps between observations);
* :func:`grid_mle`: the maximum-likelihood rates of the grid chain, maximising
  ``sum_k log [expm(F dt_k)]_{s_k s_{k+1}}`` over log-rates (float64, L-BFGS-B, box ``LOG_RATE_BOUNDS``);
* :func:`hmm_mle`: the noisy-observation MLE: a hidden MJP seen through label flips (emission
  ``(1 - p) I + p / (C - 1) (1 - I)``, ``p`` known), the forward-algorithm likelihood maximised over log-rates
  the same way. The first hidden state's law is the (smoothed) frequency of the first observed labels.

Every estimator takes one process's observations ``states, times: [P, L]`` with ``obs_mask: [P, L]`` (a
prefix of valid observations per path) and its number of states ``C``, and returns ``F: [C, C]`` (float64
numpy). The likelihoods group transitions by their time step (a regular grid needs one ``expm``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from models.fim_mjp.mjp import _expm

__all__ = ["naive_grid_rates", "grid_mle", "hmm_mle", "LOG_RATE_BOUNDS"]

LOG_RATE_BOUNDS = (float(np.log(1e-6)), float(np.log(1e2)))   # the MLEs' box on each log-rate


def _prepare(states, times, obs_mask, n_states: int, fn: str):
  s = np.asarray(states)
  t = np.asarray(times, np.float64)
  if s.ndim != 2 or t.shape != s.shape:
    raise ValueError(f"{fn}: states, times: expected two arrays of one shape [P, L], got {s.shape} and {t.shape}")
  if s.shape[1] < 2:
    raise ValueError(f"{fn}: states: expected at least 2 observations per path, got L = {s.shape[1]}")
  if not np.issubdtype(s.dtype, np.integer):
    raise TypeError(f"{fn}: states: expected integer labels, got {s.dtype}")
  if not isinstance(n_states, (int, np.integer)) or n_states < 2:
    raise ValueError(f"{fn}: n_states: expected an int >= 2, got {n_states!r}")
  m = np.ones(s.shape, bool) if obs_mask is None else np.asarray(obs_mask, bool)
  if m.shape != s.shape:
    raise ValueError(f"{fn}: obs_mask: expected shape {s.shape}, got {m.shape}")
  if np.any(s[m] < 0) or np.any(s[m] >= n_states):
    raise ValueError(f"{fn}: states: expected labels in [0, n_states={n_states}), got "
                     f"{s[m].min()}..{s[m].max()}")
  if not np.all(np.isfinite(t[m])):
    raise ValueError(f"{fn}: times: expected finite times, got a NaN or inf")
  pair = m[:, 1:] & m[:, :-1]
  dt = np.diff(t, axis=1)
  if np.any(dt[pair] < 0):
    raise ValueError(f"{fn}: times: expected times sorted in non-decreasing order along each path, got a decrease")
  if not pair.any():
    raise ValueError(f"{fn}: obs_mask: expected at least one pair of consecutive valid observations")
  return s, t, m, pair, dt


def _unique_dt(dt, pair):
  """Unique time steps (rounded to 1e-9) padded to a power of two with dt = 0, and each pair's index."""
  r = np.round(np.where(pair, dt, 0.0), 9)
  u, inv = np.unique(r[pair], return_inverse=True)
  size = 1 << int(np.ceil(np.log2(max(len(u) + 1, 2))))
  dts = np.zeros(size)
  dts[: len(u)] = u
  idx = np.full(dt.shape, len(u), np.int64)       # masked pairs -> a dt = 0 slot
  idx[pair] = inv
  return dts, idx


def naive_grid_rates(states, times, obs_mask, n_states: int) -> np.ndarray:
  """``F_ij = N_ij / R_i`` with grid jump counts ``N`` and grid holding times ``R`` (see the module doc)."""
  s, t, m, pair, dt = _prepare(states, times, obs_mask, n_states, "naive_grid_rates")
  a, b = s[:, :-1][pair], s[:, 1:][pair]
  N = np.zeros((n_states, n_states))
  np.add.at(N, (a, b), 1.0)
  R = np.zeros(n_states)
  np.add.at(R, a, dt[pair])
  F = np.where(R[:, None] > 0, N / np.maximum(R[:, None], 1e-300), 0.0)
  np.fill_diagonal(F, 0.0)
  return F - np.diag(F.sum(1))


def _gen(theta, c):
  i, j = np.nonzero(~np.eye(c, dtype=bool))
  off = jnp.zeros((c, c), theta.dtype).at[i, j].set(jnp.exp(theta))
  return off - jnp.diag(off.sum(1))


def _grid_nll(theta, dts, counts, c):
  P = _expm(_gen(theta, c)[None] * dts[:, None, None])
  return -jnp.sum(counts * jnp.log(jnp.maximum(P, 1e-300)))


def _hmm_nll(theta, dts, idx, obs, pair, init, c, emis):
  P = _expm(_gen(theta, c)[None] * dts[:, None, None])   # [U, C, C]
  a = init[None] * emis[:, obs[:, 0]].T                   # [P, C]
  z = a.sum(-1, keepdims=True)
  ll = jnp.log(z[:, 0])
  a = a / z

  def step(carry, k):
    a, ll = carry
    nxt = jnp.einsum("pi,pij->pj", a, P[idx[:, k]]) * emis[:, obs[:, k + 1]].T
    z = nxt.sum(-1)
    ok = pair[:, k]
    a = jnp.where(ok[:, None], nxt / jnp.where(ok, z, 1.0)[:, None], a)
    return (a, ll + jnp.where(ok, jnp.log(jnp.where(ok, z, 1.0)), 0.0)), None

  (a, ll), _ = jax.lax.scan(step, (a, ll), jnp.arange(idx.shape[1]))
  return -jnp.sum(ll)


_grid_vg = jax.jit(jax.value_and_grad(_grid_nll), static_argnums=(3,))
_hmm_vg = jax.jit(jax.value_and_grad(_hmm_nll), static_argnums=(6,))


def _fit(f, theta0, max_iter):
  with jax.enable_x64(True):
    def fun(x):
      v, g = f(jnp.asarray(x, jnp.float64))
      return float(v), np.asarray(g, np.float64)

    res = scipy.optimize.minimize(fun, theta0, jac=True, method="L-BFGS-B",
                                  bounds=[LOG_RATE_BOUNDS] * len(theta0), options={"maxiter": max_iter})
  return res.x


def _theta0(states, times, obs_mask, c):
  F0 = naive_grid_rates(states, times, obs_mask, c)
  i, j = np.nonzero(~np.eye(c, dtype=bool))
  return np.log(np.clip(F0[i, j], 1e-2, 20.0))


def _to_f(theta, c):
  i, j = np.nonzero(~np.eye(c, dtype=bool))
  F = np.zeros((c, c))
  F[i, j] = np.exp(theta)
  return F - np.diag(F.sum(1))


def grid_mle(states, times, obs_mask, n_states: int, *, max_iter: int = 200) -> np.ndarray:
  """Maximum-likelihood rates of the grid chain (noise-free model; see the module docstring)."""
  s, t, m, pair, dt = _prepare(states, times, obs_mask, n_states, "grid_mle")
  if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
    raise ValueError(f"grid_mle: max_iter: expected a positive int, got {max_iter!r}")
  c = int(n_states)
  dts, idx = _unique_dt(dt, pair)
  counts = np.zeros((len(dts), c, c))
  np.add.at(counts, (idx[pair], s[:, :-1][pair], s[:, 1:][pair]), 1.0)
  with jax.enable_x64(True):
    d, n = jnp.asarray(dts), jnp.asarray(counts)
  theta = _fit(lambda th: _grid_vg(th, d, n, c), _theta0(s, t, m, c), max_iter)
  return _to_f(theta, c)


def hmm_mle(states, times, obs_mask, n_states: int, noise: float, *, max_iter: int = 200) -> np.ndarray:
  """Maximum-likelihood rates of a hidden MJP observed through label flips with known probability ``noise``."""
  s, t, m, pair, dt = _prepare(states, times, obs_mask, n_states, "hmm_mle")
  if not (np.isfinite(noise) and 0 <= noise < 1):
    raise ValueError(f"hmm_mle: noise: expected a flip probability in [0, 1), got {noise!r}")
  if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
    raise ValueError(f"hmm_mle: max_iter: expected a positive int, got {max_iter!r}")
  c = int(n_states)
  valid_path = m[:, 0] & pair.any(1)
  s, t, m, pair, dt = s[valid_path], t[valid_path], m[valid_path], pair[valid_path], dt[valid_path]
  dts, idx = _unique_dt(dt, pair)
  first = np.bincount(s[:, 0], minlength=c) + 1.0
  init = first / first.sum()
  emis = (1 - noise) * np.eye(c) + noise / (c - 1) * (1 - np.eye(c))
  obs = np.where(m, s, 0)
  with jax.enable_x64(True):
    args = tuple(jnp.asarray(a) for a in (dts, idx, obs, pair, init))
    E = jnp.asarray(emis)
  theta = _fit(lambda th: _hmm_vg(th, *args, c, E), _theta0(s, t, m, c), max_iter)
  return _to_f(theta, c)
