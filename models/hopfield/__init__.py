"""Modern Hopfield networks and Hopfield layers.

Ramsauer et al., "Hopfield Networks is All You Need", ICLR 2021, arXiv:2008.02217.

* :mod:`.functional`: energy (Eq. 2), update (Eq. 3), association weights, iterated updates.
* :mod:`.modules`: ``Hopfield``, ``HopfieldPooling``, ``HopfieldLayer`` (Flax linen).
* :mod:`.mil`: ``MILClassifier`` with hopfield / mean / max / gated-attention pooling.
* :mod:`.classical`: the binary Hopfield (1982) network baseline.

Importing this package registers small instances with the conformance battery
(:mod:`models.registry`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.hopfield import classical, functional
from models.hopfield.classical import async_sweep, hebbian_weights, overlaps, recall
from models.hopfield.classical import energy as classical_energy
from models.hopfield.functional import (association, energy, energy_trajectory, hopfield_update,
                                        iterate, iterate_scan)
from models.hopfield.mil import POOLINGS, MILClassifier
from models.hopfield.modules import Hopfield, HopfieldLayer, HopfieldPooling, HopfieldSizes
from models.registry import ModelSpec, register

__all__ = [
    "Hopfield", "HopfieldLayer", "HopfieldPooling", "HopfieldSizes", "MILClassifier", "POOLINGS",
    "association", "async_sweep", "classical", "classical_energy", "energy", "energy_trajectory",
    "functional", "hebbian_weights", "hopfield_update", "iterate", "iterate_scan", "overlaps", "recall",
]


# ---------------------------------------------------------------------------------------------------
# Conformance specs (tiny instances: the battery jits, differentiates and re-runs each).


def _normal(key: jax.Array, *shapes: tuple[int, ...]) -> tuple[jax.Array, ...]:
  keys = jax.random.split(key, len(shapes))
  return tuple(jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, shapes))


def _bags(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  bags = jax.random.normal(key, (3, 5, 6), jnp.float32)
  mask = jnp.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
  return bags, mask


register(ModelSpec(
    name="hopfield.Hopfield/heads2",
    make=lambda: Hopfield(num_heads=2, hidden_size=8, dropout=0.1),
    example_args=lambda key: _normal(key, (2, 5, 6), (2, 3, 6)),
    apply_kwargs={"deterministic": False},
    rng_streams=("dropout",),
))
register(ModelSpec(
    name="hopfield.Hopfield/update_steps3",
    make=lambda: Hopfield(num_heads=2, hidden_size=8, pattern_size=4, output_size=5,
                          update_steps_max=3),
    example_args=lambda key: _normal(key, (2, 5, 6), (2, 3, 4), (2, 5, 7)),
))
register(ModelSpec(
    name="hopfield.HopfieldPooling",
    make=lambda: HopfieldPooling(quantity=2, num_heads=2, hidden_size=8),
    example_args=lambda key: _normal(key, (2, 5, 6)),
))
register(ModelSpec(
    name="hopfield.HopfieldLayer",
    make=lambda: HopfieldLayer(quantity=4, hidden_size=8, lookup_weights_as_separated=True),
    example_args=lambda key: _normal(key, (2, 3, 6)),
))
for _pooling in POOLINGS:
  register(ModelSpec(
      name=f"hopfield.MILClassifier/{_pooling}",
      make=lambda p=_pooling: MILClassifier(pooling=p, hidden=8),
      example_args=_bags,
  ))
del _pooling
