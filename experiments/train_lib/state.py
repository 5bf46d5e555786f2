"""The train state: a pytree that the jitted step donates, checkpoints save, and meshes replicate."""
from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax


class TrainState(flax.struct.PyTreeNode):
  """Everything a run needs to continue exactly where it stopped.

  Attributes:
    step: int32 scalar, number of optimizer updates applied so far.
    params: model parameters.
    opt_state: the optax optimizer state.
    extra: non-trained model variables (batch statistics, EMA, ...); ``{}`` when unused.
  """
  step: jax.Array
  params: Any
  opt_state: Any
  extra: Any

  @classmethod
  def create(cls, params: Any, tx: optax.GradientTransformation, extra: Any = None) -> "TrainState":
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
               extra={} if extra is None else extra)


def num_params(params: Any) -> int:
  return int(sum(x.size for x in jax.tree.leaves(params)))
