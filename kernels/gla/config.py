"""Block sizes and launch settings for the GLA kernels.

Chunk C and sub-chunk c follow the reference library (fla ``chunk_gla``): ``C = min(chunk_size,
max(16, next_pow2(T)))``, ``c = min(16, C)``. Head dims are zero-padded to a power of two ≥ 16 inside the
Pallas path (Triton loads/stores and dots need power-of-two sizes with every dot dim ≥ 16).
"""
from __future__ import annotations

import dataclasses

__all__ = ["GLAKernelConfig", "DEFAULT", "effective_chunk", "padded_dim", "SUB_CHUNK"]

SUB_CHUNK = 16


@dataclasses.dataclass(frozen=True)
class GLAKernelConfig:
  """Launch settings of the Pallas kernels (hashable: used as a static argument).

  Attributes:
    num_warps, num_stages: Triton launch parameters (GPU).
  """
  num_warps: int = 4
  num_stages: int = 2


DEFAULT = GLAKernelConfig()


def next_pow2(n: int) -> int:
  return 1 << max(0, (int(n) - 1).bit_length())


def effective_chunk(chunk_size: int, t: int) -> int:
  """Chunk actually used for a sequence of length ``t``: ``min(chunk_size, max(16, next_pow2(t)))``."""
  return min(chunk_size, max(16, next_pow2(t)))


def padded_dim(d: int) -> int:
  """Head dim after padding in the Pallas path: the next power of two, at least 16."""
  return max(16, next_pow2(d))
