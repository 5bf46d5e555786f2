"""Models checked by the conformance battery (``tests/models/test_conformance.py``).

Each neural package lists small instances in ``models/<slug>/conformance.py`` as ``SPECS: list[ModelSpec]``.
:func:`all_specs` finds those modules by name: importing ``models.<slug>`` registers nothing, and a new package
needs no edit here.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax


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


def conformance_modules() -> list[str]:
  """``models.<slug>.conformance`` for every package of ``models`` that has one, sorted."""
  import models
  names = []
  for m in pkgutil.iter_modules(models.__path__):     # models.__name__: `jax_zoo.models` in an installed wheel
    if m.ispkg and importlib.util.find_spec(f"{models.__name__}.{m.name}.conformance") is not None:
      names.append(f"{models.__name__}.{m.name}.conformance")
  return sorted(names)


def all_specs() -> list[ModelSpec]:
  """Every spec of every ``conformance`` module, sorted by name; names must be unique."""
  specs: dict[str, ModelSpec] = {}
  for mod in conformance_modules():
    for spec in importlib.import_module(mod).SPECS:
      if not isinstance(spec, ModelSpec):
        raise TypeError(f"{mod}.SPECS: expected ModelSpec entries, got {type(spec).__name__}")
      if spec.name in specs:
        raise ValueError(f"model spec {spec.name!r} is listed twice ({mod})")
      specs[spec.name] = spec
  return [specs[k] for k in sorted(specs)]
