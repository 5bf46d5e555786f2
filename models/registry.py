"""Registry of models checked by the conformance battery (``tests/models/test_conformance.py``).

Each model package registers one or more small instances with :func:`register` when it is imported.
To add a package to the battery, add its import path to ``PACKAGES`` (the "registry line").
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax

# The registry line: every model package that registers conformance specs.
PACKAGES: tuple[str, ...] = (
    "models.hopfield",
    "models.gla",
    "models.moe",
    "models.deis",
    "models.radd",
)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """A small instance of a model, with inputs, for the conformance battery.

  Attributes:
    name: unique name, ``<package>.<Module>[/<variant>]``.
    make: builds the module (no arguments).
    example_args: ``key -> tuple`` of positional arguments for ``init``/``apply``.
    apply_kwargs: keyword arguments passed to both ``init`` and ``apply`` (mode flags).
    rng_streams: named RNG streams ``apply`` needs besides ``params`` (e.g. ``("dropout",)``).
  """
  name: str
  make: Callable[[], nn.Module]
  example_args: Callable[[jax.Array], tuple[Any, ...]]
  apply_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  rng_streams: tuple[str, ...] = ()


_SPECS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
  if spec.name in _SPECS and _SPECS[spec.name] is not spec:
    raise ValueError(f"model spec {spec.name!r} is already registered")
  _SPECS[spec.name] = spec
  return spec


def all_specs() -> list[ModelSpec]:
  """Imports every package in ``PACKAGES`` and returns the registered specs, sorted by name."""
  for pkg in PACKAGES:
    importlib.import_module(pkg)
  return [_SPECS[k] for k in sorted(_SPECS)]
