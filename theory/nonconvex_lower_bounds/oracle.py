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

from theory.nonconvex_lower_bounds.chain import _check_float, _hard_gradient, _progress

ORACLE_THRESHOLD = 0.25  # the α of prog_α in the oracle (Arjevani et al. use 1/4); progress elsewhere uses 1/2


def _check_p(p) -> None:
  if isinstance(p, (int, float)) and not 0.0 < p <= 1.0:
    raise ValueError(f"p: expected a probability in (0, 1], got {p}")


def bernoulli_gradient(x: jax.Array, xi: jax.Array, p: float | jax.Array) -> jax.Array:
  """g(x; ξ) for given draws ξ.

  Args:
    x: [..., T] query points (floating).
    xi: [...] Bernoulli draws (bool or 0/1), one per query point.
    p: success probability in (0, 1].
  Returns:
    [..., T] stochastic gradients.
  """
  x = _check_float("x", x)
  xi = jnp.asarray(xi)
  if xi.shape != x.shape[:-1]:
    raise ValueError(f"xi: expected shape {x.shape[:-1]} (x's batch dims), got {xi.shape}")
  _check_p(p)
  return _bernoulli_gradient(x, xi, p)


def _bernoulli_gradient(x, xi, p):
  g = _hard_gradient(x)
  j = _progress(x, ORACLE_THRESHOLD)  # 0-based index of coordinate prog + 1
  hit = jnp.arange(x.shape[-1]) == j[..., None]
  factor = jnp.where(hit, xi[..., None].astype(x.dtype) / p, 1.0)
  return g * factor


def stochastic_gradient(key: jax.Array, x: jax.Array, p: float | jax.Array) -> jax.Array:
  """g(x; ξ) with fresh ξ ~ Bernoulli(p), one per query point. x: [..., T] -> [..., T]."""
  x = _check_float("x", x)
  _check_p(p)
  xi = jax.random.bernoulli(key, p, x.shape[:-1])
  return _bernoulli_gradient(x, xi, p)
