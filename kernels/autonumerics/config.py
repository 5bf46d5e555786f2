"""Block sizes of the Pallas population evaluator and constants of the float32 exp.

The evaluator's grid is ``(P / block_p, N / block_n)``; inputs are padded up to whole blocks.
"""
from __future__ import annotations

import dataclasses

__all__ = ["EvalConfig", "DEFAULT"]


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """Tile sizes (hashable; a static argument).

  Attributes:
    block_p: programs per tile (a multiple of 8 keeps GPU tiles aligned).
    block_n: inputs per tile (a multiple of 128 on TPU/GPU).
  """
  block_p: int = 8
  block_n: int = 256


DEFAULT = EvalConfig()
