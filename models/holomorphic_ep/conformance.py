"""Conformance specs of ``models.holomorphic_ep``: tiny vector fields the battery
(``tests/models/test_conformance.py``) inits, jits, differentiates and re-runs. Found by name."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.holomorphic_ep import STATE_KEYS, EPVectorField
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _args(model: EPVectorField, batch: int = 3, features: int = 5):
  def make(key):
    ks = jax.random.split(key, len(STATE_KEYS) + 2)
    u = {k: 0.5 * jax.random.normal(kk, (batch, s), jnp.float32) for (k, s), kk in zip(model.sizes().items(), ks)}
    x = jax.random.uniform(ks[-2], (batch, features), jnp.float32)
    y = jax.nn.one_hot(jax.random.randint(ks[-1], (batch,), 0, model.num_classes), model.num_classes)
    return u, x, y, 0.3
  return make


for _arch in ("mlp", "loop"):
  _m = EPVectorField(hidden=(6, 4), out_size=3, num_classes=3, arch=_arch)
  SPECS.append(ModelSpec(name=f"holomorphic_ep.EPVectorField/{_arch}", make=lambda m=_m: m, example_args=_args(_m)))
del _arch, _m
