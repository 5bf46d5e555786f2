"""Conformance specs of ``models.moe``: tiny instances the battery (``tests/models/test_conformance.py``)
inits, jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.moe import MoEBlock, Router
from models.registry import ModelSpec

SPECS: list[ModelSpec] = []


def _tokens(key: jax.Array) -> tuple[jax.Array]:
  return (jax.random.normal(key, (2, 6, 8), jnp.float32),)


SPECS.append(ModelSpec(
    name="moe.MoEBlock/topk2",
    make=lambda: MoEBlock(num_experts=4, gate="topk", num_selected=2, hidden_features=16,
                          capacity_factor=1.0, z_loss_weight=1e-3),
    example_args=_tokens,
))
SPECS.append(ModelSpec(
    name="moe.MoEBlock/softmax_linear",
    make=lambda: MoEBlock(num_experts=3, gate="softmax", num_selected=None, expert="linear",
                          capacity_factor=None),
    example_args=_tokens,
))
SPECS.append(ModelSpec(
    name="moe.MoEBlock/activation_temperature_top1",
    make=lambda: MoEBlock(num_experts=4, gate="activation_temperature", num_selected=1,
                          hidden_features=16, priority="score", capacity_factor=1.0, return_aux=False),
    example_args=_tokens,
))
