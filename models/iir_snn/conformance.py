"""Conformance specs of ``models.iir_snn``: the SNN at T = 2 with dropout (found by name). The ReLU ``ANNMLP`` is
a plain MLP covered by the batteries and tests/models/test_iir_snn.py (one spec keeps the suite within budget)."""
from __future__ import annotations

import jax

from models.iir_snn import snn_model
from models.registry import ModelSpec

SPECS: list[ModelSpec] = [
    ModelSpec(name="iir_snn.SpikingMLP/T2", make=lambda: snn_model((8, 8, 3), 2, dropout=0.2, theta_init=0.3,
                                                                   leak_init=0.9),
              example_args=lambda key: (jax.random.uniform(key, (2, 6)),), apply_kwargs={"deterministic": False},
              rng_streams=("dropout",)),
]
