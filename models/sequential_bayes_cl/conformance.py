"""Conformance specs of ``models.sequential_bayes_cl``: the ProtoCL encoder (found by name by
:func:`models.registry.all_specs`)."""
from __future__ import annotations

import jax

from models.registry import ModelSpec
from models.sequential_bayes_cl.protocl import Encoder

SPECS: list[ModelSpec] = [
    ModelSpec(name="sequential_bayes_cl.Encoder", make=lambda: Encoder(features=(16, 8)),
              example_args=lambda key: (jax.random.normal(key, (3, 64)),)),
    ModelSpec(name="sequential_bayes_cl.Encoder/dropout", make=lambda: Encoder(features=(16, 8), dropout=0.1),
              example_args=lambda key: (jax.random.normal(key, (3, 64)),), apply_kwargs={"deterministic": False},
              rng_streams=("dropout",)),
]
