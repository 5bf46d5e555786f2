"""Conformance specs of ``models.radd``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax

from models.radd import RADDTransformer
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.randint(key, (2, 12), 0, 12),)   # ids 0..10 real, 11 = mask


SPECS.append(ModelSpec(
    name="radd.RADDTransformer",
    make=lambda: RADDTransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24),
    example_args=_tokens,
))
