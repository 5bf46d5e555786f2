"""The jitted, data-parallel train step and the optimizer built from a config."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from experiments.train_lib import mesh as mesh_lib
from experiments.train_lib.state import TrainState

# loss_fn(params, extra, batch, key) -> (loss, (metrics, new_extra))
LossFn = Callable[[Any, Any, Any, jax.Array], tuple[jax.Array, tuple[Mapping[str, jax.Array], Any]]]


def make_optimizer(cfg: Any) -> optax.GradientTransformation:
  """Builds the optimizer from ``config.train``: name, learning_rate, warmup_steps, schedule, clipping."""
  if cfg.schedule == "constant":
    lr = optax.schedules.linear_schedule(0.0, cfg.learning_rate, max(cfg.warmup_steps, 1)) \
        if cfg.warmup_steps else cfg.learning_rate
  elif cfg.schedule == "cosine":
    lr = optax.schedules.warmup_cosine_decay_schedule(
        0.0, cfg.learning_rate, max(cfg.warmup_steps, 1), max(cfg.total_steps, cfg.warmup_steps + 1))
  else:
    raise ValueError(f"train.schedule: expected 'constant' or 'cosine', got {cfg.schedule!r}")
  if cfg.optimizer == "adam":
    opt = optax.adam(lr)
  elif cfg.optimizer == "adamw":
    opt = optax.adamw(lr, weight_decay=cfg.weight_decay)
  elif cfg.optimizer == "sgd":
    opt = optax.sgd(lr, momentum=cfg.momentum or None)
  else:
    raise ValueError(f"train.optimizer: expected 'adam', 'adamw' or 'sgd', got {cfg.optimizer!r}")
  if cfg.grad_clip and cfg.grad_clip > 0:
    opt = optax.chain(optax.clip_by_global_norm(cfg.grad_clip), opt)
  return opt


def phase_optimizers(tx: optax.GradientTransformation, labels: Any,
                     num_phases: int) -> list[optax.GradientTransformation]:
  """One optimizer per training phase, for tasks that alternate which parameters they train.

  ``labels`` is a pytree of ints with the structure of the parameters: leaf ``i`` is trained in phase
  ``labels[i]`` only. Every returned transformation has the same ``init`` (a tuple of ``num_phases`` states,
  phase ``q``'s being ``optax.masked(tx, labels == q)``: its moments hold phase ``q``'s leaves only), and
  ``update`` of phase ``p`` advances slot ``p`` alone: the other leaves get a zero update and their optimizer
  state (momentum, Adam moments, step count) is left as it was, as if they were frozen (PyTorch skips
  parameters without a gradient in the same way).
  """
  if not isinstance(num_phases, int) or num_phases < 1:
    raise ValueError(f"phase_optimizers: num_phases: expected a positive int, got {num_phases!r}")
  leaves = jax.tree.leaves(labels)
  bad = [l for l in leaves if not isinstance(l, (int, np.integer)) or not 0 <= int(l) < num_phases]
  if bad:
    raise ValueError(f"phase_optimizers: labels: expected ints in [0, {num_phases}), got {bad[:3]}")
  masks = [jax.tree.map(lambda l, q=q: int(l) == q, labels) for q in range(num_phases)]
  inner = [optax.masked(tx, m) for m in masks]

  def init(params):
    return tuple(t.init(params) for t in inner)

  def make(p: int) -> optax.GradientTransformation:
    def update(grads, state, params=None):
      grads = jax.tree.map(lambda g, keep: g if keep else jnp.zeros_like(g), grads, masks[p])
      updates, slot = inner[p].update(grads, state[p], params)
      return updates, tuple(slot if q == p else s for q, s in enumerate(state))
    return optax.GradientTransformation(init, update)
  return [make(p) for p in range(num_phases)]


def make_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, mesh: Mesh,
                    *, donate: bool = True) -> Callable[[TrainState, Any, jax.Array], tuple[TrainState, dict]]:
  """Returns ``step(state, batch, key) -> (state, metrics)``, jitted over ``mesh``.

  The state is replicated, the batch is split along its leading axis over the data axis (XLA inserts
  the gradient all-reduce), and the incoming state's buffers are donated. ``metrics`` always holds
  ``loss`` and ``grad_norm`` besides what ``loss_fn`` reports.
  """
  def step(state: TrainState, batch: Any, key: jax.Array):
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, (metrics, extra)), grads = grad_fn(state.params, state.extra, batch, key)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {**metrics, "loss": loss, "grad_norm": optax.tree.norm(grads)}
    metrics = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), metrics)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state, extra=extra)
    return new_state, metrics

  rep, data = mesh_lib.replicated(mesh), mesh_lib.batch_sharding(mesh)
  return jax.jit(step, in_shardings=(rep, data, rep), out_shardings=(rep, rep),
                 donate_argnums=(0,) if donate else ())
