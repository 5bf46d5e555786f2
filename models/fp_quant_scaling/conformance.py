"""Conformance specs of ``models.fp_quant_scaling`` (tests/models/test_conformance.py)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.fp_quant_scaling import QuantDense, QuantMLP
from models.registry import ModelSpec

SPECS: list[ModelSpec] = [
    ModelSpec(name="fp_quant_scaling.QuantDense/E2M1-b16",
              make=lambda: QuantDense(8, fmt="E2M1", block_size=16),
              example_args=lambda key: (jax.random.normal(key, (4, 32), jnp.float32),)),
    ModelSpec(name="fp_quant_scaling.QuantMLP/E4M3-channel",
              make=lambda: QuantMLP(hidden=16, out=5, fmt="E4M3", block_size="channel"),
              example_args=lambda key: (jax.random.normal(key, (6, 12), jnp.float32),)),
]
