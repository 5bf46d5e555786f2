"""Training and exact evaluation for the claims of paper 22 (Pan, Malkin, Zhang & Bengio, "Better Training of
GFlowNets with Local Credit and Incomplete Trajectories", ICML 2023, arXiv:2302.01687).

* :func:`init_params`: the policy's parameters and the raw log Z, ``{"net": ..., "log_z": 0.0}``.
* :func:`make_loss_fn`: ``loss_fn(params, keys [B]) -> (loss, metrics)``: sample B trajectories with the
  current (stop-gradient) policy and ε-uniform exploration, optionally cut them to random prefixes, and
  apply one of :data:`models.fl_gflownet.LOSSES`. The train_lib task and :func:`train_curves` share it.
* :func:`exact_l1`: L1(P_T, R/Z) of the policy by the exact DP (:mod:`models.fl_gflownet.exact`).
* :func:`train_curves`: many runs (losses × environments × seeds, stacked on a leading axis) trained in ONE
  jitted program (``vmap`` over runs of a ``lax.scan`` over steps, Adam), with the exact L1 every
  ``eval_every`` steps.
* :func:`steps_to_threshold`: the first evaluated step at which a curve reaches an L1 level.

log Z's learning rate: the official TB code gives log Z its own Adam learning rate (0.1 vs 1e-3). Here log Z
= ``logz_scale`` × raw with one Adam on everything: Adam's step is invariant to the gradient's scale, so the
raw parameter moves by ≈ lr and log Z by ≈ ``logz_scale`` · lr (= 0.1 for scale 100, lr 1e-3), up to Adam's ε.
"""
from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models.fl_gflownet.envs import Enumeration
from models.fl_gflownet.exact import l1_distance, terminal_distribution
from models.fl_gflownet.losses import LOSSES, gfn_loss
from models.fl_gflownet.policy import MASK_VALUE, GFNPolicy
from models.fl_gflownet.sampling import sample_trajectories, trajectory_terms, truncate_prefixes

_PKG = "models.fl_gflownet"
LOGZ_SCALE = 100.0   # official tb_z_lr / tb_lr = 0.1 / 1e-3


def make_policy(env, hidden: int = 256, depth: int = 2, uniform_backward: bool = False) -> GFNPolicy:
  """The official policy MLP for ``env`` (A = env.num_actions outputs per head)."""
  return GFNPolicy(num_actions=env.num_actions, hidden=hidden, depth=depth, uniform_backward=uniform_backward)


def init_params(policy: GFNPolicy, env, key: jax.Array) -> dict:
  """``{"net": policy variables' params, "log_z": 0.0}`` (raw log Z; see the module docstring)."""
  s = env.init_state()
  p = policy.init(key, env.obs(s), env.forward_mask(s), env.backward_mask(s))["params"]
  return {"net": p, "log_z": jnp.zeros((), jnp.float32)}


def _check_common(fn, lam, prefix, env):
  if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 < lam <= 1.0:
    raise ValueError(f"{fn}: lam: expected a float in (0, 1], got {lam!r}")
  if prefix is not None:
    t = env.num_steps
    if (not isinstance(prefix, tuple) or len(prefix) != 2 or not all(isinstance(v, int) for v in prefix)
        or not 1 <= prefix[0] <= prefix[1] <= t):
      raise ValueError(f"{fn}: prefix: expected None or (min_len, max_len) with 1 <= min_len <= max_len <= "
                       f"{t}, got {prefix!r}")


def _check_eps(fn, epsilon):
  if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0.0 <= epsilon <= 1.0:
    raise ValueError(f"{fn}: epsilon: expected an exploration weight in [0, 1], got {epsilon!r}")


def _check_loss(fn, loss):
  if loss not in LOSSES:
    raise ValueError(f"{fn}: loss: expected one of {LOSSES}, got {loss!r}")


def _batch_terms(env, policy, params, keys, epsilon, prefix):
  frozen = jax.lax.stop_gradient(params["net"])
  traj = sample_trajectories(env, lambda *a: policy.apply({"params": frozen}, *a), keys, epsilon)
  if prefix is not None:
    traj = truncate_prefixes(traj, jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys), *prefix)
  terms = trajectory_terms(env, lambda *a: policy.apply({"params": params["net"]}, *a), traj)
  length = jnp.sum(traj.valid, axis=1)
  complete = jnp.mean(jnp.take_along_axis(terms.terminal, length[:, None], axis=1)[:, 0].astype(jnp.float32))
  return terms, complete


def make_loss_fn(env, policy: GFNPolicy, loss: str, *, epsilon: float = 0.0, lam: float = 0.9,
                 prefix: tuple[int, int] | None = None, logz_scale: float = LOGZ_SCALE) -> Callable:
  """``loss_fn(params, keys: [B]) -> (loss, metrics)``: one trajectory per key from the stop-gradient policy
  with ε-uniform exploration, cut to a random prefix of Uniform{prefix[0]..prefix[1]} transitions when
  ``prefix`` is given (incomplete trajectories), then the objective ``loss``. ``metrics``: ``log_z`` and
  ``complete`` (the fraction of the batch's trajectories that end in a terminal state)."""
  fn = f"{_PKG}.make_loss_fn"
  _check_loss(fn, loss)
  _check_eps(fn, epsilon)
  _check_common(fn, lam, prefix, env)

  def loss_fn(params, keys):
    terms, complete = _batch_terms(env, policy, params, keys, epsilon, prefix)
    log_z = logz_scale * params["log_z"]
    return gfn_loss(loss, terms, log_z=log_z, lam=lam), {"log_z": log_z, "complete": complete}
  return loss_fn


def exact_l1(policy: GFNPolicy, params: dict, env, enum: Enumeration) -> jax.Array:
  """L1(P_T, R/Z) by the exact DP over ``enum`` (``env.enumerate()``), with the target's energies taken from
  ``env`` (so it can be traced: vmap over environments sharing one enumeration's structure). The policy is
  evaluated on the non-terminal states only."""
  if not isinstance(enum, Enumeration):
    raise TypeError(f"{_PKG}.exact_l1: enum: expected an Enumeration (env.enumerate()), got {type(enum).__name__}")
  live = np.flatnonzero(~enum.terminal)
  lp = policy.apply({"params": params["net"]}, jnp.asarray(enum.obs[live]), jnp.asarray(enum.forward_mask[live]),
                    jnp.asarray(enum.backward_mask[live]))[0]
  log_pf = jnp.full(enum.forward_mask.shape, MASK_VALUE, lp.dtype).at[live].set(lp)
  p_t = terminal_distribution(log_pf, enum)
  term = jnp.asarray(enum.states[enum.terminal])
  target = jax.nn.softmax(-jax.vmap(env.energy)(term))
  return l1_distance(p_t, target.astype(p_t.dtype))


def train_curves(envs, keys: jax.Array, *, losses, epsilons, num_steps: int, eval_every: int,
                 batch_size: int = 16, learning_rate: float = 1e-3, lam: float = 0.9, hidden: int = 256,
                 depth: int = 2, uniform_backward: bool = False, prefix: tuple[int, int] | None = None,
                 logz_scale: float = LOGZ_SCALE) -> dict[str, np.ndarray]:
  """Trains R runs in one jitted program (vmap over runs of a ``lax.scan`` over steps) and returns their exact
  L1 curves.

  Args:
    envs: one environment pytree whose leaves carry a leading run axis R (e.g. ``SetEnv`` with energies
      ``[R, |U|]``: ``jax.tree.map(lambda *x: jnp.stack(x), *envs)``) or a single environment for all runs.
    keys: ``[R]`` PRNG keys, one per run (initialisation and sampling).
    losses: R names from :data:`LOSSES`, one per run (every loss is evaluated on the run's batch and the
      run's own is selected: the network passes, the expensive part, are shared).
    epsilons: R exploration weights in [0, 1].
    lam, prefix, logz_scale: as :func:`make_loss_fn`; ``batch_size`` trajectories per step; Adam with
      ``learning_rate``; policy ``hidden`` × ``depth``.
    num_steps: a multiple of ``eval_every``.
  Returns: ``{"steps": [E + 1], "l1": [E + 1, R], "loss": [E, R]}`` (L1 at step 0 and every ``eval_every``;
  the mean training loss of each block), numpy.
  """
  fn = f"{_PKG}.train_curves"
  keys = jnp.asarray(keys)
  for name, v in (("num_steps", num_steps), ("eval_every", eval_every), ("batch_size", batch_size)):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
      raise ValueError(f"{fn}: {name}: expected a positive int, got {v!r}")
  if num_steps % eval_every:
    raise ValueError(f"{fn}: num_steps: expected a multiple of eval_every = {eval_every}, got {num_steps}")
  if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
    raise ValueError(f"{fn}: learning_rate: expected a positive float, got {learning_rate!r}")
  n_runs = keys.shape[0]
  losses, epsilons = list(losses), list(epsilons)
  if len(losses) != n_runs or len(epsilons) != n_runs:
    raise ValueError(f"{fn}: losses, epsilons: expected one per run ({n_runs} keys), got {len(losses)} and "
                     f"{len(epsilons)}")
  for v in losses:
    _check_loss(fn, v)
  for v in epsilons:
    _check_eps(fn, v)
  leaves = jax.tree.leaves(envs)
  batched = bool(leaves) and jnp.ndim(leaves[0]) >= 2
  one_env = jax.tree.map(lambda x: x[0], envs) if batched else envs
  _check_common(fn, lam, prefix, one_env)
  if batched and jnp.shape(leaves[0])[0] != n_runs:
    raise ValueError(f"{fn}: keys: expected one key per environment ({jnp.shape(leaves[0])[0]}), got {n_runs}")
  enum = one_env.enumerate()
  policy = make_policy(one_env, hidden, depth, uniform_backward)
  tx = optax.adam(learning_rate)
  n_blocks = num_steps // eval_every
  index = jnp.asarray([LOSSES.index(v) for v in losses], jnp.int32)
  eps = jnp.asarray(epsilons, jnp.float32)

  def run(env, key, which, epsilon):
    k_init, k_train = jax.random.split(key)
    params = init_params(policy, env, k_init)
    opt = tx.init(params)

    def loss_fn(p, ks):
      terms, _ = _batch_terms(env, policy, p, ks, epsilon, prefix)
      log_z = logz_scale * p["log_z"]
      return jnp.stack([gfn_loss(name, terms, log_z=log_z, lam=lam) for name in LOSSES])[which]

    grad = jax.value_and_grad(loss_fn)

    def step(carry, i):
      p, o = carry
      v, g = grad(p, jax.random.split(jax.random.fold_in(k_train, i), batch_size))
      upd, o = tx.update(g, o, p)
      return (optax.apply_updates(p, upd), o), v

    def block(carry, b):
      carry, vals = jax.lax.scan(step, carry, b * eval_every + jnp.arange(eval_every))
      return carry, (exact_l1(policy, carry[0], env, enum), jnp.mean(vals))

    l1_0 = exact_l1(policy, params, env, enum)
    _, (l1s, vals) = jax.lax.scan(block, (params, opt), jnp.arange(n_blocks))
    return jnp.concatenate([l1_0[None], l1s]), vals

  in_axes = (0 if batched else None, 0, 0, 0)
  l1, vals = jax.jit(jax.vmap(run, in_axes=in_axes))(envs, keys, index, eps)
  return {"steps": np.arange(n_blocks + 1) * eval_every, "l1": np.asarray(l1).T, "loss": np.asarray(vals).T}


def steps_to_threshold(steps, l1, threshold: float) -> np.ndarray:
  """Per run, the first evaluated step at which L1 <= ``threshold`` (``l1: [E + 1, R]``); ``inf`` if never."""
  steps, l1 = np.asarray(steps), np.asarray(l1)
  if l1.ndim != 2 or l1.shape[0] != steps.shape[0]:
    raise ValueError(f"{_PKG}.steps_to_threshold: l1: expected [len(steps) = {steps.shape[0]}, R], got {l1.shape}")
  hit = l1 <= threshold
  first = np.argmax(hit, axis=0)
  return np.where(hit.any(axis=0), steps[first].astype(np.float64), np.inf)
