"""Trajectories of a GFlowNet policy and the per-transition terms the losses read (paper 22, Pan et al.,
ICML 2023, arXiv:2302.01687).

``policy_fn(obs [..., F], forward_mask [..., A], backward_mask [..., A]) -> (log_pf, log_pb, log_flow)`` is a
bound :class:`models.fl_gflownet.GFNPolicy` (``lambda *a: policy.apply(params, *a)``) or any function of that
form. Exploration as in the official ``set/gflownet.py``: actions are drawn from
(1 − ε) P_F + ε Uniform(valid actions). Trajectories have ``T = env.num_steps`` slots; after a terminal
state the state repeats and ``valid`` is False.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from models.fl_gflownet.losses import Terms

_PKG = "models.fl_gflownet"


class Trajectories(NamedTuple):
  """``states: [B, T + 1, state_dim]`` int32, ``actions: [B, T]`` int32 (0 where not valid),
  ``valid: [B, T]`` bool (a prefix of True per row)."""
  states: jax.Array
  actions: jax.Array
  valid: jax.Array


def _check_eps(fn: str, epsilon) -> None:
  if isinstance(epsilon, jax.core.Tracer):
    return                                    # a traced weight (one per vmapped run): unchecked
  ok = not isinstance(epsilon, bool) and jnp.ndim(epsilon) == 0
  if ok:
    try:
      v = float(epsilon)
      ok = math.isfinite(v) and 0.0 <= v <= 1.0
    except (TypeError, ValueError):
      ok = False
  if not ok:
    raise ValueError(f"{fn}: epsilon: expected an exploration weight in [0, 1], got {epsilon!r}")


def _check_keys(fn: str, keys) -> jax.Array:
  keys = jnp.asarray(keys)
  if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
    ok = keys.ndim == 1
  else:
    ok = keys.ndim == 2 and keys.shape[-1] == 2 and keys.dtype == jnp.uint32
  if not ok or keys.shape[0] < 1:
    raise ValueError(f"{fn}: keys: expected a batch of PRNG keys [B] (raw: [B, 2] uint32), got shape "
                     f"{keys.shape} dtype {keys.dtype}")
  return keys


def _one(env, policy_fn, key, epsilon):
  def body(carry, k):
    s = carry
    done = env.is_terminal(s)
    fm = env.forward_mask(s)
    log_pf = policy_fn(env.obs(s), fm, env.backward_mask(s))[0]
    n_valid = jnp.maximum(jnp.sum(fm), 1)
    probs = (1.0 - epsilon) * jnp.exp(log_pf) * fm + epsilon * fm / n_valid
    a = jax.random.categorical(k, jnp.log(jnp.where(fm, probs, 0.0)))
    a = jnp.where(done, 0, a).astype(jnp.int32)
    nxt = jnp.where(done, s, env.step(s, a))
    return nxt, (nxt, a, ~done)

  s0 = env.init_state()
  _, (states, actions, valid) = jax.lax.scan(body, s0, jax.random.split(key, env.num_steps))
  return Trajectories(jnp.concatenate([s0[None], states]), actions, valid)


def sample_trajectories(env, policy_fn: Callable, keys: jax.Array, epsilon: float = 0.0) -> Trajectories:
  """One trajectory per key (``keys: [B]``) from the initial state until a terminal state, actions drawn from
  (1 − ε) P_F + ε Uniform(valid). Sampling is not differentiated: wrap the parameters in ``stop_gradient``.
  A traced ``epsilon`` (vmapped runs) is not range-checked; outside [0, 1] the draw is meaningless."""
  fn = f"{_PKG}.sample_trajectories"
  _check_eps(fn, epsilon)
  keys = _check_keys(fn, keys)
  return jax.vmap(lambda k: _one(env, policy_fn, k, epsilon))(keys)


def truncate_prefixes(traj: Trajectories, keys: jax.Array, min_len: int, max_len: int) -> Trajectories:
  """Incomplete trajectories: row b keeps its first L_b transitions, L_b ~ Uniform{min_len..max_len} (capped
  by its own length); the rest is marked invalid."""
  fn = f"{_PKG}.truncate_prefixes"
  if not isinstance(traj, Trajectories):
    raise TypeError(f"{fn}: traj: expected Trajectories, got {type(traj).__name__}")
  keys = _check_keys(fn, keys)
  t = traj.actions.shape[1]
  for name, v in (("min_len", min_len), ("max_len", max_len)):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= t:
      raise ValueError(f"{fn}: {name}: expected an int in [1, T = {t}], got {v!r}")
  if min_len > max_len:
    raise ValueError(f"{fn}: max_len: expected >= min_len = {min_len}, got {max_len}")
  if keys.shape[0] != traj.actions.shape[0]:
    raise ValueError(f"{fn}: keys: expected one key per trajectory ({traj.actions.shape[0]}), got {keys.shape[0]}")
  lens = jax.vmap(lambda k: jax.random.randint(k, (), min_len, max_len + 1))(keys)
  return traj._replace(valid=traj.valid & (jnp.arange(t)[None, :] < lens[:, None]))


def trajectory_terms(env, policy_fn: Callable, traj: Trajectories) -> Terms:
  """The policy's log P_F, log P_B and flow output along ``traj``, with E(s_t) and the terminal flags, as the
  :class:`models.fl_gflownet.Terms` the losses read (differentiable in the policy)."""
  fn = f"{_PKG}.trajectory_terms"
  if not isinstance(traj, Trajectories):
    raise TypeError(f"{fn}: traj: expected Trajectories, got {type(traj).__name__}")
  st = jnp.asarray(traj.states)
  if st.ndim != 3 or st.shape[2] != env.state_dim or traj.actions.shape != (st.shape[0], st.shape[1] - 1):
    raise ValueError(f"{fn}: traj: expected states [B, T + 1, {env.state_dim}] and actions [B, T], got "
                     f"{st.shape} and {traj.actions.shape}")
  flat = st.reshape(-1, st.shape[2])
  obs = jax.vmap(env.obs)(flat)
  fm = jax.vmap(env.forward_mask)(flat)
  bm = jax.vmap(env.backward_mask)(flat)
  lpf, lpb, flow = policy_fn(obs, fm, bm)
  b, t1 = st.shape[:2]
  lpf, lpb, flow = lpf.reshape(b, t1, -1), lpb.reshape(b, t1, -1), flow.reshape(b, t1)
  a = traj.actions[..., None]
  log_pf = jnp.take_along_axis(lpf[:, :-1], a, axis=2)[..., 0]
  log_pb = jnp.take_along_axis(lpb[:, 1:], a, axis=2)[..., 0]
  energy = jax.vmap(env.energy)(flat).reshape(b, t1).astype(flow.dtype)
  terminal = jax.vmap(env.is_terminal)(flat).reshape(b, t1)
  return Terms(log_pf=log_pf, log_pb=log_pb, log_flow=flow, energy=energy, terminal=terminal,
               valid=jnp.asarray(traj.valid, bool))
