"""The experiments of paper 10's claims: replicated max-over-t errors of the continual mechanisms, batched so that
one compile serves every replication.

* :func:`seeded_stream` — the claims' Bernoulli(1/2) stream for a seed;
* :func:`counting_errors` — max-over-t errors of the five counters (tree Laplace, tree Gaussian, naive, fresh
  noise per prefix, batch) and the Laplace tree's squared error at every t;
* :func:`svt_errors` — the sparse-vector MaxSum mechanism's max-over-t error, the batch MaxSum error and the
  number of rounds used;
* :func:`tree_column_errors` — MaxSum through per-column Gaussian trees on the first d columns of one stream,
  for several d;
* :func:`crossover_dimension` — the d where the trees' error reaches the sparse-vector error.

Errors are host numpy arrays (float64); streams follow :func:`~theory.dp_continual.check_stream`.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_key
from theory.common import privacy
from theory.dp_continual.mechanisms import (SVTParams, batch_count, batch_max_sum, fresh_prefix_counter,
                                            naive_counter, svt_parameters, svt_release)
from theory.dp_continual.streams import bernoulli_stream, check_epsilon_delta, check_stream
from theory.dp_continual.tree import tree_calibration, tree_counter, tree_prefix_sums

Array = jax.Array

# The columns of :func:`counting_errors`' first output.
COUNTING_MECHANISMS = ("tree (Laplace, ε-DP)", "tree (Gaussian, (ε,δ)-DP)", "naive: rows + Lap(1/ε)",
                       "fresh Lap(T/ε) per prefix", "batch: S(T) + Lap(1/ε)")


def seeded_stream(seed: int, horizon: int, dim: int) -> Array:
  """The claims' stream: ``bernoulli_stream(PRNGKey(10_000 + seed), horizon, dim, 0.5)``, ``[horizon, dim]``
  float32 in {0, 1} (a fixed function of ``seed``, so that runs are reproducible)."""
  if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"seeded_stream: seed: expected an int >= 0, got {seed!r}")
  return bernoulli_stream(jax.random.PRNGKey(10_000 + int(seed)), horizon, dim, 0.5)


def _check_reps(reps, fn: str) -> int:
  return privacy.check_count("reps", reps, fn)


@functools.partial(jax.jit, static_argnames=("T", "epsilon", "delta"))
def _counting(keys, x, T, epsilon, delta):
  s = jnp.cumsum(x[:, 0])

  def one(key):
    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    errs = [tree_counter(k1, x, epsilon)[:, 0], tree_counter(k2, x, epsilon, delta, "gaussian")[:, 0],
            naive_counter(k3, x, epsilon)[:, 0], fresh_prefix_counter(k4, x, epsilon)[:, 0]]
    out = [jnp.max(jnp.abs(e - s)) for e in errs]
    return jnp.stack(out + [jnp.abs(batch_count(k5, x, epsilon)[0] - s[-1])]), (errs[0] - s) ** 2

  return jax.lax.map(one, keys)


def counting_errors(key: Array, stream, epsilon: float, delta: float, reps: int) -> tuple[np.ndarray, np.ndarray]:
  """Replicated errors of the continual counters on column 0 of ``stream: [T, d]``.

  Replication r uses ``jax.random.split(key, reps)[r]``, split into five keys, one per mechanism.

  Args:
    epsilon, delta: the privacy target (Python numbers; δ in (0, 1) for the Gaussian tree).
  Returns:
    ``(max_errors [reps, 5], squared [reps, T])``: ``max_t |ŷ_t − S(t)|`` of the mechanisms in
    :data:`COUNTING_MECHANISMS` order (the batch column: ``|ŷ − S(T)|``), and the Laplace tree's
    ``(ŷ_t − S(t))²`` at every t (its mean is ``popcount(t) · 2b²``).
  """
  fn = "counting_errors"
  check_key(key, "key", fn)
  x = check_stream(stream, fn)
  eps, d = check_epsilon_delta(epsilon, delta, need_delta=True, fn=fn, concrete=True)
  reps = _check_reps(reps, fn)
  errs, sq = _counting(jax.random.split(key, reps), x, x.shape[0], eps, d)
  return np.asarray(errs, np.float64), np.asarray(sq, np.float64)


@functools.partial(jax.jit, static_argnames=("epsilon",))
def _svt(keys, x, threshold, max_updates, threshold_scale, query_scale, release_scale, epsilon):
  f = jnp.max(jnp.cumsum(x, axis=0), axis=1)

  def one(key):
    k1, k2 = jax.random.split(key)
    rel = svt_release(k1, x, threshold, max_updates, threshold_scale, query_scale, release_scale, "maxsum")
    return jnp.max(jnp.abs(rel.value - f)), jnp.abs(batch_max_sum(k2, x, epsilon) - f[-1]), rel.updates

  return jax.vmap(one)(keys)


def svt_errors(key: Array, stream, epsilon: float, delta: float,
               reps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, SVTParams]:
  """Replicated MaxSum errors of the sparse-vector mechanism (default parameters of
  :func:`~theory.dp_continual.svt_parameters`) and of the batch MaxSum on ``stream: [T, d]``.

  Replication r uses ``jax.random.split(key, reps)[r]``, split into (sparse vector, batch).
  Returns: ``(max_t |y_t − MaxSum_t| [reps], |batch − MaxSum_T| [reps], rounds used [reps] (int), SVTParams)``.
  """
  fn = "svt_errors"
  check_key(key, "key", fn)
  x = check_stream(stream, fn)
  eps, d = check_epsilon_delta(epsilon, delta, fn=fn, concrete=True)
  reps = _check_reps(reps, fn)
  p = svt_parameters(x.shape[0], eps, d)
  e, b, u = _svt(jax.random.split(key, reps), x, p.threshold, p.max_updates, p.threshold_scale, p.query_scale,
                 p.release_scale, eps)
  return np.asarray(e, np.float64), np.asarray(b, np.float64), np.asarray(u), p


@functools.partial(jax.jit, static_argnames=("dims",))
def _trees(keys, x, scales, dims):
  s = jnp.cumsum(x, axis=0)

  def one(key):
    out = []
    for i, d in enumerate(dims):
      est = tree_prefix_sums(jax.random.fold_in(key, i), x[:, :d], scales[i], "gaussian")
      out.append(jnp.max(jnp.abs(jnp.max(est, axis=1) - jnp.max(s[:, :d], axis=1))))
    return jnp.stack(out)

  return jax.lax.map(one, keys)


def tree_column_errors(key: Array, stream, epsilon: float, delta: float, dims, reps: int) -> np.ndarray:
  """Replicated max-over-t MaxSum errors of the Gaussian per-column trees on the first d columns of
  ``stream: [T, D]``, for each d in ``dims`` (ints in ``[1, D]``).

  Each d gets the calibration for d columns (:func:`~theory.dp_continual.tree_calibration`) and the key
  ``fold_in(split(key, reps)[r], i)``; the columns' noises are independent, so this is exactly the d-column
  mechanism. Returns ``[reps, len(dims)]``.
  """
  fn = "tree_column_errors"
  check_key(key, "key", fn)
  x = check_stream(stream, fn)
  eps, d = check_epsilon_delta(epsilon, delta, need_delta=True, fn=fn, concrete=True)
  reps = _check_reps(reps, fn)
  dims = tuple(dims) if isinstance(dims, (tuple, list)) else dims
  if (not isinstance(dims, tuple) or not dims
      or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= x.shape[1] for v in dims)):
    raise ValueError(f"{fn}: dims: expected a non-empty list of ints in [1, {x.shape[1]}], got {dims!r}")
  dims = tuple(int(v) for v in dims)
  T = x.shape[0]
  scales = jnp.asarray([tree_calibration(T, v, eps, d, "gaussian").scale for v in dims], jnp.float32)
  return np.asarray(_trees(jax.random.split(key, reps), x, scales, dims), np.float64)


def crossover_dimension(dims, tree_error, svt_error: float) -> tuple[float, bool]:
  """The dimension d* at which the per-column trees' error reaches the sparse-vector error.

  Args:
    dims: ``[K]`` increasing positive dimensions; tree_error: ``[K]`` positive errors at them;
    svt_error: the sparse-vector error (positive).
  Returns: ``(d*, extrapolated)``: linear interpolation of log error in log d at the first crossing; when the
    trees are already above (below) the sparse vector at the first (last) d, d* is extrapolated with the slope of
    the first (last) two points (floored at 1e-3) and ``extrapolated`` is True.
  """
  fn = "crossover_dimension"
  ds = np.asarray(dims, np.float64)
  te = np.asarray(tree_error, np.float64)
  if ds.ndim != 1 or ds.size < 1 or te.shape != ds.shape:
    raise ValueError(f"{fn}: dims, tree_error: expected equal 1-d shapes, got {ds.shape} and {te.shape}")
  if not (np.all(ds > 0) and np.all(np.diff(ds) > 0) and np.all(te > 0) and np.all(np.isfinite(te))):
    raise ValueError(f"{fn}: dims, tree_error: expected increasing positive dims and finite positive errors")
  svt_error = privacy.check_positive("svt_error", svt_error, fn=fn)
  ld, le, ls = np.log(ds), np.log(te), math.log(svt_error)
  if le[0] >= ls:
    if ds.size < 2:
      return float(ds[0]), True
    sl = (le[1] - le[0]) / (ld[1] - ld[0])
    return float(math.exp(ld[0] + (ls - le[0]) / max(sl, 1e-3))), True
  for i in range(1, ds.size):
    if le[i] >= ls:
      w = (ls - le[i - 1]) / (le[i] - le[i - 1])
      return float(math.exp(ld[i - 1] + w * (ld[i] - ld[i - 1]))), False
  if ds.size < 2:
    return float(ds[0]), True
  sl = (le[-1] - le[-2]) / (ld[-1] - ld[-2])
  return float(math.exp(ld[-1] + (ls - le[-1]) / max(sl, 1e-3))), True
