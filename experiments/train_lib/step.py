"""The jitted, data-parallel train step and the optimizer built from a config."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
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
