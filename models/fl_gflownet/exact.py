"""Exact quantities on an enumerated environment (paper 22's evaluation, made exact): the terminal
distribution P_T of a forward policy by dynamic programming over the DAG, the target R/Z, the exact flows and
forward policy for a given backward policy, and the product-form set target Π r_i / e_k(r).

Tables are indexed like :class:`models.fl_gflownet.envs.Enumeration` (``S`` states, ``A`` actions); the
enumeration itself is host numpy (static under ``jit``), the tables are jnp (float32, or float64 under x64).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from models.fl_gflownet.envs import Enumeration
from models.fl_gflownet.policy import MASK_VALUE

_PKG = "models.fl_gflownet"
NEG = -1e30   # log 0 that keeps logsumexp / logaddexp gradients finite (−inf gives NaN)


def _check_enum(fn: str, enum) -> Enumeration:
  if not isinstance(enum, Enumeration):
    raise TypeError(f"{fn}: enum: expected an Enumeration (env.enumerate()), got {type(enum).__name__}")
  return enum


def _check_table(fn: str, name: str, table, enum: Enumeration) -> jax.Array:
  table = jnp.asarray(table)
  if table.shape != enum.forward_mask.shape:
    raise ValueError(f"{fn}: {name}: expected shape [S, A] = {enum.forward_mask.shape}, got {table.shape}")
  if not jnp.issubdtype(table.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name}: expected a float array, got dtype {table.dtype}")
  return table


def terminal_distribution(log_pf: jax.Array, enum: Enumeration) -> jax.Array:
  """P_T(x) of the forward policy ``log_pf: [S, A]`` for each terminal state (in ``enum`` order, ``[S_term]``):
  the visit probabilities pushed from the initial state through ``num_steps`` levels of the DAG (each state is
  visited at most once per trajectory, so the visit probability of a terminal state is its P_T)."""
  fn = f"{_PKG}.terminal_distribution"
  enum = _check_enum(fn, enum)
  log_pf = _check_table(fn, "log_pf", log_pf, enum)
  s, a = enum.forward_mask.shape
  pf = jnp.where(jnp.asarray(enum.forward_mask), jnp.exp(log_pf), 0.0)
  child = jnp.asarray(enum.child).reshape(-1)
  p0 = jnp.zeros((s + 1,), pf.dtype).at[0].set(1.0)

  def level(_, carry):
    p, visits = carry
    out = (p[:s, None] * pf).reshape(-1)
    nxt = jnp.zeros((s + 1,), pf.dtype).at[child].add(out)
    return nxt, visits + nxt

  _, visits = jax.lax.fori_loop(0, enum.num_steps, level, (p0, p0))
  return visits[:s][np.flatnonzero(enum.terminal)]


def target_distribution(enum: Enumeration, dtype=None) -> jax.Array:
  """R(x)/Z over the terminal states (``[S_term]``, ``enum`` order), R = exp(−E)."""
  enum = _check_enum(f"{_PKG}.target_distribution", enum)
  e = jnp.asarray(enum.energy[enum.terminal], dtype or jnp.float32)
  return jax.nn.softmax(-e)


def l1_distance(p: jax.Array, q: jax.Array) -> jax.Array:
  """Σ_x |p(x) − q(x)| (in [0, 2] for two distributions)."""
  p, q = jnp.asarray(p), jnp.asarray(q)
  if p.shape != q.shape:
    raise ValueError(f"{_PKG}.l1_distance: q: expected the shape of p {p.shape}, got {q.shape}")
  return jnp.sum(jnp.abs(p - q))


def exact_log_flows(log_pb: jax.Array, enum: Enumeration) -> jax.Array:
  """The exact state log-flows ``[S]`` for the backward policy ``log_pb: [S, A]`` (log P_B(s | s') at row s'):
  log F(x) = −E(x) at terminal x and F(s) = Σ_{s'} F(s') P_B(s | s') over the children s' of s (backward
  recursion over ``num_steps`` levels)."""
  fn = f"{_PKG}.exact_log_flows"
  enum = _check_enum(fn, enum)
  log_pb = _check_table(fn, "log_pb", log_pb, enum)
  s, a = enum.forward_mask.shape
  dt = log_pb.dtype
  term = jnp.asarray(enum.terminal)
  log_r = -jnp.asarray(enum.energy, dt)
  fmask = jnp.asarray(enum.forward_mask)
  child = jnp.asarray(np.where(enum.forward_mask, enum.child, 0))
  act = jnp.arange(a)[None, :]
  pb_into = log_pb[child, act]                     # log P_B(s | step(s, a)) by the action a
  neg = jnp.asarray(NEG, dt)

  def sweep(_, lf):
    inflow = jnp.where(fmask, lf[child] + pb_into, neg)
    return jnp.where(term, log_r, jax.scipy.special.logsumexp(inflow, axis=1))

  lf0 = jnp.where(term, log_r, neg)
  return jax.lax.fori_loop(0, enum.num_steps + 1, sweep, lf0)


def exact_forward_policy(log_pb: jax.Array, enum: Enumeration) -> tuple[jax.Array, jax.Array]:
  """The forward policy that, with ``log_pb``, satisfies detailed balance everywhere: returns
  ``(log_pf [S, A], log_flow [S])`` with P_F(s'|s) = F(s') P_B(s|s') / F(s) (invalid actions: −1e9)."""
  fn = f"{_PKG}.exact_forward_policy"
  enum = _check_enum(fn, enum)
  log_pb = _check_table(fn, "log_pb", log_pb, enum)
  lf = exact_log_flows(log_pb, enum)
  a = enum.forward_mask.shape[1]
  child = jnp.asarray(np.where(enum.forward_mask, enum.child, 0))
  lp = lf[child] + log_pb[child, jnp.arange(a)[None, :]] - lf[:, None]
  return jnp.where(jnp.asarray(enum.forward_mask), lp, jnp.asarray(MASK_VALUE, lp.dtype)), lf


def uniform_log_pb(enum: Enumeration, dtype=None) -> jax.Array:
  """log P_B = −log(#parents) over each state's parents (``[S, A]``; −1e9 elsewhere)."""
  enum = _check_enum(f"{_PKG}.uniform_log_pb", enum)
  m = enum.backward_mask
  n = np.maximum(m.sum(1, keepdims=True), 1)
  return jnp.asarray(np.where(m, -np.log(n), MASK_VALUE), dtype or jnp.float32)


def log_elementary_symmetric(log_r: jax.Array, k: int) -> jax.Array:
  """log e_k(r) = log Σ_{|S|=k} Π_{i∈S} r_i from ``log_r: [n]`` (the recursion e_j ← e_j + r_i e_{j−1} in log
  space; exact for any magnitudes)."""
  fn = f"{_PKG}.log_elementary_symmetric"
  log_r = jnp.asarray(log_r)
  if log_r.ndim != 1:
    raise ValueError(f"{fn}: log_r: expected a vector [n], got shape {log_r.shape}")
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= log_r.shape[0]:
    raise ValueError(f"{fn}: k: expected an int in [0, n = {log_r.shape[0]}] (|S| <= |U|), got {k!r}")
  dt = jnp.promote_types(log_r.dtype, jnp.float32)
  e0 = jnp.full((k + 1,), NEG, dt).at[0].set(0.0)

  def add(e, lr):
    shifted = jnp.concatenate([jnp.full((1,), NEG, dt), e[:-1] + lr])
    return jnp.logaddexp(e, shifted), None

  e, _ = jax.lax.scan(add, e0, log_r.astype(dt))
  return e[k]


def elementary_symmetric(r, k: int) -> jax.Array:
  """e_k(r) = Σ_{|S|=k} Π_{i∈S} r_i for rewards ``r: [n]`` (all > 0)."""
  fn = f"{_PKG}.elementary_symmetric"
  r = jnp.asarray(r)
  if r.ndim != 1:
    raise ValueError(f"{fn}: r: expected a vector [n], got shape {r.shape}")
  if not jnp.issubdtype(r.dtype, jnp.floating):
    r = r.astype(jnp.float32)
  try:
    bad = bool(jnp.any(~(r > 0)))
  except jax.errors.ConcretizationTypeError:
    bad = False
  if bad:
    raise ValueError(f"{fn}: r: expected rewards > 0, got {np.asarray(r)!r}")
  return jnp.exp(log_elementary_symmetric(jnp.log(r), k))


def set_target_probs(energies: jax.Array, states: jax.Array) -> jax.Array:
  """The product-form set target P(S) = Π_{i∈S} r_i / e_k(r), r_i = exp(−e_i), for membership vectors
  ``states: [N, n]`` (0/1) of size k each (``energies: [n]``)."""
  fn = f"{_PKG}.set_target_probs"
  e = jnp.asarray(energies)
  st = np.asarray(states)
  if e.ndim != 1 or st.ndim != 2 or st.shape[1] != e.shape[0]:
    raise ValueError(f"{fn}: states: expected [N, n = {e.shape[0] if e.ndim == 1 else '?'}], got {st.shape}")
  sizes = st.sum(1)
  if sizes.size == 0 or not np.all(sizes == sizes[0]):
    raise ValueError(f"{fn}: states: expected non-empty sets of one size k, got sizes {np.unique(sizes)}")
  dt = jnp.promote_types(e.dtype, jnp.float32)
  log_r = -e.astype(dt)
  return jnp.exp(jnp.asarray(st, dt) @ log_r - log_elementary_symmetric(log_r, int(sizes[0])))
