"""One rule for choosing a kernel implementation (``impl=``), shared by every kernel package."""
from __future__ import annotations

import jax

__all__ = ["IMPLS", "resolve_impl"]

IMPLS = ("auto", "reference", "xla", "pallas")


def resolve_impl(impl: str, fn: str, impls: tuple[str, ...] = IMPLS) -> str:
  """The implementation ``impl`` names: ``"auto"`` is Pallas on GPU/TPU and XLA elsewhere (CPU).

  Raises ``ValueError`` naming ``fn`` and ``impl`` unless ``impl`` is one of ``impls``.
  """
  if not isinstance(impl, str) or impl not in impls:
    raise ValueError(f"{fn}: impl: expected one of {impls}, got {impl!r}")
  if impl == "auto":
    return "pallas" if jax.default_backend() in ("gpu", "tpu") else "xla"
  return impl
