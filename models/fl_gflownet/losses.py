"""GFlowNet training objectives of paper 22 (Pan, Malkin, Zhang & Bengio, "Better Training of GFlowNets with
Local Credit and Incomplete Trajectories", ICML 2023, arXiv:2302.01687): TB, DB, SubTB(λ) and the
forward-looking FL-DB and FL-SubTB.

Every loss reads the per-trajectory arrays of :class:`Terms` (``B`` trajectories of at most ``T`` transitions,
``T + 1`` states; padding after the end is masked by ``valid``). The state flow the balance conditions use is

  non-FL:  log F(s) = out(s),            with log F(x) = log R(x) = −E(x) at terminal x;
  FL:      log F(s) = out(s) − E(s),     i.e. out = log F̃, with log F̃(x) = 0 pinned at terminal x

(:func:`state_log_flows`), so FL-DB's residual (Sec. 4 of the paper)

  δ(s→s') = log F̃(s) + log P_F(s'|s) − log F̃(s') − log P_B(s|s') − E(s) + E(s')

is DB's residual with F = F̃ e^{−E} (the identity the tests check), and sees the local energy change
E(s') − E(s) = −log r(s→s'), a credit available on incomplete trajectories. TB has no state flow, hence no FL
form.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

_PKG = "models.fl_gflownet"
LOSSES = ("tb", "db", "subtb", "fl_db", "fl_subtb")


class Terms(NamedTuple):
  """What the losses read, per trajectory (``B`` trajectories, at most ``T`` transitions).

  Attributes:
    log_pf: ``[B, T]`` log P_F(s_{t+1} | s_t).
    log_pb: ``[B, T]`` log P_B(s_t | s_{t+1}).
    log_flow: ``[B, T + 1]`` the network's flow output at s_t (log F, or log F̃ for the FL losses).
    energy: ``[B, T + 1]`` E(s_t).
    terminal: ``[B, T + 1]`` bool, s_t is terminal.
    valid: ``[B, T]`` bool, transition t exists (a prefix of True per row).
  """
  log_pf: jax.Array
  log_pb: jax.Array
  log_flow: jax.Array
  energy: jax.Array
  terminal: jax.Array
  valid: jax.Array


def _check_terms(fn: str, terms) -> Terms:
  if not isinstance(terms, Terms):
    raise TypeError(f"{fn}: terms: expected a Terms, got {type(terms).__name__}")
  t = Terms(*(jnp.asarray(x) for x in terms))
  if t.log_pf.ndim != 2:
    raise ValueError(f"{fn}: terms.log_pf: expected [B, T], got shape {t.log_pf.shape}")
  b, n = t.log_pf.shape
  for name, x, shape in (("log_pb", t.log_pb, (b, n)), ("valid", t.valid, (b, n)),
                         ("log_flow", t.log_flow, (b, n + 1)), ("energy", t.energy, (b, n + 1)),
                         ("terminal", t.terminal, (b, n + 1))):
    if x.shape != shape:
      raise ValueError(f"{fn}: terms.{name}: expected shape {shape} (from log_pf {t.log_pf.shape}), got {x.shape}")
  for name in ("valid", "terminal"):
    if getattr(t, name).dtype != jnp.bool_:
      raise TypeError(f"{fn}: terms.{name}: expected a bool array, got dtype {getattr(t, name).dtype}")
  return t


def _check_fl(fn: str, forward_looking) -> None:
  if not isinstance(forward_looking, bool):
    raise TypeError(f"{fn}: forward_looking: expected a bool, got {forward_looking!r}")


def state_log_flows(terms: Terms, forward_looking: bool = False) -> jax.Array:
  """The state log-flows ``[B, T + 1]`` the balance conditions use (see the module docstring): the network's
  output (non-FL) or output − E (FL), with log F(x) = −E(x) pinned at terminal states in both."""
  fn = f"{_PKG}.state_log_flows"
  t = _check_terms(fn, terms)
  _check_fl(fn, forward_looking)
  return _log_flows(t, forward_looking)


def _log_flows(t: Terms, forward_looking: bool) -> jax.Array:
  e = t.energy
  if forward_looking:
    return jnp.where(t.terminal, 0.0, t.log_flow) - e
  return jnp.where(t.terminal, -e, t.log_flow)


def db_residuals(terms: Terms, forward_looking: bool = False) -> jax.Array:
  """δ_t = log F(s_t) + log P_F(s_{t+1}|s_t) − log F(s_{t+1}) − log P_B(s_t|s_{t+1}): ``[B, T]``, 0 where
  ``valid`` is False. With ``forward_looking`` the flows are F̃ e^{−E} (FL-DB)."""
  fn = f"{_PKG}.db_residuals"
  t = _check_terms(fn, terms)
  _check_fl(fn, forward_looking)
  return _db_residuals(t, forward_looking)


def _db_residuals(t: Terms, forward_looking: bool) -> jax.Array:
  lf = _log_flows(t, forward_looking)
  d = lf[:, :-1] + t.log_pf - lf[:, 1:] - t.log_pb
  return jnp.where(t.valid, d, 0.0)


def db_loss(terms: Terms, forward_looking: bool = False) -> jax.Array:
  """Detailed balance (``forward_looking=False``) or FL-DB: the mean of δ_t² over every valid transition of
  the batch (per-transition averaging, as the official DB code); 0 for an empty batch."""
  fn = f"{_PKG}.db_loss"
  t = _check_terms(fn, terms)
  _check_fl(fn, forward_looking)
  d = _db_residuals(t, forward_looking)
  return jnp.sum(d * d) / jnp.maximum(jnp.sum(t.valid), 1)


def _check_lam(fn: str, lam) -> None:
  if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 < lam <= 1.0:
    raise ValueError(f"{fn}: lam: expected a float in (0, 1], got {lam!r}")


def subtb_loss(terms: Terms, lam: float = 0.9, forward_looking: bool = False) -> jax.Array:
  """SubTB(λ) (Madan et al. 2023) or FL-SubTB: for each trajectory with L >= 1 transitions,
  Σ_{0<=i<j<=L} λ^{j−i} δ_ij² / Σ λ^{j−i}, with δ_ij = log F(s_i) + Σ_{k=i}^{j−1} log P_F − log F(s_j)
  − Σ_{k=i}^{j−1} log P_B; the mean over those trajectories (0 if none)."""
  fn = f"{_PKG}.subtb_loss"
  t = _check_terms(fn, terms)
  _check_lam(fn, lam)
  _check_fl(fn, forward_looking)
  lf = _log_flows(t, forward_looking)
  step = jnp.where(t.valid, t.log_pf - t.log_pb, 0.0)
  c = jnp.concatenate([jnp.zeros_like(step[:, :1]), jnp.cumsum(step, axis=1)], axis=1)   # [B, T+1]
  g = lf - c                                                                               # δ_ij = g_i − g_j
  delta = g[:, :, None] - g[:, None, :]
  n = t.log_pf.shape[1]
  length = jnp.sum(t.valid, axis=1)
  i = jnp.arange(n + 1)
  pair = (i[:, None] < i[None, :])[None] & (i[None, None, :] <= length[:, None, None])
  w = jnp.where(pair, jnp.asarray(lam, lf.dtype) ** (i[None, :] - i[:, None]).astype(lf.dtype)[None], 0.0)
  per = jnp.sum(w * jnp.where(pair, delta * delta, 0.0), axis=(1, 2)) / jnp.maximum(jnp.sum(w, axis=(1, 2)), 1e-30)
  has = length >= 1
  return jnp.sum(jnp.where(has, per, 0.0)) / jnp.maximum(jnp.sum(has), 1)


def tb_loss(terms: Terms, log_z: jax.Array) -> jax.Array:
  """Trajectory balance (Malkin et al. 2022): the mean over **complete** trajectories (the state after the
  last valid transition is terminal) of (log Z + Σ log P_F − log R(x) − Σ log P_B)², log R(x) = −E(x); 0 when
  no trajectory is complete (TB cannot learn from incomplete ones)."""
  fn = f"{_PKG}.tb_loss"
  t = _check_terms(fn, terms)
  log_z = jnp.asarray(log_z)
  if log_z.shape != ():
    raise ValueError(f"{fn}: log_z: expected a scalar, got shape {log_z.shape}")
  return _tb(t, log_z)


def _tb(t: Terms, log_z):
  length = jnp.sum(t.valid, axis=1)
  last = jnp.take_along_axis(t.terminal, length[:, None], axis=1)[:, 0]
  log_r = -jnp.take_along_axis(t.energy, length[:, None], axis=1)[:, 0]
  s = jnp.sum(jnp.where(t.valid, t.log_pf - t.log_pb, 0.0), axis=1)
  d = log_z + s - log_r
  done = last & (length >= 1)
  return jnp.sum(jnp.where(done, d * d, 0.0)) / jnp.maximum(jnp.sum(done), 1)


def gfn_loss(name: str, terms: Terms, log_z: jax.Array | None = None, lam: float = 0.9) -> jax.Array:
  """The loss ``name`` in :data:`LOSSES`: ``"tb"`` (needs ``log_z``), ``"db"``, ``"subtb"`` (λ = ``lam``),
  ``"fl_db"``, ``"fl_subtb"``."""
  fn = f"{_PKG}.gfn_loss"
  if name not in LOSSES:
    raise ValueError(f"{fn}: name: expected one of {LOSSES}, got {name!r}")
  if name == "tb":
    if log_z is None:
      raise ValueError(f"{fn}: log_z: expected a scalar for 'tb', got None")
    return tb_loss(terms, log_z)
  fl = name.startswith("fl_")
  if name.endswith("subtb"):
    return subtb_loss(terms, lam, forward_looking=fl)
  return db_loss(terms, forward_looking=fl)
