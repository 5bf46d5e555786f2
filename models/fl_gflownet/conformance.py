"""Conformance specs of ``models.fl_gflownet``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.fl_gflownet import GFNPolicy
from models.registry import ModelSpec


def _set_states(key: jax.Array):
  """Three membership vectors over |U| = 5 (masks as a set environment with |S| = 3 gives them)."""
  s = (jax.random.uniform(key, (3, 5)) < 0.4).astype(jnp.int32)
  fm = (s == 0) & (jnp.sum(s, -1, keepdims=True) < 3)
  return s.astype(jnp.float32), fm, s == 1


SPECS: list[ModelSpec] = [
    ModelSpec(name="fl_gflownet.GFNPolicy", make=lambda: GFNPolicy(num_actions=5, hidden=8, depth=2),
              example_args=_set_states),
    ModelSpec(name="fl_gflownet.GFNPolicy/uniform_backward",
              make=lambda: GFNPolicy(num_actions=5, hidden=8, depth=1, uniform_backward=True),
              example_args=_set_states),
]
