"""Conformance specs of ``models.pgn``: tiny instances the battery (``tests/models/test_conformance.py``) inits,
jits, differentiates and re-runs. Found by name by :func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.pgn import GRUForecaster, TPGN, DLinear
from models.registry import ModelSpec


def _series(key: jax.Array) -> tuple[jax.Array, jax.Array]:
  k1, k2 = jax.random.split(key)
  return (jax.random.normal(k1, (2, 8, 2), jnp.float32),
          jax.random.uniform(k2, (2, 8, 2), jnp.float32, -0.5, 0.5))


SPECS: list[ModelSpec] = [
    ModelSpec(name="pgn.TPGN", make=lambda: TPGN(seq_len=8, pred_len=4, period=4, d_model=2, n_channels=2, d_time=2),
              example_args=_series),
    ModelSpec(name="pgn.DLinear", make=lambda: DLinear(seq_len=8, pred_len=4, n_channels=2, kernel=3),
              example_args=_series),
    ModelSpec(name="pgn.GRUForecaster",
              make=lambda: GRUForecaster(seq_len=8, pred_len=4, hidden=3, n_channels=2, d_time=2),
              example_args=_series),
]
