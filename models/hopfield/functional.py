"""Modern (continuous) Hopfield network: energy, update and iteration as pure functions.

Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021, arXiv:2008.02217.

The paper writes patterns as the columns of X in R^{d x N}; here patterns are *rows* (batch-first), so a
set of stored patterns is ``stored: [..., N, D]`` and a set of state (query) patterns is
``state: [..., Q, D]``. With ``s = β ξ Xᵀ`` (one row of scores per query):

* Eq. (2), energy: ``E(ξ) = -β⁻¹ lse(β, Xᵀξ) + ½ ξᵀξ + β⁻¹ log N + ½ M²``, ``M = max_i ‖x_i‖``
  -> :func:`energy`.
* Eq. (3), update: ``ξ_new = X softmax(β Xᵀ ξ)`` (rows: ``softmax(β ξ Xᵀ) X``) -> :func:`hopfield_update`;
  the softmax weights alone (the "association" / attention matrix) -> :func:`association`.
* The update is a concave-convex procedure (CCCP) step on E, so E never increases along
  :func:`iterate` / :func:`iterate_scan` / :func:`energy_trajectory`.

Masking: ``mask: [..., N]`` bool, ``True`` = keep. A masked pattern gets exactly zero weight and does
not enter the energy (N counts unmasked patterns, M is taken over unmasked patterns). A query whose
patterns are *all* masked gets all-zero weights, so its update is the zero vector (never NaN); its
energy is undefined and returned as NaN.

Dtypes: scores are formed in the promoted input dtype, then softmax / logsumexp / norms run in float32
(float64 when an input is float64, e.g. under a scoped ``jax.enable_x64(True)``). Read-outs return the
promoted input dtype, at least float32 (integer patterns, e.g. ±1 ints, are promoted to float32).

Inputs: every function raises ``ValueError`` / ``TypeError`` naming the argument for a rank below 2, a
feature-dim or batch mismatch, an empty stored set (``N = 0``: there is nothing to retrieve; an all-masked
row is the runtime way to express an empty set, with the results above), a mask of the wrong shape or
dtype, or a bad β. β must be a real scalar, finite, ``β >= 0`` for :func:`association`,
:func:`hopfield_update`, :func:`iterate`, :func:`iterate_scan` (β = 0 averages the patterns) and
``β > 0`` for :func:`energy` / :func:`energy_trajectory` (Eq. (2) divides by β). A concrete β is checked
at once; a traced β (under ``jit``) gets a ``checkify`` debug check, and an unchecked call with an
invalid β returns NaN in every output entry (never a finite wrong value).
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import checkify

from kernels.common.checks import is_concrete

Array = jax.Array
ArrayLike = Any

__all__ = [
    "association",
    "energy",
    "energy_trajectory",
    "hopfield_update",
    "iterate",
    "iterate_scan",
]


# ---------------------------------------------------------------------------------------------------
# Validation and dtype helpers.


def _acc_dtype(*xs: ArrayLike) -> jnp.dtype:
  """float32, or float64 when an input is float64: the dtype of softmax / lse / norms."""
  return jnp.promote_types(jnp.result_type(*xs), jnp.float32)


def _check_beta(fn: str, beta: ArrayLike, positive: bool) -> None:
  """β: a real scalar, finite, >= 0 (``positive``: > 0). Concrete: ValueError; traced: a debug check."""
  if isinstance(beta, bool) or jnp.result_type(beta) == jnp.bool_ or \
      jnp.issubdtype(jnp.result_type(beta), jnp.complexfloating):
    raise TypeError(f"{fn}: beta: expected a real scalar, got {jnp.result_type(beta)} {beta!r}")
  if jnp.ndim(beta) != 0:
    raise ValueError(f"{fn}: beta: expected a scalar, got shape {tuple(jnp.shape(beta))}")
  what = "a finite number > 0" if positive else "a finite number >= 0"
  if is_concrete(beta):
    b = float(np.asarray(beta))
    if not (np.isfinite(b) and (b > 0 if positive else b >= 0)):
      raise ValueError(f"{fn}: beta: expected {what} (inverse temperature), got {b!r}")
  else:
    checkify.debug_check(_beta_ok(beta, positive), f"{fn}: beta: expected {what}, got {{b}}", b=beta)


def _beta_ok(beta: ArrayLike, positive: bool) -> Array:
  b = jnp.asarray(beta)
  return jnp.isfinite(b) & ((b > 0) if positive else (b >= 0))


def _guard_beta(beta: ArrayLike, acc: jnp.dtype, positive: bool) -> Array:
  """β in ``acc``, NaN when invalid (reachable only with a traced β): every output is then NaN."""
  b = jnp.asarray(beta, acc)
  if is_concrete(beta):
    return b
  return jnp.where(_beta_ok(b, positive), b, jnp.asarray(jnp.nan, acc))


def _check(fn: str, state: ArrayLike, stored: ArrayLike, beta: ArrayLike,
           mask: ArrayLike | None, positive_beta: bool = False) -> None:
  """Raises ValueError / TypeError naming the offending argument of ``fn``."""
  s_shape, x_shape = jnp.shape(state), jnp.shape(stored)
  for name, x in (("state", state), ("stored", stored)):
    dt = jnp.result_type(x)
    if dt == jnp.bool_ or not jnp.issubdtype(dt, jnp.number) or jnp.issubdtype(dt, jnp.complexfloating):
      raise TypeError(f"{fn}: {name}: expected real (floating or integer) patterns, got dtype {dt}")
  if len(s_shape) < 2:
    raise ValueError(f"{fn}: state: expected rank >= 2 [..., Q, D], got shape {tuple(s_shape)}")
  if len(x_shape) < 2:
    raise ValueError(f"{fn}: stored: expected rank >= 2 [..., N, D], got shape {tuple(x_shape)}")
  if x_shape[-2] == 0:
    raise ValueError(f"{fn}: stored: expected at least one stored pattern (N >= 1), got shape "
                     f"{tuple(x_shape)}; mask every pattern of a row instead to express an empty set")
  if s_shape[-1] != x_shape[-1]:
    raise ValueError(f"{fn}: stored: expected feature dim D={s_shape[-1]} (from state), "
                     f"got shape {tuple(x_shape)}")
  try:
    jnp.broadcast_shapes(s_shape[:-2], x_shape[:-2])
  except ValueError:
    raise ValueError(f"{fn}: stored: expected batch dims broadcastable with state's "
                     f"{tuple(s_shape[:-2])}, got shape {tuple(x_shape)}") from None
  _check_beta(fn, beta, positive_beta)
  if mask is not None:
    if tuple(jnp.shape(mask)) != tuple(x_shape[:-1]):
      raise ValueError(f"{fn}: mask: expected shape {tuple(x_shape[:-1])} [..., N] (stored "
                       f"without its feature dim), got shape {tuple(jnp.shape(mask))}")
    if jnp.result_type(mask) != jnp.bool_:
      raise TypeError(f"{fn}: mask: expected dtype bool (True = keep), got {jnp.result_type(mask)}")


def _check_steps(fn: str, max_steps: int, eps: float) -> None:
  if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 0:
    raise ValueError(f"{fn}: max_steps: expected a Python int >= 0, got {max_steps!r}")
  if isinstance(eps, (int, float)) and not eps >= 0:
    raise ValueError(f"{fn}: eps: expected a number >= 0, got {eps!r}")


def _scores(state: Array, stored: Array, beta: ArrayLike) -> Array:
  """``β ξ Xᵀ``: [..., Q, N] in the accumulation dtype (all NaN for an invalid traced β)."""
  acc = _acc_dtype(state, stored)
  dot = jnp.einsum("...qd,...nd->...qn", state, stored)
  return dot.astype(acc) * _guard_beta(beta, acc, positive=False)


# ---------------------------------------------------------------------------------------------------
# Update, association, energy.


def _association(state: Array, stored: Array, beta: ArrayLike, mask: Array | None) -> Array:
  s = _scores(state, stored, beta)
  if mask is None:
    return jax.nn.softmax(s, axis=-1)
  keep = mask[..., None, :]
  # A finite "minus infinity": all-masked rows become uniform (not NaN) before being zeroed below.
  s = jnp.where(keep, s, jnp.finfo(s.dtype).min)
  p = jax.nn.softmax(s, axis=-1)
  return jnp.where(keep, p, jnp.zeros((), p.dtype))


def association(state: ArrayLike, stored: ArrayLike, beta: ArrayLike,
                mask: ArrayLike | None = None) -> Array:
  """Association (attention) weights ``p = softmax(β ξ Xᵀ)`` of each query over the stored patterns.

  Args:
    state: ``[..., Q, D]`` state (query) patterns ξ, one per row.
    stored: ``[..., N, D]`` stored patterns X, one per row (batch dims broadcast with ``state``'s).
    beta: scalar inverse temperature β, finite, >= 0.
    mask: ``[..., N]`` bool, ``True`` = pattern present; masked patterns get exactly zero weight.

  Returns:
    ``[..., Q, N]`` weights in float32 (float64 for float64 inputs); rows sum to 1, or are all zero when
    every pattern of the row is masked.
  """
  _check("association", state, stored, beta, mask)
  return _association(jnp.asarray(state), jnp.asarray(stored), beta,
                      None if mask is None else jnp.asarray(mask))


def _update(state: Array, stored: Array, beta: ArrayLike, mask: Array | None) -> Array:
  dtype = _acc_dtype(state, stored) if not jnp.issubdtype(jnp.result_type(state, stored), jnp.inexact) \
      else jnp.result_type(state, stored)
  p = _association(state, stored, beta, mask)
  return jnp.einsum("...qn,...nd->...qd", p.astype(dtype), stored.astype(dtype))


def hopfield_update(state: ArrayLike, stored: ArrayLike, beta: ArrayLike,
                    mask: ArrayLike | None = None) -> Array:
  """One Hopfield update, paper Eq. (3): ``ξ_new = softmax(β ξ Xᵀ) X`` (rows).

  Args:
    state: ``[..., Q, D]`` state patterns ξ.
    stored: ``[..., N, D]`` stored patterns X.
    beta: scalar inverse temperature β, finite, >= 0 (β = 0 gives the mean of the unmasked patterns).
    mask: ``[..., N]`` bool, ``True`` = keep. A query with every pattern masked maps to zeros.

  Returns:
    ``[..., Q, D]`` updated states, in the promoted dtype of ``state`` and ``stored``.
  """
  _check("hopfield_update", state, stored, beta, mask)
  return _update(jnp.asarray(state), jnp.asarray(stored), beta,
                 None if mask is None else jnp.asarray(mask))


def _energy(state: Array, stored: Array, beta: ArrayLike, mask: Array | None) -> Array:
  acc = _acc_dtype(state, stored)
  xi, x = state.astype(acc), stored.astype(acc)
  b = _guard_beta(beta, acc, positive=True)
  s = jnp.einsum("...qd,...nd->...qn", xi, x) * b
  norms2 = jnp.sum(x * x, axis=-1)  # [..., N]
  if mask is None:
    lse = jax.nn.logsumexp(s, axis=-1)
    count = jnp.asarray(x.shape[-2], acc)
    m2 = jnp.max(norms2, axis=-1)
  else:
    keep = mask[..., None, :]
    lse = jax.nn.logsumexp(jnp.where(keep, s, -jnp.inf), axis=-1)
    count = jnp.sum(mask, axis=-1).astype(acc)
    m2 = jnp.max(jnp.where(mask, norms2, jnp.zeros((), acc)), axis=-1)
  safe_count = jnp.maximum(count, 1)
  e = (-lse / b + 0.5 * jnp.sum(xi * xi, axis=-1)
       + (jnp.log(safe_count) / b)[..., None] + 0.5 * m2[..., None])
  return jnp.where((count > 0)[..., None], e, jnp.asarray(jnp.nan, acc))


def energy(state: ArrayLike, stored: ArrayLike, beta: ArrayLike,
           mask: ArrayLike | None = None) -> Array:
  """Modern Hopfield energy, paper Eq. (2), of each state pattern.

  ``E(ξ) = -β⁻¹ log Σ_i exp(β x_iᵀξ) + ½ ξᵀξ + β⁻¹ log N + ½ M²`` with ``M = max_i ‖x_i‖``; sums, N and
  M run over unmasked patterns only. With these constants ``E(ξ) >= ½(‖ξ‖ − M)² >= 0`` for β > 0, and E
  never increases under :func:`hopfield_update`.

  Args:
    state: ``[..., Q, D]`` state patterns ξ.
    stored: ``[..., N, D]`` stored patterns X.
    beta: scalar β, finite, > 0.
    mask: ``[..., N]`` bool, ``True`` = keep.

  Returns:
    ``[..., Q]`` energies in float32 (float64 for float64 inputs); NaN where every pattern is masked.
  """
  _check("energy", state, stored, beta, mask, positive_beta=True)
  return _energy(jnp.asarray(state), jnp.asarray(stored), beta,
                 None if mask is None else jnp.asarray(mask))


# ---------------------------------------------------------------------------------------------------
# Iterated updates.


def _iter_init(state: Array, stored: Array) -> tuple[Array, Array, Array]:
  dtype = jnp.result_type(state, stored)
  if not jnp.issubdtype(dtype, jnp.inexact):
    dtype = _acc_dtype(dtype)
  shape = jnp.broadcast_shapes(state.shape[:-2], stored.shape[:-2]) + state.shape[-2:]
  state = jnp.broadcast_to(state.astype(dtype), shape)
  active = jnp.ones(shape[:-1], jnp.bool_)
  steps = jnp.zeros(shape[:-1], jnp.int32)
  return state, active, steps


def _iter_step(state: Array, active: Array, steps: Array, stored: Array, beta: ArrayLike,
               eps: ArrayLike, mask: Array | None) -> tuple[Array, Array, Array]:
  """One update of the still-active queries; a query stops once ‖ξ_new − ξ‖ < eps."""
  new = _update(state, stored, beta, mask)
  diff = lax.stop_gradient(new - state).astype(_acc_dtype(new))
  dist2 = jnp.sum(diff * diff, axis=-1)
  eps = jnp.asarray(eps, dist2.dtype)
  state = jnp.where(active[..., None], new, state)
  steps = steps + active.astype(jnp.int32)
  active = active & (dist2 >= eps * eps)
  return state, active, steps


def iterate(state: ArrayLike, stored: ArrayLike, beta: ArrayLike, *, max_steps: int,
            eps: float = 1e-4, mask: ArrayLike | None = None) -> tuple[Array, Array]:
  """Repeats :func:`hopfield_update` until convergence, with an early-exit ``lax.while_loop``.

  Each query is updated until its own update moves it by less than ``eps`` (‖ξ_new − ξ‖₂ < eps; that
  last, small update is kept) and is frozen afterwards, so a query's result does not depend on the other
  queries in the batch. The loop ends when every query has stopped or after ``max_steps`` updates.
  ``eps = 0`` gives exactly ``max_steps`` updates. Differentiable in both modes: ``while_loop`` has no
  reverse-mode derivative of its own, so the derivative (a ``custom_jvp``) is that of
  :func:`iterate_scan`, which gives the same values; the fixed-length scan then runs only when
  differentiating.

  Args:
    state: ``[..., Q, D]`` initial state patterns ξ₀.
    stored: ``[..., N, D]`` stored patterns X.
    beta: scalar β, finite, >= 0.
    max_steps: Python int >= 0, the most updates per query.
    eps: stopping tolerance on the Euclidean norm of an update's step.
    mask: ``[..., N]`` bool, ``True`` = keep.

  Returns:
    ``(state, num_steps)``: ``state: [..., Q, D]`` final states (batch dims broadcast) and
    ``num_steps: [..., Q]`` int32, the number of updates applied to each query.
  """
  _check("iterate", state, stored, beta, mask)
  _check_steps("iterate", max_steps, eps)
  mask = None if mask is None else jnp.asarray(mask)
  return _iterate(jnp.asarray(state), jnp.asarray(stored), beta, eps, mask, max_steps)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _iterate(state: Array, stored: Array, beta: ArrayLike, eps: ArrayLike, mask: Array | None,
             max_steps: int) -> tuple[Array, Array]:
  """The early-exit loop of :func:`iterate` (its derivative: :func:`_iterate_jvp`)."""
  state, active, steps = _iter_init(state, stored)

  def cond(carry):
    i, _, active, _ = carry
    return (i < max_steps) & jnp.any(active)

  def body(carry):
    i, state, active, steps = carry
    state, active, steps = _iter_step(state, active, steps, stored, beta, eps, mask)
    return i + 1, state, active, steps

  _, state, _, steps = lax.while_loop(cond, body, (jnp.int32(0), state, active, steps))
  return state, steps


@_iterate.defjvp
def _iterate_jvp(max_steps, primals, tangents):
  """The JVP of the fixed-length scan, which has the same values as the loop and is transposable."""
  def scan(state, stored, beta, eps, mask):
    out, steps, _ = _scan_iterate(state, stored, beta, max_steps, eps, mask, with_energy=False)
    return out, steps

  return jax.jvp(scan, primals, tangents)


def _scan_iterate(state: Array, stored: Array, beta: ArrayLike, max_steps: int, eps: ArrayLike,
                  mask: Array | None, with_energy: bool) -> tuple[Array, Array, Array | None]:
  """Fixed-length scan of :func:`_iter_step`; optionally the energies ``[max_steps + 1, ..., Q]``."""
  state, active, steps = _iter_init(state, stored)
  e0 = _energy(state, stored, beta, mask) if with_energy else None

  def body(carry, _):
    state, active, steps = _iter_step(*carry, stored, beta, eps, mask)
    e = _energy(state, stored, beta, mask) if with_energy else None
    return (state, active, steps), e

  (state, _, steps), es = lax.scan(body, (state, active, steps), None, length=max_steps)
  if with_energy:
    es = jnp.concatenate([e0[None], es], axis=0)
  return state, steps, es


def iterate_scan(state: ArrayLike, stored: ArrayLike, beta: ArrayLike, *, max_steps: int,
                 eps: float = 1e-4, mask: ArrayLike | None = None) -> tuple[Array, Array]:
  """:func:`iterate` as a fixed-length ``lax.scan``: same results, reverse-mode differentiable.

  Runs ``max_steps`` scan steps; queries that already stopped are left unchanged (their step counts
  stop growing). The stopping test is under ``stop_gradient``.

  Args / Returns: as :func:`iterate`.
  """
  _check("iterate_scan", state, stored, beta, mask)
  _check_steps("iterate_scan", max_steps, eps)
  state, steps, _ = _scan_iterate(jnp.asarray(state), jnp.asarray(stored), beta, max_steps, eps,
                                  None if mask is None else jnp.asarray(mask), with_energy=False)
  return state, steps


def energy_trajectory(state: ArrayLike, stored: ArrayLike, beta: ArrayLike, *, num_steps: int,
                      mask: ArrayLike | None = None) -> tuple[Array, Array]:
  """Energies along ``num_steps`` plain updates (no early stop): the CCCP descent of Eq. (2).

  Args:
    state: ``[..., Q, D]`` initial states ξ₀.
    stored: ``[..., N, D]`` stored patterns X.
    beta: scalar β, finite, > 0.
    num_steps: Python int >= 0.
    mask: ``[..., N]`` bool, ``True`` = keep.

  Returns:
    ``(states, energies)``: ``states: [num_steps + 1, ..., Q, D]`` (ξ₀ .. ξ_T) and
    ``energies: [num_steps + 1, ..., Q]`` (E(ξ₀) .. E(ξ_T)), non-increasing in the first axis.
  """
  _check("energy_trajectory", state, stored, beta, mask, positive_beta=True)
  _check_steps("energy_trajectory", num_steps, 0.0)
  stored = jnp.asarray(stored)
  mask = None if mask is None else jnp.asarray(mask)
  state0, _, _ = _iter_init(jnp.asarray(state), stored)

  def body(xi, _):
    new = _update(xi, stored, beta, mask)
    return new, new

  _, xs = lax.scan(body, state0, None, length=num_steps)
  states = jnp.concatenate([state0[None], xs], axis=0)
  energies = _energy(states, stored, beta, mask)
  return states, energies
