"""The Bernoulli stochastic-gradient oracle of the stochastic lower bound.

Y. Arjevani, Y. Carmon, J. C. Duchi, D. J. Foster, N. Srebro, B. Woodworth, "Lower Bounds for Non-Convex
Stochastic Optimization", Mathematical Programming 2023, arXiv:1912.02365, Eq. (9) there; used with quantum
superposition over ξ by C. Zhang and T. Li, "Quantum Lower Bounds for Finding Stationary Points of Nonconvex
Functions", ICML 2023, arXiv:2212.03906:

  g(x; ξ)_i = ∂_i f̄_T(x) · (1 + 1{i = prog_{1/4}(x) + 1} · (ξ/p − 1)),   ξ ~ Bernoulli(p).

It is unbiased, E_ξ g(x; ξ) = ∇f̄_T(x), with Var = ∂_j f̄_T(x)² (1 − p)/p at j = prog_{1/4}(x) + 1 (0 elsewhere),
so E‖g − ∇f̄_T‖² ≤ ‖∇f̄_T‖²_∞ (1 − p)/p. The coordinate j that would extend the chain is revealed only when
ξ = 1: a zero-respecting algorithm discovers a new coordinate with probability at most p per query.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kernels.common.checks import is_concrete
from theory.nonconvex_lower_bounds.chain import check_points, hard_gradient_unchecked, progress_unchecked

ORACLE_THRESHOLD = 0.25  # the α of prog_α in the oracle (Arjevani et al. use 1/4); progress elsewhere uses 1/2


def check_p(p, fn: str = "") -> None:
  """p in (0, 1] when concrete (a Python number or a concrete array); a traced p is not checked."""
  where = f"{fn}: " if fn else ""
  if isinstance(p, bool):
    raise TypeError(f"{where}p: expected a probability in (0, 1], got {p!r}")
  if not is_concrete(p):
    return
  try:
    a = np.asarray(p, np.float64)
  except (TypeError, ValueError) as e:
    raise TypeError(f"{where}p: expected a probability in (0, 1], got {type(p).__name__}") from e
  if a.ndim != 0:
    raise ValueError(f"{where}p: expected a scalar probability, got shape {a.shape}")
  if not 0.0 < float(a) <= 1.0:
    raise ValueError(f"{where}p: expected a probability in (0, 1], got {p}")


def bernoulli_gradient(x: jax.Array, xi: jax.Array, p: float | jax.Array) -> jax.Array:
  """g(x; ξ) for given draws ξ.

  Args:
    x: [..., T] query points (floating).
    xi: [...] Bernoulli draws (bool or 0/1), one per query point; other values raise ValueError when xi is
      concrete (unchecked under jit, where a value v scales the revealed coordinate by v/p).
    p: success probability in (0, 1] (checked when concrete).
  Returns:
    [..., T] stochastic gradients (differentiable in x and p).
  """
  x = check_points(x, "bernoulli_gradient")
  xi = jnp.asarray(xi)
  if xi.shape != x.shape[:-1]:
    raise ValueError(f"bernoulli_gradient: xi: expected shape {x.shape[:-1]} (x's batch dims), got {xi.shape}")
  if is_concrete(xi):
    bad = (np.asarray(xi) != 0) & (np.asarray(xi) != 1)
    if bad.any():
      idx = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"bernoulli_gradient: xi: expected Bernoulli draws 0/1 (or bool), got {np.asarray(xi)[idx]} "
                       f"at index {idx}")
  check_p(p, "bernoulli_gradient")
  return bernoulli_gradient_unchecked(x, xi, p)


def bernoulli_gradient_unchecked(x, xi, p):
  """Package-internal core of :func:`bernoulli_gradient` (no input checks; jit-able)."""
  g = hard_gradient_unchecked(x)
  j = progress_unchecked(x, ORACLE_THRESHOLD)  # 0-based index of coordinate prog + 1
  hit = jnp.arange(x.shape[-1]) == j[..., None]
  factor = jnp.where(hit, xi[..., None].astype(x.dtype) / p, 1.0)
  return g * factor


def stochastic_gradient(key: jax.Array, x: jax.Array, p: float | jax.Array) -> jax.Array:
  """g(x; ξ) with fresh ξ ~ Bernoulli(p), one per query point. x: [..., T] -> [..., T].

  For a fixed key it is differentiable in x (the draws ξ do not depend on x).
  """
  x = check_points(x, "stochastic_gradient")
  check_p(p, "stochastic_gradient")
  xi = jax.random.bernoulli(key, p, x.shape[:-1])
  return bernoulli_gradient_unchecked(x, xi, p)
