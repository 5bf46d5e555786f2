"""Block sizes of the Pallas population evaluator and constants of the float32 exp.

The evaluator's grid is ``(P / block_p, N / block_n)``; inputs are padded up to whole blocks.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["EvalConfig", "DEFAULT"]


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """Tile sizes (hashable; a static argument).

  Attributes:
    block_p: programs per tile (a multiple of 8 keeps GPU tiles aligned).
    block_n: inputs per tile (a multiple of 128 on TPU/GPU).

  Both must be positive ints (checked on construction: TypeError / ValueError naming the field).
  """
  block_p: int = 8
  block_n: int = 256

  def __post_init__(self):
    for name in ("block_p", "block_n"):
      v = getattr(self, name)
      if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"EvalConfig: {name}: expected a positive int, got {type(v).__name__} {v!r}")
      if v < 1:
        raise ValueError(f"EvalConfig: {name}: expected a positive int, got {v}")
      object.__setattr__(self, name, int(v))


DEFAULT = EvalConfig()
