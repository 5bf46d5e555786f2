"""Conformance specs of ``models.ibp_tightness``: two tiny :class:`CertMLP` instances (PyTorch-default init
without bounds; the fast IBP init with ε and labels, sowing logit and margin bounds) that the battery
(``tests/models/test_conformance.py``) inits, jits, differentiates and re-runs. Found by name by
:func:`models.registry.all_specs`."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from models.ibp_tightness import CertMLP
from models.registry import ModelSpec


def _inputs(key: jax.Array) -> tuple[jax.Array, ...]:
  return (jax.random.uniform(key, (3, 6), jnp.float32),)


def _inputs_labels(key: jax.Array) -> tuple[jax.Array, ...]:
  return _inputs(key) + (jnp.array([0, 2, 1], jnp.int32),)


SPECS: list[ModelSpec] = [ModelSpec(
    name="ibp_tightness.CertMLP",
    make=lambda: CertMLP(widths=(5, 4), num_classes=3, init_scheme="default"),
    example_args=_inputs,
)]
SPECS.append(ModelSpec(
    name="ibp_tightness.CertMLP/bounds",
    make=lambda: CertMLP(widths=(5, 4), num_classes=3, init_scheme="fast"),
    example_args=_inputs_labels,
    apply_kwargs={"eps": 0.05},
))
