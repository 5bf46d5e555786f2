"""The binary-tree (counter) mechanism for continual counting, with Laplace or Gaussian node noise.

Paper: "The Price of Differential Privacy under Continual Observation", P. Jain, S. Raskhodnikova,
S. Sivakumar, A. Smith, ICML 2023, arXiv:2112.00828 (§1–2: the counting problem and its polylog(T)
upper bound). The mechanism is that of Dwork, Naor, Pitassi, Rothblum (STOC 2010) and Chan, Shi, Song
(ACM TISSEC 2011).

Every dyadic interval ``(k·2^h, (k+1)·2^h]`` whose right end is at most ``T`` (a *node* at level
``h = 0..L``, ``L = ⌊log2 T⌋``) holds the column sums of its rows plus independent noise. A row
``x_s ∈ [0, 1]^d`` lies in at most ``L + 1 = T.bit_length()`` such nodes, so the vector of all node sums
has L1 sensitivity ``d (L + 1)`` and L2 sensitivity ``√(d (L + 1))`` under event-level neighbours (one
whole row replaced). The prefix sum at ``t`` (1-indexed) is the sum of the ``popcount(t)`` nodes of the
binary decomposition of ``t``: for every set bit ``h`` of ``t``, node ``(t >> h) − 1`` of level ``h``.
Hence the release at ``t`` is unbiased with variance ``popcount(t) · v`` where ``v`` is the per-node
variance (``2 b²`` for Laplace(b), ``σ²`` for Gaussian).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from kernels.common.checks import check_in_range
from theory.common import privacy
from theory.dp_continual.streams import check_stream, check_epsilon_delta

Array = jax.Array
NOISES = ("laplace", "gaussian")


class TreeCalibration(NamedTuple):
  """Noise of the tree mechanism for a stream of ``horizon`` rows of dimension ``dim``."""
  noise: str            # "laplace" or "gaussian"
  scale: float          # Laplace b or Gaussian σ of every node
  node_variance: float  # 2 b² or σ²
  levels: int           # L + 1 = horizon.bit_length()
  sensitivity: float    # L1 (Laplace) or L2 (Gaussian) sensitivity of the node vector


def _check_int(name: str, value, fn: str) -> int:
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
    raise TypeError(f"{fn}: {name}: expected a positive int, got {type(value).__name__} {value!r}")
  if value < 1:
    raise ValueError(f"{fn}: {name}: expected a positive int, got {value!r}")
  return int(value)


def num_levels(horizon: int) -> int:
  """``L + 1``: the number of dyadic levels ``h`` with ``2^h ≤ T`` (``T.bit_length()``)."""
  return _check_int("horizon", horizon, "num_levels").bit_length()


def node_l1_sensitivity(horizon: int, dim: int = 1) -> float:
  """L1 sensitivity of the vector of all node sums: ``d (L + 1)`` (rows in ``[0, 1]^d``)."""
  fn = "node_l1_sensitivity"
  return float(_check_int("dim", dim, fn) * _check_int("horizon", horizon, fn).bit_length())


def node_l2_sensitivity(horizon: int, dim: int = 1) -> float:
  """L2 sensitivity of the vector of all node sums: ``√(d (L + 1))`` (rows in ``[0, 1]^d``)."""
  fn = "node_l2_sensitivity"
  return math.sqrt(_check_int("dim", dim, fn) * _check_int("horizon", horizon, fn).bit_length())


def calibrated_gaussian_sigma(sensitivity, epsilon, delta):
  """Smallest σ (to 1e-10 relative) with ``N(0, σ²)`` noise (ε, δ)-DP at L2 sensitivity Δ, by bisection
  on the exact Balle–Wang curve ``privacy.gaussian_delta`` (decreasing in σ); valid for every ε > 0.

  Python numbers give a Python float. JAX scalars give a JAX scalar: the bisection runs in ``lax`` loops
  (to full precision rather than 1e-10) and the derivative in Δ, ε, δ is that of the implicit function
  δ(σ; Δ, ε) = δ (exact, not through the loop); ranges are then checked only for concrete values.
  """
  fn = "calibrated_gaussian_sigma"
  eps, delta = check_epsilon_delta(epsilon, delta, need_delta=True, fn=fn)
  sensitivity = privacy.check_positive("sensitivity", sensitivity, fn=fn)
  if privacy.ops_for(eps, delta, sensitivity) is privacy.JAX:
    sens, eps, delta = jnp.asarray(sensitivity), jnp.asarray(eps), jnp.asarray(delta)
    s0, e0, d0 = (jax.lax.stop_gradient(a) for a in (sens, eps, delta))
    # log δ(σ) is decreasing in σ: bisection on u = −log δ(σ), increasing. Bracket: δ(σ) ≤ Φ(Δ/2σ − εσ/Δ),
    # which equals δ at σ⁺ = Δ(−z + √(z² + 2ε))/(2ε), z = Φ⁻¹(δ), so δ(σ⁺) ≤ δ (no search loop needed)
    neg_log = lambda sig, sens_, eps_: -jnp.log(privacy.gaussian_delta_value(sig, sens_, eps_, privacy.JAX))
    z = ndtri(d0)
    upper = s0 * (-z + jnp.sqrt(z * z + 2 * e0)) / (2 * e0)
    _, hi = privacy.increasing_root(lambda sig: neg_log(sig, s0, e0), -jnp.log(d0), 1e-6 * s0, upper,
                                     widen=False)
    return privacy.implicit_root(hi, lambda sig, s_, e_, d_: neg_log(sig, s_, e_) + jnp.log(d_), sens, eps, delta)
  lo, hi = 1e-6 * sensitivity, sensitivity
  while privacy.gaussian_delta(hi, sensitivity, eps) > delta:
    hi *= 2
  for _ in range(200):
    mid = 0.5 * (lo + hi)
    lo, hi = (lo, mid) if privacy.gaussian_delta(mid, sensitivity, eps) <= delta else (mid, hi)
    if hi - lo <= 1e-10 * hi:
      break
  return hi


def tree_calibration(horizon: int, dim: int, epsilon, delta=0.0, noise: str = "laplace") -> TreeCalibration:
  """Per-node noise making the whole tree ε-DP (Laplace, ``b = d (L+1)/ε``) or (ε, δ)-DP (Gaussian, the
  exact calibration at L2 sensitivity ``√(d (L+1))``). ``epsilon``/``delta`` may be JAX scalars (then
  ``scale`` and ``node_variance`` are JAX scalars, differentiable)."""
  fn = "tree_calibration"
  if noise not in NOISES:
    raise ValueError(f"{fn}: noise: expected one of {NOISES}, got {noise!r}")
  dim = _check_int("dim", dim, fn)
  levels = _check_int("horizon", horizon, fn).bit_length()
  if noise == "laplace":
    eps, _ = check_epsilon_delta(epsilon, delta, fn=fn)
    sens = float(dim * levels)
    b = privacy.laplace_scale(sens, eps)
    return TreeCalibration(noise, b, 2 * b * b, levels, sens)
  sens = math.sqrt(dim * levels)
  check_epsilon_delta(epsilon, delta, need_delta=True, fn=fn)
  sigma = calibrated_gaussian_sigma(sens, epsilon, delta)
  return TreeCalibration(noise, sigma, sigma * sigma, levels, sens)


def popcount(t) -> Array:
  """Number of set bits of the (1-indexed) times ``t: [...]`` (int)."""
  t = jnp.asarray(t)
  if not jnp.issubdtype(t.dtype, jnp.integer):
    raise TypeError(f"popcount: t: expected integer times, got dtype {t.dtype}")
  return jax.lax.population_count(t)


def tree_error_variance(t, node_variance) -> Array:
  """Closed form ``Var[ŷ_t − y_t] = popcount(t) · v`` of the tree release at times ``t: [...]`` (1-indexed,
  int >= 1) for the per-node variance ``v >= 0`` (broadcasting). Concrete ``t`` is range-checked; under
  ``jit`` the check is a ``checkify`` check."""
  fn = "tree_error_variance"
  t = jnp.asarray(t)
  if not jnp.issubdtype(t.dtype, jnp.integer):
    raise TypeError(f"{fn}: t: expected integer times, got dtype {t.dtype}")
  check_in_range(t, "t", fn, 1, int(jnp.iinfo(t.dtype).max))
  v = jnp.asarray(node_variance)
  if v.dtype == jnp.bool_ or not (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer)):
    raise TypeError(f"{fn}: node_variance: expected a real number or array, got dtype {v.dtype}")
  if not privacy.is_traced(v):
    a = np.asarray(v, np.float64)
    if not (np.all(a >= 0) and np.all(np.isfinite(a))):
      raise ValueError(f"{fn}: node_variance: expected finite values >= 0, got minimum {a.min()!r}")
  try:
    jnp.broadcast_shapes(t.shape, v.shape)
  except ValueError:
    raise ValueError(f"{fn}: t, node_variance: shapes {t.shape} and {v.shape} do not broadcast") from None
  return jax.lax.population_count(t).astype(jnp.result_type(float)) * v


def node_sums(stream) -> list[Array]:
  """Exact column sums of every used dyadic node: level ``h`` gives ``[T >> h, d]`` (node ``k`` covers rows
  ``k·2^h + 1 .. (k+1)·2^h``, 1-indexed). ``stream: [T, d]`` (or ``[T]``, read as ``d = 1``)."""
  x = check_stream(stream, "node_sums")
  return _node_sums(x)


def _node_sums(x: Array) -> list[Array]:
  T, d = x.shape
  out = []
  for h in range(T.bit_length()):
    n = T >> h
    out.append(x[: n << h].reshape(n, 1 << h, d).sum(axis=1))
  return out


@functools.partial(jax.jit, static_argnames=("T",))
def _prefix_from_nodes(nodes: list[Array], T: int) -> Array:
  """Sum of the ``popcount(t)`` nodes of each ``t = 1..T``: ``[T, d]``. Level ``h`` serves the times
  ``t ∈ [(k+1)·2^h, (k+2)·2^h)`` with node ``k`` when bit ``h`` of ``t`` is set: a repeat and a shift,
  no gather."""
  t = jnp.arange(1, T + 1)
  d = nodes[0].shape[1]
  out = jnp.zeros((T, d), nodes[0].dtype)
  for h, level in enumerate(nodes):
    w = 1 << h
    served = jnp.concatenate([jnp.zeros((w - 1, d), level.dtype), jnp.repeat(level, w, axis=0)])[:T]
    on = ((t >> h) & 1).astype(bool)
    out = out + jnp.where(on[:, None], served, 0)
  return out


def prefix_from_nodes(nodes: list[Array]) -> Array:
  """Prefix sums ``[T, d]`` assembled from (noisy) node values as returned by :func:`node_sums`."""
  fn = "prefix_from_nodes"
  if not isinstance(nodes, (list, tuple)) or not nodes:
    raise TypeError(f"{fn}: nodes: expected a non-empty list of [T >> h, d] arrays, got {type(nodes).__name__}")
  nodes = [jnp.asarray(n) for n in nodes]
  if nodes[0].ndim != 2 or nodes[0].shape[0] < 1 or nodes[0].shape[1] < 1:
    raise ValueError(f"{fn}: nodes[0]: expected shape [T, d] with T, d >= 1, got {nodes[0].shape}")
  T, d = (int(v) for v in nodes[0].shape)
  if len(nodes) != T.bit_length():
    raise ValueError(f"{fn}: nodes: expected {T.bit_length()} levels for T = {T}, got {len(nodes)}")
  dtype = jnp.result_type(*nodes)
  if dtype == jnp.bool_ or not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
    raise TypeError(f"{fn}: nodes: expected real arrays, got dtype {dtype}")
  for h, n in enumerate(nodes):
    if n.shape != (T >> h, d):
      raise ValueError(f"{fn}: nodes[{h}]: expected shape [T >> {h}, d] = [{T >> h}, {d}], got {n.shape}")
  return _prefix_from_nodes(nodes, T)


@functools.partial(jax.jit, static_argnames=("noise",))
def noisy_tree_release(key: Array, x: Array, scale, noise: str) -> tuple[Array, list[Array]]:
  """Package-internal core of the tree mechanism on a validated ``x: [T, d]`` (T a power of two) with noise
  ``scale`` per node: ``(prefix sums [T, d], noisy nodes)`` (level h: ``[T >> h, d]``). No checks."""
  T, d = x.shape
  nodes = _node_sums(x)
  sample = jax.random.laplace if noise == "laplace" else jax.random.normal
  # one draw for all sum(T >> h) <= 2T nodes (a single threefry call compiles much faster than one per level)
  z = scale * sample(key, (sum(n.shape[0] for n in nodes), d), x.dtype)
  starts = np.cumsum([0] + [n.shape[0] for n in nodes])
  noisy = [n + z[a:b] for n, a, b in zip(nodes, starts[:-1], starts[1:])]
  return _prefix_from_nodes(noisy, T), noisy


def tree_prefix_sums(key: Array, stream, scale: float, noise: str = "laplace") -> Array:
  """Binary-tree release of all prefix sums with per-node noise of the given scale (Laplace ``b`` or
  Gaussian ``σ``; a number or a traced scalar): ``stream: [T, d]`` (or ``[T]``) → ``[T, d]``. Causal: row
  ``t`` uses rows ``1..t`` only. Float dtype of the stream (float32 otherwise). The columns' noises are
  independent, so the first ``d'`` columns released with the scale calibrated for ``d'`` columns are
  distributed exactly as the ``d'``-column mechanism."""
  fn = "tree_prefix_sums"
  if noise not in NOISES:
    raise ValueError(f"{fn}: noise: expected one of {NOISES}, got {noise!r}")
  scale = privacy.check_nonneg("scale", scale, fn=fn)
  x = check_stream(stream, fn)
  return noisy_tree_release(key, x, scale, noise)[0]


class TreeRelease(NamedTuple):
  """Everything the tree mechanism publishes: the noisy nodes (level h: ``[T >> h, d]``) and the prefix sums
  ``[T, d]`` assembled from them (post-processing), with the calibration used."""
  prefix: Array
  nodes: list
  calibration: TreeCalibration


def tree_release(key: Array, stream, epsilon: float, delta: float = 0.0, noise: str = "laplace") -> TreeRelease:
  """The binary-tree mechanism, ε-DP (Laplace) or (ε, δ)-DP (Gaussian) for event-level neighbours:
  ``stream: [T, d]`` in ``[0, 1]`` → :class:`TreeRelease`. Affine in the stream given the key (differentiable
  in ``stream`` and, through the calibration, in JAX-scalar ``epsilon``/``delta``)."""
  x = check_stream(stream, "tree_release")
  cal = tree_calibration(x.shape[0], x.shape[1], epsilon, delta, noise)
  prefix, nodes = noisy_tree_release(key, x, cal.scale, noise)
  return TreeRelease(prefix, nodes, cal)


def tree_counter(key: Array, stream, epsilon: float, delta: float = 0.0, noise: str = "laplace") -> Array:
  """Continual counting (per column) with the binary-tree mechanism, ε-DP (Laplace) or (ε, δ)-DP
  (Gaussian) for event-level neighbours: ``stream: [T, d]`` in ``[0, 1]`` → noisy prefix sums ``[T, d]``."""
  return tree_release(key, stream, epsilon, delta, noise).prefix
