"""Tile sizes of the Pallas quantiser."""
from __future__ import annotations

import dataclasses

__all__ = ["FPQuantKernelConfig", "DEFAULT"]


@dataclasses.dataclass(frozen=True)
class FPQuantKernelConfig:
  """``block_rows``: rows per program (a power of two; rows are zero-padded to whole tiles); ``tile_cols``: the
  column tile of the tensor-wise kernel (a power of two); ``num_warps``: Triton launch parameter (GPU)."""
  block_rows: int = 16
  tile_cols: int = 256
  num_warps: int = 4

  def __post_init__(self):
    for name in ("block_rows", "tile_cols"):
      v = getattr(self, name)
      if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v & (v - 1):
        raise ValueError(f"FPQuantKernelConfig: {name}: expected a power of two >= 1, got {v!r}")
    if isinstance(self.num_warps, bool) or not isinstance(self.num_warps, int) or self.num_warps < 1:
      raise ValueError(f"FPQuantKernelConfig: num_warps: expected a positive int, got {self.num_warps!r}")


DEFAULT = FPQuantKernelConfig()
