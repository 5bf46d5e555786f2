"""Conformance specs of ``models.jei_dnn``: a tiny JEIDNN and its parts, for ``tests/models/test_conformance.py``."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.jei_dnn.modules import JEIDNN, ExitHeads
from models.registry import ModelSpec

SPECS: list[ModelSpec] = [
    ModelSpec(name="jei_dnn.JEIDNN", make=lambda: JEIDNN(width=8, bottleneck=4, n_blocks=3, num_exits=3, num_classes=4),
              example_args=lambda key: (jax.random.normal(key, (3, 5), jnp.float32),)),
    ModelSpec(name="jei_dnn.ExitHeads", make=lambda: ExitHeads(num_heads=2, num_classes=4),
              example_args=lambda key: (jax.random.normal(key, (3, 2, 8), jnp.float32),)),
]
