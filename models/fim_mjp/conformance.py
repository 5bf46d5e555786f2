"""Conformance specs of ``models.fim_mjp``: a tiny mini-FIM (found by name by :func:`models.registry.all_specs`)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.fim_mjp.model import FIMMJP
from models.registry import ModelSpec


def _obs(key):
  k1, k2 = jax.random.split(key)
  states = jax.random.randint(k1, (2, 3, 5), 0, 3)
  times = jnp.sort(jax.random.uniform(k2, (2, 3, 5)) * 10.0, axis=-1)
  obs_mask = jnp.arange(5)[None, None] < jnp.array([[5], [3]])[:, :, None]
  obs_mask = jnp.broadcast_to(obs_mask, (2, 3, 5))
  path_mask = jnp.array([[True, True, False], [True, True, True]])
  return states, times, obs_mask, path_mask


SPECS: list[ModelSpec] = [
    ModelSpec(name="fim_mjp.FIMMJP/pairs",
              make=lambda: FIMMJP(c_max=3, hidden=8, n_queries=2, k_dim=8, v_dim=8, decoder_hidden=(8,)),
              example_args=_obs),
]
