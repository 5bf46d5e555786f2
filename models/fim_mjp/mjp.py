"""Markov jump processes on a bounded state space: rate matrices, exact simulation, closed forms.

Paper 27: Berghaus, Cvejoski, Seifner, Ojeda, Sánchez, "Foundation Inference Models for Markov Jump
Processes", NeurIPS 2024 (arXiv 2406.06419). The MJP basics the method rests on:

* a rate (intensity) matrix ``F: [C, C]`` has ``F_ij >= 0`` for ``i != j`` and ``F_ii = -sum_{j != i} F_ij``;
* master equation ``dp/dt = p F``, so ``p(t) = p(0) expm(F t)`` (:func:`transition_matrices`);
* stationary law ``pi F = 0``, ``sum pi = 1`` (:func:`stationary_distribution`); relaxation times
  ``-1 / Re(lambda)`` of the non-zero eigenvalues (:func:`relaxation_times`); mean first-passage times
  ``tau_jj = 0``, ``1 + sum_k F_ik tau_kj = 0`` for ``i != j`` (:func:`mean_first_passage_times`);
* Gillespie simulation (:func:`gillespie`): holding time ``~ Exp(-F_ii)``, next state ``j`` with probability
  ``F_ij / -F_ii``; the state at time ``t`` is the one entered at the last jump at or before ``t``
  (:func:`states_at`);
* the exact grid sampler (:func:`sample_grid_paths`): observations on a grid form a Markov chain with
  transitions ``expm(F dt_k)``, exact and vectorised (no jump times needed);
* the full-path maximum-likelihood estimator ``F_ij = N_ij / R_i`` (jump counts over holding time,
  :func:`full_path_mle`).

Padding: a process with ``C < C_max`` states lives in the top-left ``C x C`` block of a ``C_max x C_max``
matrix whose other rows and columns are zero (absorbing, never entered when ``p0`` is zero there).
"""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from kernels.common.checks import check_key, is_concrete, no_grad

__all__ = ["generator", "check_generator", "expm_batch", "transition_matrices", "stationary_distribution", "relaxation_times",
           "mean_first_passage_times", "sample_grid_paths", "flip_labels", "gillespie", "states_at",
           "full_path_mle"]

ROW_SUM_TOL = 1e-4   # relative tolerance on the zero row sums of a rate matrix


def check_generator(F, fn: str, name: str = "F", *, batched: bool = False) -> None:
  """Raises ValueError unless ``F`` (concrete values) is a rate matrix ``[C, C]`` (``[..., C, C]`` when
  ``batched``): finite, non-negative off the diagonal, rows summing to 0 (relative tolerance
  ``ROW_SUM_TOL``). Traced values are checked for shape only."""
  shape = tuple(np.shape(F))
  if len(shape) < 2 or shape[-1] != shape[-2] or (not batched and len(shape) != 2):
    raise ValueError(f"{fn}: {name}: expected a square rate matrix of shape {'[..., C, C]' if batched else '[C, C]'}, "
                     f"got shape {shape}")
  if shape[-1] < 1:
    raise ValueError(f"{fn}: {name}: expected at least one state, got shape {shape}")
  if not is_concrete(F):
    return
  a = np.asarray(F, np.float64)
  if not np.all(np.isfinite(a)):
    raise ValueError(f"{fn}: {name}: expected finite rates, got a NaN or inf")
  off = a * (1 - np.eye(shape[-1]))
  if np.any(off < 0):
    idx = tuple(int(i) for i in np.argwhere(off < 0)[0])
    raise ValueError(f"{fn}: {name}: expected non-negative off-diagonal rates, got {a[idx]:.6g} at index {idx}")
  rows = a.sum(-1)
  scale = np.abs(a).sum(-1) + 1e-30
  if np.any(np.abs(rows) > ROW_SUM_TOL * scale + 1e-12):
    idx = tuple(int(i) for i in np.argwhere(np.abs(rows) > ROW_SUM_TOL * scale + 1e-12)[0])
    raise ValueError(f"{fn}: {name}: expected rows summing to 0 (F_ii = -sum of the row's other rates), got row "
                     f"sum {rows[idx]:.6g} at row index {idx}")


def generator(rates):
  """The rate matrix with off-diagonal entries ``rates`` (diagonal of ``rates`` ignored).

  Args:
    rates: ``[..., C, C]`` non-negative off-diagonal rates.
  Returns: ``F: [..., C, C]`` with ``F_ii = -sum_{j != i} rates_ij``.
  """
  rates = jnp.asarray(rates)
  if rates.ndim < 2 or rates.shape[-1] != rates.shape[-2]:
    raise ValueError(f"generator: rates: expected shape [..., C, C], got {tuple(rates.shape)}")
  if not jnp.issubdtype(rates.dtype, jnp.floating):
    raise TypeError(f"generator: rates: expected a float array, got {rates.dtype}")
  if is_concrete(rates) and np.any(np.asarray(rates) * (1 - np.eye(rates.shape[-1])) < 0):
    raise ValueError("generator: rates: expected non-negative off-diagonal rates, got a negative entry")
  off = rates * (1 - jnp.eye(rates.shape[-1], dtype=rates.dtype))
  return off - jnp.eye(rates.shape[-1], dtype=rates.dtype) * off.sum(-1, keepdims=True)


def expm_batch(A, *, degree: int = 12, theta: float = 0.5, max_squarings: int = 16):
  """Matrix exponentials of ``A: [..., C, C]`` by scaling and squaring with a fixed-degree Taylor polynomial.

  Each matrix is scaled by ``2^-s`` with the smallest ``s <= max_squarings`` that brings its infinity norm
  to at most ``theta``, exponentiated by the degree-``degree`` Taylor polynomial (Horner form; truncation
  error below ``theta^(degree+1) / (degree+1)!``, 2e-14 at the defaults) and squared ``s`` times. Fixed cost
  and branch-free, so it vectorises over large batches (the grid sampler's ``B x P x L`` steps) and compiles
  fast; differentiable. Matrices with norm above ``theta 2^max_squarings`` (3.3e4) lose accuracy.
  """
  A = jnp.asarray(A)
  if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
    raise ValueError(f"expm_batch: A: expected shape [..., C, C], got {tuple(A.shape)}")
  if not jnp.issubdtype(A.dtype, jnp.floating):
    raise TypeError(f"expm_batch: A: expected a float array, got {A.dtype}")
  if not (isinstance(degree, int) and degree >= 1 and isinstance(max_squarings, int) and max_squarings >= 0):
    raise ValueError(f"expm_batch: degree, max_squarings: expected an int >= 1 and an int >= 0, got {degree!r}, "
                     f"{max_squarings!r}")
  return _expm(A, degree, theta, max_squarings)


def _mm(a, b):
  """Batched small-matrix product as a broadcast sum (several times faster than batched dot on CPU)."""
  return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)


def _expm(A, degree=12, theta=0.5, max_squarings=16):
  c = A.shape[-1]
  eye = jnp.eye(c, dtype=A.dtype)
  norm = jnp.max(jnp.sum(jnp.abs(A), -1), -1)
  s = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-30) / theta)), 0, max_squarings)
  X = A * jnp.exp2(-s)[..., None, None]
  E = eye + X / degree
  # loops (not unrolled): one compiled body each, and reverse-differentiable (static trip counts)
  E = jax.lax.fori_loop(1, degree, lambda i, E: eye + _mm(X, E) / (degree - i), E)
  return jax.lax.fori_loop(0, max_squarings, lambda k, E: jnp.where((k < s)[..., None, None], _mm(E, E), E), E)


def transition_matrices(F, dt):
  """``expm(F dt)``: the transition matrices over time steps ``dt``.

  Args:
    F: ``[C, C]`` rate matrix.
    dt: ``[...]`` non-negative time steps.
  Returns: ``[..., C, C]``; rows sum to 1.
  """
  check_generator(F, "transition_matrices")
  dt = jnp.asarray(dt, jnp.result_type(F, float))
  if is_concrete(dt) and np.any(np.asarray(dt) < 0):
    raise ValueError("transition_matrices: dt: expected non-negative time steps, got a negative value")
  F = jnp.asarray(F, dt.dtype)
  return _expm(F * dt[..., None, None])


def stationary_distribution(F):
  """``pi`` with ``pi F = 0`` and ``sum(pi) = 1`` for an irreducible rate matrix ``F: [C, C]``.

  Solves the linear system ``F^T pi = 0`` with its last equation replaced by ``sum(pi) = 1`` (non-singular
  when ``F`` is irreducible). Returns ``[C]``.
  """
  check_generator(F, "stationary_distribution")
  F = jnp.asarray(F, jnp.result_type(F, float))
  c = F.shape[-1]
  A = F.T.at[-1].set(1.0)
  b = jnp.zeros(c, F.dtype).at[-1].set(1.0)
  return jnp.linalg.solve(A, b)


def relaxation_times(F) -> np.ndarray:
  """``-1 / Re(lambda)`` for the ``C - 1`` eigenvalues of ``F`` other than the zero one (float64 numpy),
  sorted from slowest to fastest. ``F: [C, C]`` irreducible."""
  check_generator(F, "relaxation_times")
  lam = np.linalg.eigvals(np.asarray(F, np.float64))
  lam = lam[np.argsort(-lam.real)][1:]   # drop the eigenvalue closest to 0 (largest real part)
  return np.sort(-1.0 / lam.real)[::-1]


def mean_first_passage_times(F) -> np.ndarray:
  """``tau: [C, C]`` (float64 numpy): ``tau_ij`` is the mean time to first reach ``j`` from ``i``;
  ``tau_jj = 0`` and ``1 + sum_k F_ik tau_kj = 0`` for ``i != j``. ``F: [C, C]`` irreducible."""
  check_generator(F, "mean_first_passage_times")
  a = np.asarray(F, np.float64)
  c = a.shape[0]
  tau = np.zeros((c, c))
  for j in range(c):
    keep = np.arange(c) != j
    tau[keep, j] = np.linalg.solve(a[np.ix_(keep, keep)], -np.ones(c - 1))
  return tau


def _check_times(times, fn: str, name: str = "times") -> None:
  if is_concrete(times):
    t = np.asarray(times)
    if not np.all(np.isfinite(t)):
      raise ValueError(f"{fn}: {name}: expected finite observation times, got a NaN or inf")
    if t.shape[-1] > 1 and np.any(np.diff(t, axis=-1) < 0):
      idx = tuple(int(i) for i in np.argwhere(np.diff(t, axis=-1) < 0)[0])
      raise ValueError(f"{fn}: {name}: expected times sorted in non-decreasing order along the last axis, got a "
                       f"decrease at index {idx}")


def _check_probs(p, c: int, fn: str, name: str) -> None:
  if tuple(np.shape(p)) != (c,):
    raise ValueError(f"{fn}: {name}: expected shape ({c},), got {tuple(np.shape(p))}")
  if is_concrete(p):
    a = np.asarray(p, np.float64)
    if np.any(a < 0) or abs(a.sum() - 1) > 1e-4:
      raise ValueError(f"{fn}: {name}: expected a probability vector (non-negative, summing to 1), got sum "
                       f"{a.sum():.6g} and min {a.min():.6g}")


def sample_grid_paths(key, F, p0, times):
  """Exact samples of an MJP observed on grids: ``x_0 ~ p0``, ``x_{k+1} ~ expm(F dt_k)[x_k]``.

  Args:
    key: PRNG key.
    F: ``[C, C]`` rate matrix.
    p0: ``[C]`` distribution of the state at ``times[..., 0]``.
    times: ``[P, L]`` observation times, non-decreasing along each row (one grid per path).
  Returns: ``states: [P, L]`` int32 in ``[0, C)``.
  """
  check_key(key, "key", "sample_grid_paths")
  check_generator(F, "sample_grid_paths")
  c = np.shape(F)[0]
  _check_probs(p0, c, "sample_grid_paths", "p0")
  if np.ndim(times) != 2:
    raise ValueError(f"sample_grid_paths: times: expected shape [P, L], got {tuple(np.shape(times))}")
  _check_times(times, "sample_grid_paths")
  F, p0, times = no_grad((jnp.asarray(F, jnp.float32), jnp.asarray(p0, jnp.float32), jnp.asarray(times, jnp.float32)),
                        "sample_grid_paths (integer states)")
  return _grid_paths(key, F, p0, times)


def _grid_paths(key, F, p0, times):
  """Unchecked :func:`sample_grid_paths` (traceable; used by the prior sampler)."""
  P, L = times.shape
  dt = jnp.maximum(jnp.diff(times, axis=-1), 0.0)          # [P, L-1]
  # degree 8 / 10 squarings: truncation < 5e-9 for ||F dt|| <= 512, below float32 resolution
  trans = _expm(F[None, None] * dt[..., None, None], 8, 0.5, 10)   # [P, L-1, C, C]
  k0, k1 = jax.random.split(key)
  logp0 = jnp.log(jnp.maximum(p0, 0.0))
  x0 = jax.random.categorical(k0, logp0, shape=(P,))
  keys = jax.random.split(k1, max(L - 1, 1))[: L - 1]

  def step(x, inp):
    k, T = inp                                               # T: [P, C, C]
    row = jnp.take_along_axis(T, x[:, None, None], axis=1)[:, 0]
    nxt = jax.random.categorical(k, jnp.log(jnp.maximum(row, 0.0)), axis=-1)
    return nxt, nxt

  _, xs = jax.lax.scan(step, x0, (keys, jnp.moveaxis(trans, 1, 0)))
  return jnp.concatenate([x0[:, None], xs.T], axis=1).astype(jnp.int32)


def flip_labels(key, states, n_states, p):
  """Label-flip observation noise: each label is replaced, with probability ``p``, by one of the other
  ``n_states - 1`` states chosen uniformly.

  Args:
    key: PRNG key.
    states: ``[...]`` int labels in ``[0, n_states)``.
    n_states: int or int array broadcasting against ``states`` (>= 2 where ``p > 0``).
    p: flip probability in ``[0, 1]`` (scalar or broadcasting against ``states``).
  Returns: noisy labels, same shape and dtype.
  """
  check_key(key, "key", "flip_labels")
  states = jnp.asarray(states)
  if not jnp.issubdtype(states.dtype, jnp.integer):
    raise TypeError(f"flip_labels: states: expected an integer array, got {states.dtype}")
  if is_concrete(p) and (np.any(np.asarray(p) < 0) or np.any(np.asarray(p) > 1)):
    raise ValueError(f"flip_labels: p: expected a probability in [0, 1], got {p!r}")
  if is_concrete(n_states) and is_concrete(states):
    n = np.broadcast_to(np.asarray(n_states), states.shape)
    if np.any(np.asarray(states) >= n) or np.any(np.asarray(states) < 0):
      raise ValueError("flip_labels: states: expected labels in [0, n_states), got a label >= n_states or < 0")
  return _flip(key, states, jnp.asarray(n_states), no_grad(jnp.asarray(p, jnp.float32), "flip_labels (integer labels)"))


def _flip(key, states, n_states, p):
  ku, ks = jax.random.split(key)
  flip = jax.random.uniform(ku, states.shape) < p
  shift = 1 + jnp.floor(jax.random.uniform(ks, states.shape) * (n_states - 1)).astype(states.dtype)
  return jnp.where(flip & (n_states > 1), (states + shift) % jnp.maximum(n_states, 1), states).astype(states.dtype)


def gillespie(rng: np.random.Generator, F, p0, horizon: float) -> tuple[np.ndarray, np.ndarray]:
  """One exact MJP path on ``[0, horizon]`` by Gillespie's algorithm (numpy, float64).

  Returns ``(jump_times, states)``: ``jump_times[0] = 0`` and ``states[k]`` is the state entered at
  ``jump_times[k]`` (held until ``jump_times[k + 1]`` or the horizon). Absorbing states (zero exit rate)
  are held to the horizon.
  """
  if not isinstance(rng, np.random.Generator):
    raise TypeError(f"gillespie: rng: expected a numpy Generator, got {type(rng).__name__}")
  check_generator(F, "gillespie")
  a = np.asarray(F, np.float64)
  c = a.shape[0]
  _check_probs(p0, c, "gillespie", "p0")
  if not (np.isfinite(horizon) and horizon > 0):
    raise ValueError(f"gillespie: horizon: expected a positive finite time, got {horizon!r}")
  p0 = np.asarray(p0, np.float64)
  x = int(rng.choice(c, p=p0 / p0.sum()))
  t, times, states = 0.0, [0.0], [x]
  while True:
    out = -a[x, x]
    if out <= 0:
      break
    t += rng.exponential(1.0 / out)
    if t > horizon:
      break
    probs = np.where(np.arange(c) == x, 0.0, a[x]) / out
    x = int(rng.choice(c, p=probs))
    times.append(t)
    states.append(x)
  return np.asarray(times), np.asarray(states, np.int64)


def states_at(jump_times, states, grid) -> np.ndarray:
  """The state of a path ``(jump_times, states)`` (from :func:`gillespie`) at the times ``grid``: the state
  entered at the last jump at or before each time."""
  jt, st, g = np.asarray(jump_times), np.asarray(states), np.asarray(grid)
  if jt.ndim != 1 or jt.shape != st.shape or jt.size == 0:
    raise ValueError(f"states_at: jump_times, states: expected two 1-d arrays of one length, got shapes "
                     f"{jt.shape} and {st.shape}")
  if np.any(np.diff(jt) < 0):
    raise ValueError("states_at: jump_times: expected non-decreasing times")
  if np.any(g < jt[0]):
    raise ValueError(f"states_at: grid: expected times >= jump_times[0] = {jt[0]}, got {g.min()}")
  return st[np.searchsorted(jt, g, side="right") - 1]


def full_path_mle(paths, n_states: int, horizon: float) -> np.ndarray:
  """Maximum-likelihood rates from fully observed paths: ``F_ij = N_ij / R_i`` (jumps ``i -> j`` over the
  total time spent in ``i``); rows never visited are zero.

  Args:
    paths: sequence of ``(jump_times, states)`` pairs from :func:`gillespie` on ``[0, horizon]``.
    n_states: C.
    horizon: the observation horizon of every path.
  Returns: ``F: [C, C]`` float64.
  """
  if not isinstance(n_states, (int, np.integer)) or n_states < 1:
    raise ValueError(f"full_path_mle: n_states: expected a positive int, got {n_states!r}")
  if len(paths) == 0:
    raise ValueError("full_path_mle: paths: expected at least one path, got none")
  N = np.zeros((n_states, n_states))
  R = np.zeros(n_states)
  for jt, st in paths:
    jt, st = np.asarray(jt, np.float64), np.asarray(st)
    if np.any(st < 0) or np.any(st >= n_states):
      raise ValueError(f"full_path_mle: paths: expected states in [0, {n_states}), got {st.min()}..{st.max()}")
    if jt[-1] > horizon:
      raise ValueError(f"full_path_mle: paths: expected jump times <= horizon = {horizon}, got {jt[-1]}")
    np.add.at(N, (st[:-1], st[1:]), 1.0)
    np.add.at(R, st, np.diff(np.append(jt, horizon)))
  rates = np.where(R[:, None] > 0, N / np.maximum(R[:, None], 1e-300), 0.0)
  np.fill_diagonal(rates, 0.0)
  return rates - np.diag(rates.sum(1))
