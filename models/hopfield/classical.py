"""Classical binary Hopfield network (Hopfield 1982): the capacity baseline for modern Hopfield nets.

J. J. Hopfield, "Neural networks and physical systems with emergent collective computational
abilities", PNAS 79(8), 1982. Used as the baseline of Ramsauer et al., "Hopfield Networks is All You
Need", ICLR 2021, arXiv:2008.02217 (their Sec. 2 recalls it: capacity ~0.14 d for random patterns).

* Hebbian storage: ``W = (1/d) Σ_μ x_μ x_μᵀ`` with zero diagonal, patterns ``x_μ ∈ {±1}^d`` as rows
  of ``patterns: [N, d]`` -> :func:`hebbian_weights`.
* Energy: ``E(s) = −½ sᵀ W s`` -> :func:`energy`.
* Asynchronous dynamics: units are visited one at a time in a fresh random order each sweep,
  ``s_i ← sign(Σ_j W_ij s_j)``, a zero field keeps ``s_i``. With symmetric W and zero diagonal every
  flip lowers E by ``2|h_i|`` > 0, so recall ends in a local minimum of E (no single flip lowers it)
  -> :func:`async_sweep` (one sweep), :func:`recall` (until a sweep changes nothing).

Everything is jit-compatible (``lax.fori_loop`` / ``lax.while_loop``) and vmappable over queries;
randomness comes from an explicit key only. The sign dynamics (:func:`async_sweep`, :func:`recall`) are
piecewise constant in the weights and the state: differentiating them raises ``TypeError`` instead of
returning a zero gradient. :func:`hebbian_weights`, :func:`energy` and :func:`overlaps` are polynomials
and differentiate normally.

Ties: with the 1/d scaling the Hebbian entries ``k/d`` are rounded, so a field that is exactly 0 in real
arithmetic may come out as ±1e-8. Fields with ``|h_i| <= tie_rtol · Σ_j |W_ij|`` are therefore treated as
ties. For Hebbian weights the smallest nonzero field is ``1/d >= Σ_j |W_ij| / (N d)``, so no real
decision is mistaken for a tie while ``N · d < 1 / tie_rtol`` (10^6 for float32 weights by default).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from kernels.common.checks import no_grad

Array = jax.Array
ArrayLike = Any

__all__ = ["async_sweep", "energy", "hebbian_weights", "overlaps", "recall"]


def _default_rtol(dtype: Any) -> float:
  return 1e-12 if jnp.dtype(dtype) == jnp.float64 else 1e-6


def _check_weights(fn: str, weights: ArrayLike) -> int:
  shape = tuple(jnp.shape(weights))
  if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
    raise ValueError(f"{fn}: weights: expected a square matrix [d, d] with d >= 1, got shape {shape}")
  _check_real(fn, "weights", weights)
  return shape[0]


def _check_real(fn: str, name: str, x: ArrayLike) -> None:
  dt = jnp.result_type(x)
  if dt == jnp.bool_ or not jnp.issubdtype(dt, jnp.number) or jnp.issubdtype(dt, jnp.complexfloating):
    raise TypeError(f"{fn}: {name}: expected real values, got dtype {dt}")


def _check_patterns(fn: str, patterns: ArrayLike) -> tuple[int, int]:
  shape = tuple(jnp.shape(patterns))
  if len(shape) != 2:
    raise ValueError(f"{fn}: patterns: expected rank 2 [N, d], got shape {shape}")
  if shape[1] == 0:
    raise ValueError(f"{fn}: patterns: expected d >= 1 units (the scaling is 1/d), got shape {shape}")
  _check_real(fn, "patterns", patterns)
  return shape


def _check_tie_rtol(fn: str, tie_rtol) -> None:
  if tie_rtol is None:
    return
  if isinstance(tie_rtol, bool) or not isinstance(tie_rtol, (int, float, np.floating, np.integer)) or \
      not (np.isfinite(tie_rtol) and tie_rtol >= 0):
    raise ValueError(f"{fn}: tie_rtol: expected None or a finite number >= 0, got {tie_rtol!r}")


def _check_state(fn: str, state: ArrayLike, d: int, min_rank: int = 1, source: str = "weights") -> None:
  shape = tuple(jnp.shape(state))
  if len(shape) < min_rank or shape[-1] != d:
    raise ValueError(f"{fn}: state: expected shape [..., {d}] (d from {source}), got shape {shape}")
  _check_real(fn, "state", state)


def hebbian_weights(patterns: ArrayLike, dtype: Any = jnp.float32) -> Array:
  """Hebbian weight matrix ``W = (1/d) Σ_μ x_μ x_μᵀ`` with zero diagonal.

  Args:
    patterns: ``[N, d]`` ±1 patterns, one per row (d >= 1; N = 0 gives the zero matrix).
    dtype: floating dtype of W.

  Returns:
    ``[d, d]`` symmetric weights with zero diagonal.
  """
  shape = _check_patterns("hebbian_weights", patterns)
  if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
    raise TypeError(f"hebbian_weights: dtype: expected a floating dtype, got {jnp.dtype(dtype)}")
  x = jnp.asarray(patterns, dtype)
  d = shape[1]
  w = (x.T @ x) / d
  return w * (1 - jnp.eye(d, dtype=dtype))


def energy(weights: ArrayLike, state: ArrayLike) -> Array:
  """``E(s) = −½ sᵀ W s``.

  Args:
    weights: ``[d, d]``.
    state: ``[..., d]`` ±1 states.

  Returns:
    ``[...]`` energies in the weights' dtype (at least float32).
  """
  d = _check_weights("energy", weights)
  _check_state("energy", state, d)
  w = jnp.asarray(weights)
  dt = jnp.promote_types(w.dtype, jnp.float32)
  s = jnp.asarray(state, dt)
  return -0.5 * jnp.einsum("...i,ij,...j->...", s, w.astype(dt), s)


def overlaps(state: ArrayLike, patterns: ArrayLike) -> Array:
  """Overlaps ``m_μ = x_μ · s / d`` (1 = the pattern, −1 = its negation).

  Args:
    state: ``[..., d]``.
    patterns: ``[N, d]``.

  Returns:
    ``[..., N]`` in float32 (float64 for float64 inputs).
  """
  _check_patterns("overlaps", patterns)
  p = jnp.asarray(patterns)
  _check_state("overlaps", state, p.shape[1], source="patterns")
  dt = jnp.promote_types(jnp.result_type(state, p), jnp.float32)
  return jnp.einsum("...d,nd->...n", jnp.asarray(state, dt), p.astype(dt)) / p.shape[1]


def _sweep(w: Array, s: Array, key: Array, tol: Array) -> tuple[Array, Array]:
  """One asynchronous sweep of a single state ``s: [d]`` in a random unit order."""
  d = s.shape[-1]
  order = jax.random.permutation(key, d)

  def body(j, carry):
    s, changed = carry
    i = order[j]
    h = jnp.dot(w[i], s)
    new = jnp.where(h > tol[i], 1.0, jnp.where(h < -tol[i], -1.0, s[i])).astype(s.dtype)
    return s.at[i].set(new), changed | (new != s[i])

  return lax.fori_loop(0, d, body, (s, jnp.bool_(False)))


def _prepare(weights: ArrayLike, state: ArrayLike, tie_rtol: float | None,
             fn: str) -> tuple[Array, Array, Array]:
  _check_tie_rtol(fn, tie_rtol)
  w = jnp.asarray(weights)
  dt = jnp.promote_types(w.dtype, jnp.float32)
  # sign dynamics: piecewise constant in W and s, so a derivative would be a silent zero
  w = no_grad(w.astype(dt), f"{fn} (sign dynamics) in weights")
  state = no_grad(jnp.asarray(state, dt), f"{fn} (sign dynamics) in state")
  rtol = _default_rtol(dt) if tie_rtol is None else tie_rtol
  tol = rtol * jnp.sum(jnp.abs(w), axis=-1)
  return w, jnp.asarray(state, dt), tol


def async_sweep(weights: ArrayLike, state: ArrayLike, key: Array, *,
                tie_rtol: float | None = None) -> tuple[Array, Array]:
  """One asynchronous sweep: every unit updated once, in a random order drawn from ``key``.

  Args:
    weights: ``[d, d]`` symmetric, zero diagonal.
    state: ``[d]`` ±1 state (vmap for several).
    key: PRNG key for the unit order.
    tie_rtol: fields with ``|h_i| <= tie_rtol Σ_j |W_ij|`` keep ``s_i`` (default 1e-6, 1e-12 for
      float64 weights).

  Returns:
    ``(state, changed)``: the new ``[d]`` state and whether any unit flipped.
  """
  d = _check_weights("async_sweep", weights)
  _check_state("async_sweep", state, d)
  if jnp.ndim(state) != 1:
    raise ValueError(f"async_sweep: state: expected shape [{d}] (vmap for a batch), "
                     f"got shape {tuple(jnp.shape(state))}")
  w, s, tol = _prepare(weights, state, tie_rtol, "async_sweep")
  return _sweep(w, s, key, tol)


def _recall_one(w: Array, s: Array, key: Array, tol: Array, max_sweeps: int) -> tuple[Array, Array]:
  def cond(carry):
    t, _, changed = carry
    return (t < max_sweeps) & changed

  def body(carry):
    t, s, _ = carry
    s, changed = _sweep(w, s, jax.random.fold_in(key, t), tol)
    return t + 1, s, changed

  t, s, _ = lax.while_loop(cond, body, (jnp.int32(0), s, jnp.bool_(True)))
  return s, t


def recall(weights: ArrayLike, state: ArrayLike, key: Array, *, max_sweeps: int = 100,
           tie_rtol: float | None = None) -> tuple[Array, Array]:
  """Asynchronous recall until a sweep changes nothing, or ``max_sweeps`` sweeps.

  Sweep t uses the unit order drawn from ``fold_in(key_q, t)``; for a batch, each query q gets its own
  ``key_q`` from ``split(key, Q)`` (a single ``[d]`` state uses ``key`` itself). The per-query function is
  a ``lax.while_loop`` and vmaps (finished queries stay frozen).

  Args:
    weights: ``[d, d]`` symmetric, zero diagonal (e.g. :func:`hebbian_weights`).
    state: ``[d]`` or ``[..., d]`` ±1 initial states.
    key: PRNG key.
    max_sweeps: Python int >= 0.
    tie_rtol: see :func:`async_sweep`.

  Returns:
    ``(state, sweeps)``: final states, same shape as ``state``, and ``sweeps: [...]`` int32, the number
    of sweeps run (the last being the one that changed nothing, unless ``max_sweeps`` was reached).
  """
  d = _check_weights("recall", weights)
  _check_state("recall", state, d)
  if not isinstance(max_sweeps, int) or isinstance(max_sweeps, bool) or max_sweeps < 0:
    raise ValueError(f"recall: max_sweeps: expected a Python int >= 0, got {max_sweeps!r}")
  w, s, tol = _prepare(weights, state, tie_rtol, "recall")
  if s.ndim == 1:
    return _recall_one(w, s, key, tol, max_sweeps)
  batch = s.shape[:-1]
  flat = s.reshape(-1, d)
  keys = jax.random.split(key, flat.shape[0])
  out, sweeps = jax.vmap(lambda x, k: _recall_one(w, x, k, tol, max_sweeps))(flat, keys)
  return out.reshape(s.shape), sweeps.reshape(batch)
