"""Conformance specs of ``models.deis``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.deis import ResidualDenoiser, TimeMLP
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _mlp_args(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  kx, kt = jax.random.split(key)
  return jax.random.normal(kx, (3, 4), jnp.float32), jax.random.uniform(kt, (3,), jnp.float32)


SPECS.append(ModelSpec(
    name="deis.TimeMLP",
    make=lambda: TimeMLP(hidden=16, depth=2, emb_dim=8),
    example_args=_mlp_args,
))
SPECS.append(ModelSpec(
    name="deis.ResidualDenoiser",
    make=lambda: ResidualDenoiser(width=16, depth=2, mult=2, emb_dim=8, skip_init=0.5),
    example_args=_mlp_args,
))
