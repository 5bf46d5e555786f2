"""Conformance specs of ``models.gla``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.gla import Block, GLATransformer, GatedLinearAttention, SoftmaxTransformer
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _x(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.normal(key, (2, 10, 16), jnp.float32),)


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.randint(key, (2, 12), 0, 11),)


SPECS.append(ModelSpec(
    name="gla.GatedLinearAttention",
    make=lambda: GatedLinearAttention(num_heads=2, chunk_size=16),
    example_args=_x,
))
SPECS.append(ModelSpec(
    name="gla.Block/softmax",
    make=lambda: Block(mixer="softmax", num_heads=2, mlp_hidden=24),
    example_args=_x,
))
SPECS.append(ModelSpec(
    name="gla.GLATransformer/tied",
    make=lambda: GLATransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24, chunk_size=16),
    example_args=_tokens,
))
SPECS.append(ModelSpec(
    name="gla.SoftmaxTransformer/untied",
    make=lambda: SoftmaxTransformer(vocab_size=11, d_model=16, num_layers=2, num_heads=2, mlp_hidden=24,
                                    tie_embeddings=False),
    example_args=_tokens,
))
