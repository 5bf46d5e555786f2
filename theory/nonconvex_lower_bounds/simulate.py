"""Algorithms run on the hard instances, with progress measurement (float64, jit, scan / while_loop, vmap).

C. Zhang and T. Li, "Quantum Lower Bounds for Finding Stationary Points of Nonconvex Functions", ICML 2023,
arXiv:2212.03906, prove that quantum queries, like classical ones, reveal the chain of the hard instance
(Carmon et al. 2020, arXiv:1710.11606; Arjevani et al. 2019, arXiv:1912.02365) one link at a time. These
simulations show that mechanism classically:

- `gradient_descent`: GD from 0 with step 1/L on the scaled chain f(x) = (Lλ²/ℓ₁) f̄_T(x/λ) (optionally hidden
  as f(x) = (Lλ²/ℓ₁) f̄_T(Uᵀx/λ)); records the progress prog_{1/2} and the true gradient norm after each query.
- `sgd`: SGD with the Bernoulli oracle (oracle.py), scaled the same way, until ‖∇f‖ ≤ ε; replications by vmap.
- `probe_hitting_times`: the fastest zero-respecting prober with the Bernoulli oracle: it always queries the
  point with the discovered coordinates set to 1, so each query reveals the next coordinate with probability
  exactly p and the number of queries to reveal all T is negative binomial, mean T/p, variance T(1 − p)/p².

All public functions here enter ``jax.enable_x64(True)`` themselves and return float64 numbers.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import check_finite, is_concrete, no_grad
from theory.nonconvex_lower_bounds.chain import (LIPSCHITZ_GRAD, VALUE_GAP_PER_LINK, ScaledChain, check_chain, check_float,
                                                 hard_gradient_unchecked, progress_unchecked)
from theory.nonconvex_lower_bounds.oracle import bernoulli_gradient_unchecked, check_p

ORTHONORMAL_TOL = 1e-4  # max |UᵀU − I| accepted for a concrete u (float32 QR of d = 2000 gives ~1e-6)


def unit_chain(T: int) -> ScaledChain:
  """f̄_T itself as a ScaledChain: λ = 1, scale 1, L = ℓ₁ = 152, ε = 1/2 (so ‖∇f̄_T‖ ≤ 1/2 is ε-stationary)."""
  if isinstance(T, bool) or not (isinstance(T, int) and T >= 1):
    raise ValueError(f"T: expected an integer >= 1, got {T!r}")
  return ScaledChain(T=T, lam=1.0, scale=1.0, delta=VALUE_GAP_PER_LINK * T, lipschitz=LIPSCHITZ_GRAD, eps=0.5)


def _check_u(u, chain, fn):
  """u: [d, T] floating with orthonormal columns (checked to ORTHONORMAL_TOL when concrete); float64."""
  if u is None:
    return None
  u = check_float("u", u, fn)
  if u.ndim != 2 or u.shape[1] != chain.T or u.shape[0] < chain.T:
    raise ValueError(f"{fn}: u: expected [d, {chain.T}] (d x chain.T, d >= T), got {u.shape}")
  u = jnp.asarray(u, jnp.float64)
  if is_concrete(u):
    a = np.asarray(u)
    check_finite(a, "u", fn)
    err = float(np.max(np.abs(a.T @ a - np.eye(a.shape[1]))))
    if not err <= ORTHONORMAL_TOL:
      raise ValueError(f"{fn}: u: expected orthonormal columns (random_orthonormal), got max |UᵀU − I| = {err:.3g} "
                       f"> {ORTHONORMAL_TOL}")
  return u


def _safe_norm(r):
  """‖r‖ with derivative 0 (not NaN) at r = 0 (the off-chain distance is exactly 0 for orthonormal u)."""
  sq = jnp.sum(r * r)
  pos = sq > 0
  return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1.0)), 0.0)


def _geometry(chain: ScaledChain, u):
  """(to_chain, from_chain, dim): y = Uᵀx/λ and the map of a chain-space gradient back to x-space."""
  grad_scale = chain.scale / chain.lam  # ∇f(x) = (scale/λ) U ∇f̄(y) = 2ε U ∇f̄(y)
  if u is None:
    return (lambda x: x / chain.lam), (lambda g: grad_scale * g), chain.T
  return (lambda x: (x @ u) / chain.lam), (lambda g: grad_scale * (u @ g)), u.shape[0]


class GDTrace(NamedTuple):
  """Gradient descent from 0, one row per query k = 0..K (the query at x_k).

  Attributes:
    progress: [K + 1] int32, prog_{1/2}(y_k), y_k = Uᵀx_k/λ the chain coordinates.
    support: [K + 1] int32, max{i : |y_k,i| > 0} (exact zero chain; meaningful only without rotation).
    grad_norm: [K + 1] float64, ‖∇f(x_k)‖.
    off_chain: [K + 1] float64, ‖x_k − U Uᵀ x_k‖ (0 without rotation).
    x_final: [d] float64, x_K.
  """
  progress: jax.Array
  support: jax.Array
  grad_norm: jax.Array
  off_chain: jax.Array
  x_final: jax.Array


@functools.partial(jax.jit, static_argnames=("chain", "num_steps"))
def _gd(chain: ScaledChain, u, num_steps: int) -> GDTrace:
  to_chain, from_chain, dim = _geometry(chain, u)
  step = 1.0 / chain.lipschitz

  def record(x):
    y = to_chain(x)
    g = from_chain(hard_gradient_unchecked(y))
    off = jnp.float64(0.0) if u is None else _safe_norm(x - u @ (u.T @ x))
    return g, (progress_unchecked(y, 0.5), progress_unchecked(y, 0.0), jnp.linalg.norm(g), off)

  def body(x, _):
    g, rec = record(x)
    return x - step * g, rec

  x0 = jnp.zeros((dim,), jnp.float64)
  x_last, recs = jax.lax.scan(body, x0, None, length=num_steps)
  _, last = record(x_last)
  recs = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b[None]]), recs, last)
  return GDTrace(*recs, x_final=x_last)


def gradient_descent(chain: ScaledChain, num_steps: int, u: jax.Array | None = None) -> GDTrace:
  """GD x_{k+1} = x_k − ∇f(x_k)/L from x_0 = 0 on the scaled chain (hidden along u's columns if u is given).

  Args:
    chain: the instance (`scale_chain(Δ, L, ε)` or `unit_chain(T)`).
    num_steps: K ≥ 1 steps.
    u: optional [d, T] orthonormal columns (`random_orthonormal`; ValueError if max |UᵀU − I| > 1e-4).

  Differentiable in u (x_final and grad_norm are smooth in u; progress / support are integers; off_chain
  is a norm that is 0 at orthonormal u, given derivative 0 there).
  """
  check_chain(chain, "gradient_descent")
  if isinstance(num_steps, bool) or not (isinstance(num_steps, int) and num_steps >= 1):
    raise ValueError(f"num_steps: expected an integer >= 1, got {num_steps!r}")
  with jax.enable_x64(True):
    return _gd(chain, _check_u(u, chain, "gradient_descent"), num_steps)


def first_below(grad_norm: jax.Array, level: float) -> int:
  """First index k with grad_norm[k] ≤ level (the number of queries before an ε-stationary one); −1 if none.

  Host-side (numpy): grad_norm is a concrete [K] array of finite values (ValueError on NaN / inf: a
  diverged run is not "never below"); level a finite number. Not differentiable (TypeError on tracers).
  """
  for name, v in (("grad_norm", grad_norm), ("level", level)):
    if not is_concrete(v):
      raise TypeError(f"first_below: {name}: first_below is numpy-based (evaluated on the host) and not "
                      "differentiable (it returns an integer index); got a jax tracer")
  g = np.asarray(grad_norm)
  if g.ndim != 1 or g.size == 0 or not np.issubdtype(g.dtype, np.floating):
    raise ValueError(f"first_below: grad_norm: expected a non-empty 1-D float array, got shape {g.shape} "
                     f"dtype {g.dtype}")
  check_finite(g, "grad_norm", "first_below")
  if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)) \
      or not math.isfinite(level):
    raise ValueError(f"first_below: level: expected a finite number, got {level!r}")
  hits = g <= level
  return int(np.argmax(hits)) if hits.any() else -1


class SGDResult(NamedTuple):
  """SGD with the Bernoulli oracle, one entry per replication.

  Attributes:
    queries: [R] int64, oracle queries made before the first iterate with ‖∇f‖ ≤ ε (max_steps if never).
    reached: [R] bool, whether ‖∇f‖ ≤ ε was reached within max_steps.
    progress: [R] int32, final prog_{1/2} of the chain coordinates.
    mean, se: mean of `queries` and its standard error (over replications).
  """
  queries: jax.Array
  reached: jax.Array
  progress: jax.Array
  mean: jax.Array
  se: jax.Array


@functools.partial(jax.jit, static_argnames=("chain", "num_reps", "max_steps"))
def _sgd(key, chain: ScaledChain, p, u, num_reps: int, max_steps: int) -> SGDResult:
  to_chain, from_chain, dim = _geometry(chain, u)
  step, eps = 1.0 / chain.lipschitz, chain.eps

  def one(k):
    def cond(c):
      _, n, _, done = c
      return jnp.logical_and(~done, n < max_steps)

    def body(c):
      x, n, k, _ = c
      k, sub = jax.random.split(k)
      y = to_chain(x)
      xi = jax.random.bernoulli(sub, p)
      g_true = from_chain(hard_gradient_unchecked(y))
      done = jnp.linalg.norm(g_true) <= eps  # x_n is ε-stationary: stop before querying it
      g = from_chain(bernoulli_gradient_unchecked(y, xi, p))
      x_new = jnp.where(done, x, x - step * g)
      return x_new, n + jnp.where(done, 0, 1), k, done

    x0 = jnp.zeros((dim,), jnp.float64)
    x, n, _, done = jax.lax.while_loop(cond, body, (x0, jnp.int64(0), k, jnp.bool_(False)))
    y = to_chain(x)
    done = jnp.logical_or(done, jnp.linalg.norm(from_chain(hard_gradient_unchecked(y))) <= eps)
    return n, done, progress_unchecked(y, 0.5)

  q, reached, prog = jax.vmap(one)(jax.random.split(key, num_reps))
  qf = q.astype(jnp.float64)
  se = jnp.std(qf, ddof=1) / jnp.sqrt(num_reps) if num_reps > 1 else jnp.float64(0.0)
  return SGDResult(q, reached, prog, jnp.mean(qf), se)


def sgd(key: jax.Array, chain: ScaledChain, p: float, num_reps: int, max_steps: int,
        u: jax.Array | None = None) -> SGDResult:
  """SGD x_{k+1} = x_k − g_k/L from 0, g_k = 2ε·U g(Uᵀx_k/λ; ξ_k), until ‖∇f(x_k)‖ ≤ ε.

  Args:
    key: PRNG key (split into one stream per replication).
    chain: the instance; p: the oracle's Bernoulli probability in (0, 1].
    num_reps: replications R ≥ 1 (vmapped). max_steps: query budget per replication.
    u: optional [d, T] orthonormal columns (ValueError if max |UᵀU − I| > 1e-4).

  The results are query counts (integers, piecewise constant in p and u): differentiating raises TypeError.
  """
  check_chain(chain, "sgd")
  _check_python_p(p, "sgd")
  for name, v in (("num_reps", num_reps), ("max_steps", max_steps)):
    if isinstance(v, bool) or not (isinstance(v, int) and v >= 1):
      raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
  with jax.enable_x64(True):
    u = _check_u(u, chain, "sgd")
    u = None if u is None else no_grad(u, "theory.nonconvex_lower_bounds.sgd")
    return _sgd(key, chain, jnp.float64(p), u, num_reps, max_steps)


def _check_python_p(p, fn: str) -> None:
  if isinstance(p, jax.core.Tracer):
    raise TypeError(f"{fn}: p: expected a Python float; {fn} returns query counts (integers, piecewise constant "
                    "in p), so it is not differentiable; got a jax tracer")
  if isinstance(p, bool) or not isinstance(p, (int, float)):
    raise TypeError(f"{fn}: p: expected a Python float, got {type(p).__name__}")
  check_p(p, fn)


class HittingTimes(NamedTuple):
  """Queries the fastest zero-respecting prober needs to reveal all T coordinates.

  Attributes:
    times: [R] int64 (max_queries where not finished). reached: [R] bool.
    mean, se: sample mean and its standard error. expected: T/p, the negative-binomial mean.
  """
  times: jax.Array
  reached: jax.Array
  mean: jax.Array
  se: jax.Array
  expected: float


@functools.partial(jax.jit, static_argnames=("T", "num_reps", "max_queries"))
def _probe(key, T: int, p, num_reps: int, max_queries: int):
  def one(k):
    def cond(c):
      s, n, _ = c
      return jnp.logical_and(s < T, n < max_queries)

    def body(c):
      s, n, k = c
      k, sub = jax.random.split(k)
      x = jnp.where(jnp.arange(T) < s, 1.0, 0.0).astype(jnp.float64)  # discovered coordinates at 1
      xi = jax.random.bernoulli(sub, p)
      g = bernoulli_gradient_unchecked(x, xi, p)
      revealed = g[jnp.minimum(s, T - 1)] != 0.0  # is coordinate s + 1 visible in this answer?
      return s + revealed.astype(s.dtype), n + 1, k

    s, n, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), jnp.int64(0), k))
    return n, s == T

  times, reached = jax.vmap(one)(jax.random.split(key, num_reps))
  tf = times.astype(jnp.float64)
  se = jnp.std(tf, ddof=1) / jnp.sqrt(num_reps) if num_reps > 1 else jnp.float64(0.0)
  return times, reached, jnp.mean(tf), se


def probe_hitting_times(key: jax.Array, T: int, p: float, num_reps: int, max_queries: int) -> HittingTimes:
  """Replications of the greedy zero-respecting prober on f̄_T with the Bernoulli oracle (see module doc).

  Hitting times are integers: differentiating in p raises TypeError.
  """
  if isinstance(T, bool) or not (isinstance(T, int) and T >= 1):
    raise ValueError(f"T: expected an integer >= 1, got {T!r}")
  _check_python_p(p, "probe_hitting_times")
  for name, v in (("num_reps", num_reps), ("max_queries", max_queries)):
    if isinstance(v, bool) or not (isinstance(v, int) and v >= 1):
      raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
  with jax.enable_x64(True):
    times, reached, mean, se = _probe(key, T, jnp.float64(p), num_reps, max_queries)
  return HittingTimes(times, reached, mean, se, expected=T / p)


def stochastic_chain_probability(eps: float, sigma: float) -> float:
  """p = min(1, (2ε·23)²/σ²): the largest p whose oracle, scaled by 2ε, has variance ≤ σ² (23 = ‖∇f̄_T‖_∞ bound).

  A host-side Python float (it is the p of `sgd`, a Python number): not differentiable (TypeError on tracers).
  """
  for name, v in (("eps", eps), ("sigma", sigma)):
    if isinstance(v, jax.core.Tracer):
      raise TypeError(f"stochastic_chain_probability: {name}: a host-side closed form on Python numbers (it sets "
                      "sgd's p), not differentiable; got a jax tracer")
    if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
      raise ValueError(f"{name}: expected a finite number > 0, got {v!r}")
  from theory.nonconvex_lower_bounds.chain import GRAD_INF_BOUND
  return min(1.0, (2.0 * eps * GRAD_INF_BOUND / sigma) ** 2)
