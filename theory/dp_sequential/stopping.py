"""Belief-threshold stopping time of the continuous-signal model: Bellman equation, Monte Carlo, asymptotics.

Paper: "Differentially Private Sequential Learning", Yuxin Liu and M. Amin Rahimian (FORC 2025),
arXiv:2502.19525 (the expected-stopping-time theorem of the smooth-randomized-response section).

τ_B = inf{n ≥ 1 : |ℓ_{n+1}| ≥ B}: the number of reports until the public log-likelihood ratio leaves
(−B, B), started at ℓ = 0 (report count, not calendar time). Its conditional mean H(ℓ) = E[τ_B | ℓ, θ]
solves the Bellman equation

    H(ℓ) = 1 + P₊(ℓ)·H(ℓ + Δ₊(ℓ)) + (1 − P₊(ℓ))·H(ℓ + Δ₋(ℓ))   for |ℓ| < B,   H(ℓ) = 0 for |ℓ| ≥ B,

with P₊(ℓ) = P(x = +1 | ℓ, θ) and the increments Δ± of ``theory.dp_sequential.continuous``
(``bellman_stopping_time``: H on a uniform grid of the open interval (−B, B) with linear interpolation
between nodes, solved as one dense linear system in float64 rather than by value iteration).

Large-B asymptotics (the paper's constant; we re-derived it from Y = e^{εσ²ℓ/2}, whose expected increment
tends to the constant K, so E[τ_B] ≈ e^{εσ²B/2}/K by optional stopping):
    K(ε, σ) = C − ½e^{−ε + ε²σ²/2}(1 − e^{−ε²σ²}),   C = (εσ²/4)e^{−ε + ε²σ²/2}(e^{2ε} − 1)
(``asymptotic_stopping_time``, ``stopping_constant``).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from theory.common import privacy
from theory.dp_sequential.continuous import (check_count, check_epsilon, check_sigma, checked_key, flip_prob,
                                             llr_increment, log_p_plus, traced_params)

Array = jax.Array


def _check_threshold(threshold, fn: str):
  """B > 0 finite: a Python float, or a 0-d JAX array (range-checked when concrete)."""
  return privacy.check_positive("threshold", threshold, fn=fn)


def _host_threshold(threshold, fn: str) -> float:
  """B for the solvers whose output jumps with B (grid cells, stopping): a concrete number."""
  if privacy.is_traced(threshold):
    raise TypeError(f"{fn}: threshold: expected a concrete number, got a traced value: {fn} is not "
                    "differentiable (its value jumps where ℓ + Δ± crosses ±B)")
  return float(_check_threshold(threshold, fn))


class BellmanSolution(NamedTuple):
  """Solution of the Bellman equation on the grid.

  grid: [G] float64, interior nodes ℓ_i of (−B, B).
  expected_time: [G] float64, H(ℓ_i) = E[τ_B | ℓ_i].
  at_zero: [] float64, H(0) (linear interpolation; 0 is a node when G is odd).
  grid_error: [] float64, |H_G(0) − H_{G'}(0)|, G' = (G − 1)/2 (every other node, half the resolution):
    a practical size of the discretisation error of ``at_zero``.
  """
  grid: Array
  expected_time: Array
  at_zero: Array
  grid_error: Array


def _solve(nxt: Array, prob: Array, threshold: Array, g: int) -> Array:
  """H on the g interior nodes of a uniform grid of [−B, B] (H(±B) = 0), given the next states
  ``nxt: [2, g]`` after a +1 / −1 report and their probabilities ``prob: [2, g]``."""
  h = 2.0 * threshold / (g + 1)
  pos = jnp.clip((nxt + threshold) / h, 0.0, g + 1.0)
  lo = jnp.clip(jnp.floor(pos).astype(jnp.int32), 0, g)
  w = pos - lo
  coef = jnp.where(jnp.abs(nxt) < threshold, prob, 0.0)     # |ℓ'| ≥ B: stopped, contributes 0
  rows = jnp.broadcast_to(jnp.arange(g), (2, g))
  mat = jnp.zeros((g, g + 2), nxt.dtype).at[rows, lo].add(coef * (1.0 - w)).at[rows, lo + 1].add(coef * w)
  system = jnp.eye(g, dtype=nxt.dtype) - mat[:, 1:-1]   # the boundary columns multiply H(±B) = 0
  return jnp.linalg.solve(system, jnp.ones((g,), nxt.dtype))


@functools.partial(jax.jit, static_argnames=("grid_size",))
def _bellman(threshold: Array, sigma: Array, eps: Array, theta: Array, *, grid_size: int):
  g = grid_size
  grid = jnp.linspace(-threshold, threshold, g + 2)[1:-1]
  p_plus = jnp.exp(log_p_plus(theta + 0.5 * sigma * sigma * grid, sigma, eps))
  prob = jnp.stack([p_plus, 1.0 - p_plus])
  nxt = grid[None] + llr_increment(grid[None], jnp.array([1.0, -1.0], grid.dtype)[:, None], sigma, eps)  # [2, G]
  values = _solve(nxt, prob, threshold, g)
  at_zero = jnp.interp(0.0, grid, values)
  # every other node: the grid with (G − 1)/2 interior nodes and twice the spacing
  coarse = _solve(nxt[:, 1::2], prob[:, 1::2], threshold, (g - 1) // 2)
  return BellmanSolution(grid, values, at_zero, jnp.abs(at_zero - jnp.interp(0.0, grid[1::2], coarse)))


def bellman_stopping_time(threshold: float, sigma: float = 1.0, epsilon: float = math.inf, theta: int = 1,
                          grid_size: int = 1601) -> BellmanSolution:
  """E[τ_B | ℓ] from the Bellman equation on ``grid_size`` interior nodes of (−B, B) (float64, scoped).

  H between nodes is linear, with H(±B) = 0 at the two end nodes; the discretisation error is
  O(B/grid_size) (H jumps where ℓ + Δ± crosses ±B) and is estimated by a second solve at about half the
  resolution (``grid_error``).
  """
  fn = "bellman_stopping_time"
  b = _host_threshold(threshold, fn)
  grid_size = check_count("grid_size", grid_size, 5, fn=fn)
  if grid_size % 2 == 0:
    raise ValueError(f"{fn}: grid_size: expected an odd number of nodes (0 is then a node of both grids), "
                     f"got {grid_size}")
  if grid_size > 6001:
    raise ValueError(f"{fn}: grid_size: expected at most 6001 nodes (a dense [G, G] solve), got {grid_size}")
  with jax.enable_x64(True):
    sigma_, eps_, theta_ = traced_params(sigma, epsilon, theta, fn)
    return _bellman(jnp.float64(b), sigma_, eps_, theta_, grid_size=grid_size)


class StoppingSample(NamedTuple):
  """Monte Carlo stopping times ([paths]).

  time: int32, τ_B (= ``cap`` where censored).
  stopped: bool, |ℓ| reached B within ``cap`` reports (False: censored).
  correct: bool, stopped at ℓ ≥ B when θ = +1 (ℓ ≤ −B when θ = −1).
  """
  time: Array
  stopped: Array
  correct: Array


@functools.partial(jax.jit, static_argnames=("cap",))
def _stopping(keys, threshold, sigma, eps, theta, *, cap: int):
  def one(key):
    def cond(c):
      ell, n = c
      return (jnp.abs(ell) < threshold) & (n < cap)

    def body(c):
      ell, n = c
      kz, ku = jax.random.split(jax.random.fold_in(key, n))
      s = theta + sigma * jax.random.normal(kz, (), jnp.float64)
      t = -0.5 * sigma * sigma * ell
      a = jnp.where(s > t, 1.0, -1.0)
      a = jnp.where(jax.random.uniform(ku, (), jnp.float64) < flip_prob(s - t, eps), -a, a)
      return ell + llr_increment(ell, a, sigma, eps), n + 1

    ell, n = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.float64), jnp.zeros((), jnp.int32)))
    stopped = jnp.abs(ell) >= threshold
    return StoppingSample(n, stopped, stopped & (theta * ell > 0))

  return jax.vmap(one)(keys)


def stopping_times(key: Array, threshold: float, n_paths: int, sigma: float = 1.0, epsilon: float = math.inf,
                   theta: int = 1, cap: int = 100_000) -> StoppingSample:
  """Monte Carlo τ_B over ``n_paths`` paths (``lax.while_loop`` per path, ``vmap`` over paths; float64).

  Paths still inside (−B, B) after ``cap`` reports are censored: report ``stopped.mean()``, not a mean
  over the finished paths.
  """
  fn = "stopping_times"
  b = _host_threshold(threshold, fn)
  n_paths, cap = check_count("n_paths", n_paths, fn=fn), check_count("cap", cap, fn=fn)
  key = checked_key(key, fn)
  with jax.enable_x64(True):
    sigma_, eps_, theta_ = traced_params(sigma, epsilon, theta, fn)
  keys = jax.random.split(key, n_paths)
  with jax.enable_x64(True):
    return _stopping(keys, jnp.float64(b), sigma_, eps_, theta_, cap=cap)


def stopping_constant(epsilon, sigma=1.0):
  """K(ε, σ) = C − ½e^{−ε+ε²σ²/2}(1 − e^{−ε²σ²}), C = (εσ²/4)e^{−ε+ε²σ²/2}(e^{2ε} − 1) (finite ε; Python
  numbers or JAX scalars, smooth in both)."""
  fn = "stopping_constant"
  eps, sigma = check_epsilon(epsilon, fn), check_sigma(sigma, fn)
  if not privacy.is_traced(eps) and math.isinf(float(eps)):
    raise ValueError(f"{fn}: epsilon: the asymptotic constant K needs a finite epsilon, got inf")
  ops = privacy.ops_for(eps, sigma)
  v = eps * eps * sigma * sigma
  base = ops.exp(-eps + 0.5 * v)
  return eps * sigma * sigma / 4.0 * base * ops.expm1(2.0 * eps) + 0.5 * base * ops.expm1(-v)


def asymptotic_stopping_time(threshold, epsilon, sigma=1.0):
  """Large-B approximation E[τ_B] ≈ e^{εσ²B/2}/K(ε, σ)."""
  fn = "asymptotic_stopping_time"
  b = _check_threshold(threshold, fn)
  eps, sig = check_epsilon(epsilon, fn), check_sigma(sigma, fn)
  if not privacy.is_traced(eps) and math.isinf(float(eps)):
    raise ValueError(f"{fn}: epsilon: the asymptotic stopping time needs a finite epsilon, got inf")
  return privacy.ops_for(b, eps, sig).exp(0.5 * eps * sig ** 2 * b) / stopping_constant(eps, sig)


__all__ = ["BellmanSolution", "StoppingSample", "asymptotic_stopping_time", "bellman_stopping_time",
           "stopping_constant", "stopping_times"]
