"""Conformance specs of ``models.hopfield``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.hopfield import Hopfield, HopfieldLayer, HopfieldPooling, MILClassifier, POOLINGS
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _normal(key: jax.Array, *shapes: tuple[int, ...]) -> tuple[jax.Array, ...]:
  keys = jax.random.split(key, len(shapes))
  return tuple(jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, shapes))


def _bags(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  bags = jax.random.normal(key, (3, 5, 6), jnp.float32)
  mask = jnp.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
  return bags, mask


SPECS.append(ModelSpec(
    name="hopfield.Hopfield/heads2",
    make=lambda: Hopfield(num_heads=2, hidden_size=8, dropout=0.1),
    example_args=lambda key: _normal(key, (2, 5, 6), (2, 3, 6)),
    apply_kwargs={"deterministic": False},
    rng_streams=("dropout",),
))
SPECS.append(ModelSpec(
    name="hopfield.Hopfield/update_steps3",
    make=lambda: Hopfield(num_heads=2, hidden_size=8, pattern_size=4, output_size=5,
                          update_steps_max=3),
    example_args=lambda key: _normal(key, (2, 5, 6), (2, 3, 4), (2, 5, 7)),
))
SPECS.append(ModelSpec(
    name="hopfield.HopfieldPooling",
    make=lambda: HopfieldPooling(quantity=2, num_heads=2, hidden_size=8),
    example_args=lambda key: _normal(key, (2, 5, 6)),
))
SPECS.append(ModelSpec(
    name="hopfield.HopfieldLayer",
    make=lambda: HopfieldLayer(quantity=4, hidden_size=8, lookup_weights_as_separated=True),
    example_args=lambda key: _normal(key, (2, 3, 6)),
))
for _pooling in POOLINGS:
  SPECS.append(ModelSpec(
      name=f"hopfield.MILClassifier/{_pooling}",
      make=lambda p=_pooling: MILClassifier(pooling=p, hidden=8),
      example_args=_bags,
  ))
del _pooling
